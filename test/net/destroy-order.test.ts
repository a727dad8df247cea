// When a node-shaped socket destroyed with an error emits 'error' and 'close',
// side by side with node:net: 'error' on the very next tick (before any tick
// queued after destroy() returns), 'close' once the fd is closed. Libraries
// race the two: Koa (on-finished on the socket's 'error' against
// stream.pipeline's callback) reported a stream error twice, the second time
// with no listener, when the 'error' waited for the close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import * as nodeNet from 'node:net';
import { PassThrough, pipeline } from 'node:stream';
import { createServer, createConnection } from '../../src/net/index.js';
import { listening, closeServer, portOf } from './util.js';
import { waitFor, within } from '../helpers/wait.js';

type Impl = 'node:net' | 'uring';

/** The 'close' event's argument (events.once would reject on an 'error' first). */
const closeOf = (e: NodeJS.EventEmitter): Promise<unknown> => new Promise((r) => e.once('close', r));

/** A connected client socket of `impl` and the server's side of it (node:net). */
async function pair(impl: Impl): Promise<{ client: nodeNet.Socket; peer: nodeNet.Socket; done(): Promise<void> }> {
  const server = await listening(nodeNet.createServer(), 0, '127.0.0.1');
  const accepted = once(server, 'connection');
  const connect = impl === 'uring' ? createConnection : nodeNet.createConnection;
  const client = connect({ port: portOf(server), host: '127.0.0.1' }) as nodeNet.Socket;
  await once(client, 'connect');
  const [peer] = (await accepted) as [nodeNet.Socket];
  return {
    client,
    peer,
    done: async () => {
      peer.destroy();
      await closeServer(server);
    },
  };
}

/** The events of destroy(err) around a tick queued just after it. */
async function destroyOrder(impl: Impl): Promise<string[]> {
  const { client, done } = await pair(impl);
  const seen: string[] = [];
  client.on('error', (e) => seen.push(`error ${e.message}`));
  const closed = closeOf(client).then((hadError) => seen.push(`close ${String(hadError)}`));
  client.destroy(new Error('boom'));
  seen.push(`destroyed ${String(client.destroyed)}`);
  process.nextTick(() => seen.push('tick'));
  await within(closed, 5_000, `${impl}: 'close' after destroy(err)`);
  await done();
  return seen;
}

test("node-shaped: destroy(err) emits 'error' on the next tick and 'close' after, as node:net", async () => {
  const expected = await destroyOrder('node:net');
  assert.deepEqual(expected, ['destroyed true', 'error boom', 'tick', 'close true']);
  assert.deepEqual(await destroyOrder('uring'), expected);
});

test("node-shaped: destroy() without an error: 'close' after the next tick, as node:net", async () => {
  for (const impl of ['node:net', 'uring'] as const) {
    const { client, done } = await pair(impl);
    const seen: string[] = [];
    client.on('error', (e) => seen.push(`error ${e.message}`));
    const closed = closeOf(client).then((hadError) => seen.push(`close ${String(hadError)}`));
    client.destroy();
    process.nextTick(() => seen.push('tick'));
    await within(closed, 5_000, `${impl}: 'close' after destroy()`);
    assert.deepEqual(seen, ['tick', 'close false'], impl);
    await done();
  }
});

/**
 * Koa's pattern: a response body piped with stream.pipeline; the body fails.
 * on-finished sees the socket's 'error' (res.destroy(err) destroys the socket
 * with it) before pipeline's callback runs, on node:http's own sockets.
 */
async function pipelineOrder(impl: Impl): Promise<string[]> {
  const seen: string[] = [];
  const app = http.createServer((req, res) => {
    req.socket.once('error', (e) => seen.push(`socket error ${e.message}`));
    res.writeHead(200, { 'content-length': '20' });
    res.flushHeaders();
    const body = new PassThrough();
    pipeline(body, res, (err) => seen.push(`pipeline ${err?.message}`));
    setImmediate(() => body.destroy(new Error('mock error')));
  });
  const server = impl === 'uring' ? createServer((s) => app.emit('connection', s)) : app;
  await listening(server as nodeNet.Server, 0, '127.0.0.1');
  try {
    const req = http.get({ port: portOf(server), host: '127.0.0.1', agent: false });
    const [res] = (await once(req, 'response')) as [http.IncomingMessage];
    res.resume();
    res.on('error', () => {}); // 'aborted'
    await within(closeOf(res), 5_000, `${impl}: the response's close`);
    // Both sides ran by the time the server's socket has closed.
    await waitFor(() => seen.length >= 2, { what: () => `${impl}: socket error and pipeline callback: ${seen}` });
  } finally {
    await closeServer(server as nodeNet.Server);
  }
  return seen;
}

test("node-shaped under node:http: a piped body's error reaches the socket's 'error' before pipeline's callback", async () => {
  const expected = await pipelineOrder('node:net');
  assert.deepEqual(expected, ['socket error mock error', 'pipeline mock error']);
  assert.deepEqual(await pipelineOrder('uring'), expected);
});
