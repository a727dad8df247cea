// POLL_ADD on a socket: completes once readable; multishot posts F_MORE CQEs
// until removed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ring, POLLIN, POLLOUT, IORING_CQE_F_MORE } from '../../src/ring/index.js';
import { socketPair } from '../helpers/net.js';
import { E, reap, sqe } from '../helpers/ring.js';

async function setup(t: { after(fn: () => Promise<void> | void): void }) {
  const ring = new Ring(16);
  const pair = await socketPair();
  t.after(async () => {
    ring.close();
    await pair.close();
  });
  return { ring, pair };
}

function send(ring: Ring, fd: number, text: string): void {
  sqe(ring).prepSend(fd, Buffer.from(text)).setUserData(0xf00d);
  ring.submit();
  const [c] = reap(ring, 1);
  assert.equal(c!.userDataNumber, 0xf00d);
  assert.equal(c!.res, text.length);
}

test('poll for POLLIN completes only once the socket is readable', async (t) => {
  const { ring, pair } = await setup(t);
  sqe(ring).prepPollAdd(pair.serverFd, POLLIN).setUserData(1);
  ring.submit();
  assert.equal(ring.waitCqeTimeout(50), null, 'nothing to read yet: the poll must not complete');

  send(ring, pair.clientFd, 'ping');
  const [c] = reap(ring, 1);
  assert.equal(c!.userDataNumber, 1);
  assert.ok(c!.res > 0 && (c!.res & POLLIN) !== 0, `res ${c!.res} has POLLIN`);
  assert.equal(c!.more, false, 'a single-shot poll does not set F_MORE');

  // The data is still there for a recv.
  const buf = Buffer.alloc(16);
  sqe(ring).prepRecv(pair.serverFd, buf);
  ring.submit();
  const [r] = reap(ring, 1);
  assert.equal(buf.subarray(0, r!.res).toString(), 'ping');
});

test('poll for POLLOUT on a connected socket completes at once', async (t) => {
  const { ring, pair } = await setup(t);
  sqe(ring).prepPollAdd(pair.clientFd, POLLOUT).setUserData(2);
  ring.submit();
  const [c] = reap(ring, 1, 2000);
  assert.ok((c!.res & POLLOUT) !== 0);
});

test('multishot poll posts a CQE with F_MORE per readiness event, until removed', async (t) => {
  const { ring, pair } = await setup(t);
  sqe(ring).prepPollMultishot(pair.serverFd, POLLIN).setUserData(7);
  ring.submit();
  assert.equal(ring.waitCqeTimeout(30), null);

  for (const msg of ['one', 'two', 'three']) {
    send(ring, pair.clientFd, msg);
    const [c] = reap(ring, 1);
    assert.equal(c!.userDataNumber, 7);
    assert.ok((c!.res & POLLIN) !== 0);
    assert.ok(c!.more, 'multishot CQE has F_MORE');
    assert.ok((c!.flags & IORING_CQE_F_MORE) !== 0);
    // Drain what arrived so the next send is a new event.
    const buf = Buffer.alloc(64);
    sqe(ring).prepRecv(pair.serverFd, buf).setUserData(8);
    ring.submit();
    const [r] = reap(ring, 1);
    assert.equal(r!.userDataNumber, 8);
    assert.equal(buf.subarray(0, r!.res).toString(), msg);
  }

  sqe(ring).prepPollRemove(7).setUserData(9);
  ring.submit();
  const done = new Map(reap(ring, 2).map((c) => [c.userDataNumber, c]));
  assert.equal(done.get(9)!.res, 0, 'poll remove found the poll');
  assert.equal(done.get(7)!.res, -E.ECANCELED);
  assert.equal(done.get(7)!.more, false, 'the final CQE of a multishot has no F_MORE');
  assert.equal(ring.waitCqeTimeout(20), null);
});
