// The servers written in TypeScript for bench/net-echo.ts and bench/net-http.ts.
// Each runs in its own process (`node dist/bench/net-echo.js --serve <kind> <port>`),
// prints "listening <port>" once it accepts connections, and serves until killed.
//
// The uring variants load uring's sockets at run time, from dist/src/net/: the
// native API from index.js (`listen({ host, port })` -> an async iterable of
// Sockets whose chunks are async-iterable, `write(buf)` -> Promise), the
// node:net-shaped one from node.js (`createServer(onConnection)`). When a module
// or an export is missing the process exits with SKIP_EXIT and says why.
import * as http from 'node:http';
import * as net from 'node:net';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SKIP_EXIT = 3;
export const HOST = '127.0.0.1';

/** The minimal responders' answer, the same bytes as bench/c/http-uring.c's. */
export const RESPONSE = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello');

export const kinds = [
  'echo-node-net', // node:net, socket.on('data', write)
  'echo-uring-node', // uring/net's node:net-shaped createServer, the same handler
  'echo-uring', // uring/net's native API: for await (chunk of socket) await socket.write(chunk)
  'http-node', // node:http, res.end('hello')
  'http-node-uring', // the same node:http server fed by uring/net's connections (emit('connection') by hand)
  'http-uring', // uring/http's createServer, res.end('hello')
  'express-node', // Express hello world on node:http
  'express-node-uring', // the same app on node:http fed by uring/net's connections by hand
  'express-uring', // the same app on uring/http
  'fastify-node', // Fastify's hello world, on the node:http server Fastify makes itself
  'min-node-net', // the minimal responder on node:net
  'min-uring-node', // the minimal responder on uring/net's node:net-shaped sockets
  'min-uring', // the minimal responder on uring/net's native sockets
  'ws-node', // ws's WebSocketServer on node:http, echoing every message
  'ws-uring', // the same on uring/http
] as const;
export type Kind = (typeof kinds)[number];

function skip(why: string): never {
  process.stderr.write(`skip: ${why}\n`);
  process.exit(SKIP_EXIT);
}

/** Imports dist/src/<layer>/<file> and returns its export `name`, or skips. */
// The export's type is whatever that build has: `any` is the honest type here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function uringExport(file: string, name: string, layer = 'net'): Promise<any> {
  const url = new URL(`../../src/${layer}/${file}`, import.meta.url);
  if (!existsSync(fileURLToPath(url))) skip(`uring's ${layer} layer is not built here (no dist/src/${layer}/${file})`);
  const mod = (await import(url.href)) as Record<string, unknown>;
  if (typeof mod[name] !== 'function') skip(`dist/src/${layer}/${file} has no function export '${name}'`);
  return mod[name];
}

/** Express's hello world (a devDependency: skips without it). */
async function expressHello(): Promise<http.RequestListener> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a devDependency that may be missing
  let express: any;
  try {
    express = (await import('express')).default;
  } catch {
    skip('express is not installed (npm ci installs it)');
  }
  const app = express();
  app.get('/', (_req: unknown, res: { send(body: string): void }) => res.send('hello'));
  return app;
}

/** Fastify's hello world on 127.0.0.1:port (a devDependency: skips without it). */
async function fastifyHello(port: number): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a devDependency that may be missing
  let fastify: any;
  try {
    fastify = (await import('fastify')).default;
  } catch {
    skip('fastify is not installed (npm ci installs it)');
  }
  const app = fastify({ logger: false });
  app.get('/', (_req: unknown, reply: { send(body: string): void }) => reply.send('hello'));
  await app.listen({ port, host: HOST });
}

/** A node:http-shaped server echoing every WebSocket message through ws (a devDependency: skips without it). */
async function wsEcho(server: http.Server): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a devDependency that may be missing
  let ws: any;
  try {
    ws = await import('ws');
  } catch {
    skip('ws is not installed (npm ci installs it)');
  }
  const wss = new ws.WebSocketServer({ server });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  wss.on('connection', (sock: any) => {
    sock.on('message', (data: Buffer, isBinary: boolean) => sock.send(data, { binary: isBinary }));
    sock.on('error', () => sock.terminate());
  });
}

const ready = (port: number) => process.stdout.write(`listening ${port}\n`);

/** Counts request heads ending in a chunk; the state (how much of \r\n\r\n matched) carries across chunks. */
export class HeadCounter {
  matched = 0;
  count(chunk: Uint8Array): number {
    let found = 0;
    let m = this.matched;
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk[i]!;
      if (ch === ((m & 1) !== 0 ? 10 : 13)) {
        if (++m === 4) {
          found++;
          m = 0;
        }
      } else {
        m = ch === 13 ? 1 : 0;
      }
    }
    this.matched = m;
    return found;
  }
}

const responses = (n: number): Buffer => (n === 1 ? RESPONSE : Buffer.concat(Array(n).fill(RESPONSE)));

/** The handler every node:net-shaped echo server runs. */
function echoHandler(socket: net.Socket): void {
  socket.setNoDelay(true);
  socket.on('data', (chunk) => socket.write(chunk));
  socket.on('error', () => socket.destroy());
}

/** The minimal responder on a node:net-shaped socket. */
function minimalHandler(socket: net.Socket): void {
  socket.setNoDelay(true);
  const heads = new HeadCounter();
  socket.on('data', (chunk: Buffer) => {
    const n = heads.count(chunk);
    if (n > 0) socket.write(responses(n));
  });
  socket.on('error', () => socket.destroy());
}

const hello = (_req: http.IncomingMessage, res: http.ServerResponse) => res.end('hello');

/** Native uring sockets, each served by the function `handler(socket)` makes; one chunk at a time. */
async function serveNative(
  port: number,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a uring Socket from whichever build is there
  handler: (socket: any) => (chunk: Uint8Array) => Promise<void> | void,
): Promise<void> {
  const listen = await uringExport('index.js', 'listen');
  const server = await listen({ host: HOST, port });
  ready(port);
  for await (const socket of server) {
    socket.setNoDelay?.(true);
    (async () => {
      const each = handler(socket);
      try {
        for await (const chunk of socket) await each(chunk);
      } catch {
        // a reset peer: nothing to do but close
      } finally {
        await socket.close?.();
      }
    })();
  }
}

async function nodeShapedCreateServer(): Promise<(onConnection: (s: net.Socket) => void) => net.Server> {
  return uringExport('node.js', 'createServer');
}

/** Runs the server `kind` on 127.0.0.1:port until the process is killed. */
export async function serve(kind: string, port: number): Promise<void> {
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
  switch (kind as Kind) {
    case 'echo-node-net':
      net.createServer(echoHandler).listen(port, HOST, () => ready(port));
      return;
    case 'echo-uring-node':
      (await nodeShapedCreateServer())(echoHandler).listen(port, HOST, () => ready(port));
      return;
    case 'echo-uring':
      return serveNative(port, (socket) => (chunk) => socket.write(chunk));
    case 'http-node':
      http.createServer(hello).listen(port, HOST, () => ready(port));
      return;
    case 'http-node-uring': {
      const httpServer = http.createServer(hello);
      (await nodeShapedCreateServer())((socket) => httpServer.emit('connection', socket)).listen(port, HOST, () =>
        ready(port),
      );
      return;
    }
    case 'http-uring':
      (await uringExport('index.js', 'createServer', 'http'))(hello).listen(port, HOST, () => ready(port));
      return;
    case 'express-node':
      http.createServer(await expressHello()).listen(port, HOST, () => ready(port));
      return;
    case 'express-node-uring': {
      const httpServer = http.createServer(await expressHello());
      (await nodeShapedCreateServer())((socket) => httpServer.emit('connection', socket)).listen(port, HOST, () =>
        ready(port),
      );
      return;
    }
    case 'express-uring':
      (await uringExport('index.js', 'createServer', 'http'))(await expressHello()).listen(port, HOST, () =>
        ready(port),
      );
      return;
    case 'fastify-node':
      await fastifyHello(port);
      ready(port);
      return;
    case 'min-node-net':
      net.createServer(minimalHandler).listen(port, HOST, () => ready(port));
      return;
    case 'min-uring-node':
      (await nodeShapedCreateServer())(minimalHandler).listen(port, HOST, () => ready(port));
      return;
    case 'min-uring':
      return serveNative(port, (socket) => {
        const heads = new HeadCounter();
        return (chunk) => {
          const n = heads.count(chunk);
          if (n > 0) return socket.write(responses(n));
        };
      });
    case 'ws-node': {
      const server = http.createServer();
      await wsEcho(server);
      server.listen(port, HOST, () => ready(port));
      return;
    }
    case 'ws-uring': {
      const server = (await uringExport('index.js', 'createServer', 'http'))() as http.Server;
      await wsEcho(server);
      server.listen(port, HOST, () => ready(port));
      return;
    }
    default:
      process.stderr.write(`unknown server kind '${kind}'; one of ${kinds.join(', ')}\n`);
      process.exit(2);
  }
}
