// 'close' after destroy() comes a loop turn later, as node:net's (libuv's
// close callback): never before a setImmediate scheduled with the destroy.
// Ours came from a tick once the ring reaped the close, which can be within
// the same turn; undici's client-pipelining.js ('pipeline 1 is 1 active
// request') closes its client in a tick after destroying a socket and saw
// the 'close' first, under uring/register.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as nodeNet from 'node:net';
import { connect } from '../../src/net/index.js';
import { closeServer, listening, portOf } from './util.js';

async function closeAfterImmediate(impl: 'node:net' | 'uring'): Promise<boolean> {
  const server = await listening(
    nodeNet.createServer((s) => s.on('error', () => {})),
    0,
    '127.0.0.1',
  );
  try {
    const make = impl === 'uring' ? connect : nodeNet.connect;
    const c = make(portOf(server), '127.0.0.1') as nodeNet.Socket;
    await once(c, 'connect');
    let immediate = false;
    const closed = once(c, 'close');
    c.destroy();
    setImmediate(() => (immediate = true));
    await closed;
    return immediate;
  } finally {
    await closeServer(server);
  }
}

test("node-shaped: destroy()'s 'close' comes after a setImmediate scheduled with it", async () => {
  assert.equal(await closeAfterImmediate('node:net'), true);
  for (let i = 0; i < 5; i++) assert.equal(await closeAfterImmediate('uring'), true);
});
