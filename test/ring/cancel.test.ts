// ASYNC_CANCEL by user data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ring, POLLIN, IORING_ASYNC_CANCEL_ALL } from '../../src/ring/index.js';
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

test('cancel64 by user data: the poll gets -ECANCELED, the cancel 0', async (t) => {
  const { ring, pair } = await setup(t);
  const ud = 0xcafe_0000_0001n; // above 2^32: the whole 64 bits must match
  sqe(ring).prepPollAdd(pair.serverFd, POLLIN).userData = ud;
  ring.submit();
  assert.equal(ring.waitCqeTimeout(20), null, 'the poll is pending');

  // A cancel for a user data with the same low 32 bits finds nothing.
  sqe(ring).prepCancel64(0x0001n).setUserData(10);
  ring.submit();
  const [miss] = reap(ring, 1);
  assert.equal(miss!.userDataNumber, 10);
  assert.equal(miss!.res, -E.ENOENT);

  sqe(ring).prepCancel64(ud).setUserData(11);
  ring.submit();
  const m = new Map(reap(ring, 2).map((c) => [c.userData, c.res]));
  assert.equal(m.get(ud), -E.ECANCELED);
  assert.equal(m.get(11n), 0);
  assert.equal(ring.waitCqeTimeout(20), null);
});

test('cancel of an unknown user data gives -ENOENT', async (t) => {
  const { ring } = await setup(t);
  sqe(ring).prepCancel64(0xdeadn).setUserData(1);
  sqe(ring).prepCancel(12345).setUserData(2);
  ring.submit();
  for (const c of reap(ring, 2)) assert.equal(c.res, -E.ENOENT);
});

test('cancel with ASYNC_CANCEL_ALL cancels every match and returns the count', async (t) => {
  const { ring, pair } = await setup(t);
  for (let i = 0; i < 3; i++) sqe(ring).prepPollAdd(pair.serverFd, POLLIN).setUserData(77);
  ring.submit();
  assert.equal(ring.waitCqeTimeout(20), null);
  sqe(ring).prepCancel64(77, IORING_ASYNC_CANCEL_ALL).setUserData(1);
  ring.submit();
  const cqes = reap(ring, 4);
  const polls = cqes.filter((c) => c.userDataNumber === 77);
  assert.equal(polls.length, 3);
  for (const p of polls) assert.equal(p.res, -E.ECANCELED);
  assert.equal(cqes.find((c) => c.userDataNumber === 1)!.res, 3);
});

test('cancel by fd cancels the poll on that fd only', async (t) => {
  const { ring, pair } = await setup(t);
  sqe(ring).prepPollAdd(pair.serverFd, POLLIN).setUserData(1);
  sqe(ring).prepPollAdd(pair.clientFd, POLLIN).setUserData(2);
  ring.submit();
  assert.equal(ring.waitCqeTimeout(20), null);
  sqe(ring).prepCancelFd(pair.serverFd).setUserData(3);
  ring.submit();
  const m = new Map(reap(ring, 2).map((c) => [c.userDataNumber, c.res]));
  assert.equal(m.get(1), -E.ECANCELED);
  assert.equal(m.get(3), 0);
  assert.equal(ring.waitCqeTimeout(20), null, 'the poll on the other fd stays');
});
