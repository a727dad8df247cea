// What was written before destroy() reaches the peer when the kernel can
// take it at once, side by side with node:net, whose writes are synchronous:
// `write(a); write(b); destroy()` hands both to the kernel. Here a send may
// still be in flight when destroy() comes, with later writes queued behind
// it; close() used to fail those. Found with Fastify's own suite under
// uring/register: its default clientError handler writes a 400 and destroys
// the socket, and the 400 of a bad request pipelined behind a good one
// (whose response was still in flight) never left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import * as nodeNet from 'node:net';
import { createServer, dial } from '../../src/net/index.js';
import { createServer as createHttpServer } from '../../src/http/index.js';
import { listening, closeServer, portOf } from './util.js';
import { within } from '../helpers/wait.js';

type Impl = 'node:net' | 'uring';

/** All a node:net client reads from `port` after sending `request`, until the server's FIN. */
async function readAll(port: number, request = ''): Promise<string> {
  const c = nodeNet.connect(port, '127.0.0.1');
  let got = '';
  c.setEncoding('utf8').on('data', (d: string) => (got += d));
  c.on('error', () => {}); // a reset after the bytes: what was read is the answer
  if (request) c.write(request);
  await within(once(c, 'close'), 5_000, 'the server closing the connection');
  return got;
}

/** A server of `impl` that answers each connection with `serve(socket)`; what a client reads. */
async function served(impl: Impl, serve: (s: nodeNet.Socket) => void): Promise<string> {
  const make = impl === 'uring' ? createServer : nodeNet.createServer;
  const server = await listening(make(serve as never) as nodeNet.Server, 0, '127.0.0.1');
  try {
    return await readAll(portOf(server));
  } finally {
    await closeServer(server);
  }
}

test('node-shaped: a write queued behind a send in flight still goes out before destroy(), as node:net', async () => {
  const head = 'x'.repeat(200);
  // cork/uncork: node:http's way to write a response (the first chunk goes
  // to the kernel at once here); then a write that queues behind it.
  const serve = (s: nodeNet.Socket) => {
    s.cork();
    s.write(head);
    s.write('-body');
    s.uncork();
    s.write('-after');
    s.destroy();
  };
  const expected = await served('node:net', serve);
  assert.equal(expected, `${head}-body-after`);
  assert.equal(await served('uring', serve), expected);
});

test("node:http: a clientError handler's write-and-destroy answers after a pipelined response, as node's", async () => {
  // Fastify's default clientError handler, and the request its suite sends.
  const request = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n\r\nGET /?a b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n\r\n';
  const answer = async (make: typeof http.createServer): Promise<string> => {
    const server = make((_req, res) => res.end('OK\n'));
    server.on('clientError', (err: Error, socket: nodeNet.Socket) => {
      if (socket.writable) socket.write('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
      socket.destroy(err);
    });
    await listening(server, 0, '127.0.0.1');
    try {
      return (await readAll(portOf(server), request)).replace(/^Date: .*\r\n/m, '');
    } finally {
      await closeServer(server);
    }
  };
  const expected = await answer(http.createServer);
  assert.match(expected, /^HTTP\/1.1 200 OK\r\n.*OK\nHTTP\/1.1 400 Bad Request\r\n/s);
  assert.equal(await answer(createHttpServer as typeof http.createServer), expected);
});

test('native: close() sends what was queued behind a send in flight; every write resolves', async () => {
  let peerRead: Promise<string> | undefined;
  const server = await listening(
    nodeNet.createServer((peer) => {
      let got = '';
      peer.setEncoding('utf8').on('data', (d: string) => (got += d));
      peerRead = once(peer, 'end').then(() => got);
    }),
    0,
    '127.0.0.1',
  );
  try {
    const c = await dial({ host: '127.0.0.1', port: portOf(server) });
    const first = c.write('a'.repeat(1000)); // goes to the kernel at once
    const rest = [c.write('b'), c.writev(['c', 'd'])]; // queued behind it
    await c.close();
    const settled = await Promise.allSettled([first, ...rest]);
    assert.deepEqual(
      settled.map((x) => x.status),
      ['fulfilled', 'fulfilled', 'fulfilled'],
    );
    await within(
      new Promise<void>((r) => (peerRead ? r() : server.once('connection', () => setImmediate(r)))),
      5_000,
      'the accept',
    );
    assert.equal(await within(peerRead!, 5_000, 'the peer reading to the end'), `${'a'.repeat(1000)}bcd`);
  } finally {
    await closeServer(server);
  }
});
