// A socket that is not half-open, once the peer's FIN has been read: the
// program answers 'end' with end() (ws does, in its socket's 'end'
// listener), and node:net's shutdown then completes within the same event
// loop turn, so the socket is finished and destroyed (autoDestroy) before any
// other I/O callback runs. Ours goes through an io-wq worker, and a write
// from a callback meanwhile met writeAfterFIN ('This socket has been ended
// by the other party') where node's program would have seen
// `socket.destroyed` and not written. Found with ws's own suite under
// uring/register ("calls the callback if the socket is closed prematurely":
// a zlib callback finishing between the 'end' and the shutdown's CQE).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as nodeNet from 'node:net';
import { connect } from '../../src/net/index.js';
import { listening, closeServer, portOf } from './util.js';
import { within } from '../helpers/wait.js';

type Impl = 'node:net' | 'uring';

interface Seen {
  /** `destroyed` after end() in the 'end' listener: within this turn's ticks, and at the next setImmediate. */
  inTicks: boolean;
  atImmediate: boolean;
  /** What the server read before the client's FIN. */
  got: string;
}

/** A client of `impl` to a node:net server that writes `hello` and ends; the client writes `before`, then answers 'end' with end(). */
async function peerEndsFirst(impl: Impl, before: string): Promise<Seen> {
  let got = '';
  const serverDone: Promise<void>[] = [];
  const server = await listening(
    nodeNet.createServer({ allowHalfOpen: true }, (s) => {
      s.setEncoding('utf8').on('data', (d: string) => (got += d));
      serverDone.push(once(s, 'end').then(() => undefined));
      s.end('hello');
    }),
    0,
    '127.0.0.1',
  );
  try {
    const make = impl === 'uring' ? connect : nodeNet.connect;
    const c = make(portOf(server), '127.0.0.1') as nodeNet.Socket;
    const closed = once(c, 'close');
    c.on('data', () => {});
    if (before) {
      await once(c, 'connect');
      // Into the kernel before the FIN is read (node's write is synchronous; ours goes at the turn's end).
      await new Promise<void>((resolve) => c.write(before, () => setImmediate(resolve)));
    }
    const seen = await within(
      new Promise<Pick<Seen, 'inTicks' | 'atImmediate'>>((resolve) => {
        c.once('end', () => {
          c.end();
          // Ring completions are only reaped by the event loop: if the
          // socket is destroyed within these ticks, nothing waited for one.
          let n = 0;
          let inTicks = false;
          const check = () => {
            if (c.destroyed) inTicks = true;
            else if (++n < 20) process.nextTick(check);
          };
          process.nextTick(check);
          setImmediate(() => resolve({ inTicks, atImmediate: c.destroyed }));
        });
      }),
      5_000,
      "the server's FIN",
    );
    await within(closed, 5_000, 'the client closing');
    await within(Promise.all(serverDone), 5_000, "the client's FIN at the server");
    return { ...seen, got };
  } finally {
    await closeServer(server);
  }
}

test("node-shaped: end() after the peer's FIN destroys the socket within the turn, as node:net", async () => {
  const node = await peerEndsFirst('node:net', '');
  assert.equal(node.atImmediate, true, 'node:net: destroyed by the next setImmediate');
  const ours = await peerEndsFirst('uring', '');
  assert.equal(ours.atImmediate, true);
  // Not waiting for the shutdown's CQE at all: that is what a program's
  // other callbacks (threadpool, timers) could run before.
  assert.equal(ours.inTicks, true, 'destroyed before the event loop reaps another completion');
});

test("node-shaped: what was written before the peer's FIN still reaches it, then the FIN", async () => {
  const node = await peerEndsFirst('node:net', 'written-first');
  assert.equal(node.got, 'written-first');
  const ours = await peerEndsFirst('uring', 'written-first');
  assert.equal(ours.got, 'written-first');
  assert.equal(ours.atImmediate, true);
});
