// Idle connections: what each costs a server in memory, uring/net against
// node:net, and whether the server still answers a new client promptly
// while it holds them all.
//
// Per repetition and kind, a fresh server process (an echo server) and a
// fresh client process that opens N idle node:net connections to it. The
// server reports its memory after a full GC, once before the clients come
// (after a warm-up of 200 connections, closed again, so lazily loaded code
// is not counted) and once with all N connected; the difference over N is
// the cost of one idle connection. Then a new client's echo round trip is
// timed. Kinds:
//   node-net      node:net createServer, socket.on('data', write)
//   uring-node    uring/net's node:net-shaped createServer, the same handler
//   uring-native  uring/net's listen(): for await (chunk of socket) write
// and, with --kinds (the connections idle before any request; the new
// client's round trip is a GET):
//   node-http      node:http createServer, an Express-like handler
//   uring-http     uring/http's createServer, the same handler
//   register-http  node:http's createServer under --import uring/register
//
//   node dist/bench/idle-conns.js [--n 15000] [--reps 5] [--kinds a,b,...] [--json FILE]
//
// N is bounded by the fd limit of one process (`ulimit -n`: 20,000 hard on
// these machines, without CAP_SYS_RESOURCE to raise it); the runtime itself
// has no cap (test/runtime/long-lived.test.ts holds 100,000 multishot ops).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { options } from './lib/harness.js';

const NET_KINDS = ['node-net', 'uring-node', 'uring-native'] as const;
const HTTP_KINDS = ['node-http', 'uring-http', 'register-http'] as const;
type Kind = (typeof NET_KINDS)[number] | (typeof HTTP_KINDS)[number];
const isHttp = (kind: Kind): boolean => (HTTP_KINDS as readonly string[]).includes(kind);
/** The server's node flags for `kind`: register-http loads uring/register first. */
export function serverFlags(kind: Kind): string[] {
  const flags = ['--expose-gc'];
  if (kind === 'register-http') flags.push('--import', new URL('../src/register.js', import.meta.url).href);
  return flags;
}
const HOST = '127.0.0.1';
const self = fileURLToPath(import.meta.url);

export interface Mem {
  rss: number;
  heapUsed: number;
  external: number;
  count: number;
}

// ---------------------------------------------------------------- children

async function serve(kind: Kind): Promise<void> {
  let count = 0;
  let port: number;
  if (isHttp(kind)) {
    // node:http, or uring/http's; under --import uring/register node:http is uring's.
    const mod = kind === 'uring-http' ? await import('../src/http/index.js') : await import('node:http');
    // What an Express app's plain handler does: look at the request, answer JSON.
    const server = mod.createServer(
      (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
        const body = JSON.stringify({ path: req.url, ok: true });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      },
    );
    server.on('connection', (s: net.Socket) => {
      count++;
      s.on('close', () => count--);
    });
    server.listen(0, HOST, 4096);
    await once(server, 'listening');
    port = (server.address() as net.AddressInfo).port;
  } else if (kind === 'uring-native') {
    const { listen } = await import('../src/net/index.js');
    const server = await listen({ host: HOST, port: 0, backlog: 4096 });
    port = (server.address() as { port: number }).port;
    (async () => {
      for await (const s of server) {
        count++;
        (async () => {
          try {
            for await (const chunk of s) await s.write(chunk);
          } catch {
            // a reset peer
          }
          count--;
          s.close();
        })();
      }
    })();
  } else {
    const mod = kind === 'node-net' ? net : await import('../src/net/index.js');
    const server = mod.createServer((s: net.Socket) => {
      count++;
      s.on('data', (d) => s.write(d));
      s.on('error', () => {});
      s.on('close', () => count--);
    });
    server.listen(0, HOST, 4096);
    await once(server, 'listening');
    port = (server.address() as net.AddressInfo).port;
  }
  console.log(`listening ${port}`);
  const gc = (globalThis as { gc?: () => void }).gc!;
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'mem') {
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((r) => setImmediate(r));
      }
      const m = process.memoryUsage();
      console.log(JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, external: m.external, count } satisfies Mem));
    }
  }
  process.exit(0);
}

async function clients(port: number, n: number): Promise<void> {
  const socks: net.Socket[] = [];
  let failed = 0;
  const one = () =>
    new Promise<void>((res) => {
      const s = net.connect(port, HOST);
      s.once('connect', () => {
        socks.push(s);
        res();
      });
      s.once('error', () => {
        failed++;
        res();
      });
    });
  for (let i = 0; i < n; i += 500) await Promise.all(Array.from({ length: Math.min(500, n - i) }, one));
  console.log(`ready ${socks.length} ${failed}`);
  process.stdin.on('end', () => process.exit(0)).resume();
}

// ---------------------------------------------------------------- driver

export interface Proc {
  proc: ChildProcess;
  lines: Interface;
  next(): Promise<string>;
}

export function start(args: string[], nodeFlags: string[] = []): Proc {
  const proc = spawn(process.execPath, [...nodeFlags, self, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
    timeout: 300_000,
    killSignal: 'SIGKILL',
  });
  const lines = createInterface({ input: proc.stdout! });
  const queue: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  lines.on('line', (l) => (waiters.length ? waiters.shift()!(l) : queue.push(l)));
  return {
    proc,
    lines,
    next: () => (queue.length ? Promise.resolve(queue.shift()!) : new Promise((r) => waiters.push(r))),
  };
}

export async function mem(server: Proc): Promise<Mem> {
  server.proc.stdin!.write('mem\n');
  return JSON.parse(await server.next()) as Mem;
}

export async function holdClients(port: number, n: number): Promise<Proc> {
  const c = start(['--clients', String(port), String(n)]);
  const line = await c.next();
  if (line !== `ready ${n} 0`) throw new Error(`clients: ${line}`);
  return c;
}

export async function stop(p: Proc): Promise<void> {
  p.proc.stdin!.end();
  if (p.proc.exitCode === null) await once(p.proc, 'close');
}

/** Round trip of a new client's first echo (for an http kind, GET /), in ms. */
export async function echoMs(port: number, kind: Kind = 'node-net'): Promise<number> {
  const t0 = performance.now();
  if (isHttp(kind)) {
    const { get } = await import('node:http');
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) =>
      get({ host: HOST, port, path: '/', agent: false }, resolve).on('error', reject),
    );
    res.resume();
    await once(res, 'end');
    if (res.statusCode !== 200) throw new Error(`GET /: ${res.statusCode}`);
    return performance.now() - t0;
  }
  const c = net.connect(port, HOST);
  c.write('ping');
  await once(c, 'data');
  const ms = performance.now() - t0;
  c.destroy();
  return ms;
}

interface Row {
  kind: Kind;
  rssPerConn: number;
  jsPerConn: number;
  echoMs: number;
}

async function measure(kind: Kind, n: number): Promise<Row> {
  const server = start(['--serve', kind], serverFlags(kind));
  try {
    const port = Number((await server.next()).split(' ')[1]);
    await stop(await holdClients(port, 200));
    while ((await mem(server)).count !== 0) await new Promise((r) => setTimeout(r, 20));
    const before = await mem(server);
    const c = await holdClients(port, n);
    let after = await mem(server);
    for (let i = 0; after.count !== n && i < 500; i++) {
      await new Promise((r) => setTimeout(r, 20));
      after = await mem(server);
    }
    if (after.count !== n) throw new Error(`${kind}: ${after.count} of ${n} connections accepted`);
    const echo = await echoMs(port, kind);
    await stop(c);
    return {
      kind,
      rssPerConn: (after.rss - before.rss) / n,
      jsPerConn: (after.heapUsed + after.external - before.heapUsed - before.external) / n,
      echoMs: echo,
    };
  } finally {
    server.proc.kill('SIGKILL');
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function main(): Promise<void> {
  const opts = options();
  const n = Number(opts.get('n') ?? 15_000);
  const reps = Number(opts.get('reps') ?? 5);
  const KINDS = (opts.get('kinds')?.split(',') ?? NET_KINDS) as Kind[];
  for (const k of KINDS)
    if (!(NET_KINDS as readonly string[]).includes(k) && !isHttp(k)) throw new Error(`--kinds: no kind ${k}`);
  const rows: Row[] = [];
  for (let r = 0; r < reps; r++) {
    // Rotated so no kind always runs first.
    for (let k = 0; k < KINDS.length; k++) rows.push(await measure(KINDS[(k + r) % KINDS.length]!, n));
  }
  const fmt = (xs: number[], f: (x: number) => string) =>
    `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
  const kib = (x: number) => (x / 1024).toFixed(2);
  console.log(`${n.toLocaleString('en')} idle connections, ${reps} repetitions: median (min–max)`);
  console.log('kind            RSS KiB/conn         JS heap+external KiB/conn   new client echo ms');
  const med: Record<string, number> = {};
  for (const kind of KINDS) {
    const mine = rows.filter((r) => r.kind === kind);
    med[kind] = median(mine.map((r) => r.rssPerConn));
    console.log(
      `${kind.padEnd(15)} ${fmt(
        mine.map((r) => r.rssPerConn),
        kib,
      ).padEnd(20)} ${fmt(
        mine.map((r) => r.jsPerConn),
        kib,
      ).padEnd(27)} ${fmt(
        mine.map((r) => r.echoMs),
        (x) => x.toFixed(1),
      )}`,
    );
  }
  if (med['node-net'] !== undefined)
    console.log(
      `RSS per connection against node:net: uring-node ${(med['uring-node']! / med['node-net']!).toFixed(2)}x, uring-native ${(med['uring-native']! / med['node-net']!).toFixed(2)}x`,
    );
  const json = opts.get('json');
  if (json) writeFileSync(json, JSON.stringify({ n, reps, rows }, null, 2));
}

// Run as a script (not imported for its helpers: test/robust/idle-http).
if (process.argv[1] === self) {
  const argv = process.argv.slice(2);
  if (argv[0] === '--serve') await serve(argv[1] as Kind);
  else if (argv[0] === '--clients') await clients(Number(argv[1]), Number(argv[2]));
  else await main();
}
