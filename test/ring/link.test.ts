// IOSQE_IO_LINK chains: in order, a failure cancels the rest, and
// LINK_TIMEOUT bounds the request linked before it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ring, IOSQE_IO_LINK, IOSQE_IO_HARDLINK, POLLIN } from '../../src/ring/index.js';
import { socketPair } from '../helpers/net.js';
import { tempDir } from '../helpers/tmp.js';
import { E, reap, sqe } from '../helpers/ring.js';

test('a linked request waits for the one before it', async (t) => {
  const ring = new Ring(16);
  const pair = await socketPair();
  t.after(async () => {
    ring.close();
    await pair.close();
  });
  // poll -> nop -> nop: the NOPs cannot run before the poll completes.
  sqe(ring).prepPollAdd(pair.serverFd, POLLIN).setUserData(1).addFlags(IOSQE_IO_LINK);
  sqe(ring).prepNop().setUserData(2).addFlags(IOSQE_IO_LINK);
  sqe(ring).prepNop().setUserData(3);
  assert.equal(ring.submit(), 3);
  assert.equal(ring.waitCqeTimeout(50), null, 'the linked NOPs wait for the poll');

  sqe(ring).prepSend(pair.clientFd, Buffer.from('go')).setUserData(9);
  ring.submit();
  const order = reap(ring, 4).filter((c) => c.userDataNumber !== 9);
  assert.deepEqual(
    order.map((c) => c.userDataNumber),
    [1, 2, 3],
    'completions in chain order',
  );
  assert.ok((order[0]!.res & POLLIN) !== 0);
  assert.equal(order[1]!.res, 0);
  assert.equal(order[2]!.res, 0);
});

test('write -> read -> write chain runs in order on a file', (t) => {
  const ring = new Ring(16);
  const dir = tempDir();
  t.after(() => {
    ring.close();
    dir.remove();
  });
  const fd = dir.open('chain', 'w+');
  const first = Buffer.from('first version');
  const second = Buffer.from('SECOND');
  const seen = Buffer.alloc(first.length);
  // The read sees the first write and not the second, which comes after it.
  sqe(ring).prepWrite(fd, first, undefined, 0).setUserData(1).addFlags(IOSQE_IO_LINK);
  sqe(ring).prepRead(fd, seen, undefined, 0).setUserData(2).addFlags(IOSQE_IO_LINK);
  sqe(ring).prepWrite(fd, second, undefined, 0).setUserData(3);
  ring.submit();
  const cqes = reap(ring, 3);
  assert.deepEqual(
    cqes.map((c) => c.userDataNumber),
    [1, 2, 3],
  );
  assert.deepEqual(
    cqes.map((c) => c.res),
    [first.length, first.length, second.length],
  );
  assert.equal(seen.toString(), 'first version');
  assert.equal(readFileSync(dir.file('chain'), 'utf8'), 'SECONDversion');
});

test('a failing link cancels the rest of the chain with -ECANCELED', (t) => {
  const ring = new Ring(16);
  t.after(() => ring.close());
  sqe(ring).prepNop().setUserData(1).addFlags(IOSQE_IO_LINK);
  sqe(ring).prepRead(1_000_000, Buffer.alloc(4), 4, 0).setUserData(2).addFlags(IOSQE_IO_LINK); // EBADF
  sqe(ring).prepNop().setUserData(3).addFlags(IOSQE_IO_LINK);
  sqe(ring).prepNop().setUserData(4);
  sqe(ring).prepNop().setUserData(5); // not in the chain
  ring.submit();
  const res = new Map(reap(ring, 5).map((c) => [c.userDataNumber, c.res]));
  assert.equal(res.get(1), 0);
  assert.equal(res.get(2), -E.EBADF);
  assert.equal(res.get(3), -E.ECANCELED);
  assert.equal(res.get(4), -E.ECANCELED);
  assert.equal(res.get(5), 0, 'a request outside the chain is unaffected');
});

test('a hard link continues past a failure', (t) => {
  const ring = new Ring(16);
  t.after(() => ring.close());
  sqe(ring).prepRead(1_000_000, Buffer.alloc(4), 4, 0).setUserData(1).addFlags(IOSQE_IO_HARDLINK);
  sqe(ring).prepNop().setUserData(2);
  ring.submit();
  const res = new Map(reap(ring, 2).map((c) => [c.userDataNumber, c.res]));
  assert.equal(res.get(1), -E.EBADF);
  assert.equal(res.get(2), 0);
});

test('a link timeout on a poll that never fires: -ETIME on the timeout, -ECANCELED on the poll', async (t) => {
  const ring = new Ring(16);
  const pair = await socketPair();
  t.after(async () => {
    ring.close();
    await pair.close();
  });
  const t0 = performance.now();
  sqe(ring).prepPollAdd(pair.serverFd, POLLIN).setUserData(1).addFlags(IOSQE_IO_LINK);
  sqe(ring).prepLinkTimeout(50).setUserData(2);
  ring.submit();
  const res = new Map(reap(ring, 2, 5000).map((c) => [c.userDataNumber, c.res]));
  const elapsed = performance.now() - t0;
  assert.equal(res.get(2), -E.ETIME);
  assert.equal(res.get(1), -E.ECANCELED);
  assert.ok(elapsed >= 40 && elapsed < 3000, `after ${elapsed.toFixed(1)} ms`);
});

test('a link timeout that does not expire: the request completes, the timeout is cancelled', async (t) => {
  const ring = new Ring(16);
  const pair = await socketPair();
  t.after(async () => {
    ring.close();
    await pair.close();
  });
  sqe(ring).prepPollAdd(pair.clientFd, 0x004 /* POLLOUT: ready at once */).setUserData(1).addFlags(IOSQE_IO_LINK);
  sqe(ring).prepLinkTimeout(10_000).setUserData(2);
  ring.submit();
  const res = new Map(reap(ring, 2, 3000).map((c) => [c.userDataNumber, c.res]));
  assert.ok(res.get(1)! > 0);
  assert.equal(res.get(2), -E.ECANCELED);
});
