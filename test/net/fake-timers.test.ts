// A program that fakes the global timers (@sinonjs/fake-timers, jest's):
// node:net's sockets go on, since node's I/O waits on no JS timer. Ours
// flushed the ring and sent write-behind writes from the global
// setImmediate, so under uring/register undici's own tests that install
// fake timers (client-keep-alive.js, client-timeout.js, ...) hung.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type * as nodeNet from 'node:net';
import { connect, createServer } from '../../src/net/index.js';
import { closeServer, listening, portOf } from './util.js';

const real = { setImmediate, setTimeout, clearTimeout };

test('uring sockets echo with the global setImmediate and setTimeout faked (they never fire)', async () => {
  const server = await listening(createServer((s) => s.pipe(s)) as unknown as nodeNet.Server, 0, '127.0.0.1');
  const g = globalThis as Record<string, unknown>;
  let faked = 0;
  const never = () => {
    faked++;
    return { ref() {}, unref() {}, hasRef: () => false, [Symbol.toPrimitive]: () => 0 };
  };
  g.setImmediate = never;
  g.setTimeout = never;
  g.clearTimeout = () => {};
  let bound: NodeJS.Timeout | undefined;
  try {
    const c = connect(portOf(server), '127.0.0.1') as unknown as nodeNet.Socket;
    c.setTimeout(60_000); // a socket timeout armed, as undici's
    await once(c, 'connect');
    let got = '';
    c.setEncoding('utf8').on('data', (d: string) => (got += d));
    c.write('ping-');
    c.write('pong');
    c.end();
    const ended = once(c, 'close');
    const timedOut = new Promise((_, reject) => {
      bound = real.setTimeout(() => reject(new Error('no echo with faked timers')), 10_000);
    });
    await Promise.race([ended, timedOut]);
    assert.equal(got, 'ping-pong');
  } finally {
    g.setImmediate = real.setImmediate;
    g.setTimeout = real.setTimeout;
    g.clearTimeout = real.clearTimeout;
    real.clearTimeout(bound);
    await closeServer(server);
  }
  assert.equal(faked, 0, 'none of ours went to the faked timers');
});
