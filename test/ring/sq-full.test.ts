// A full SQ: getSqe says so (null / -1) and never hands out a slot the
// kernel has not consumed; submitting frees the slots again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ring, IORING_OP_NOP, type Sqe } from '../../src/ring/index.js';
import { reap } from '../helpers/ring.js';

test('getSqe returns null when the SQ is full and never overwrites', (t) => {
  const ring = new Ring(8);
  t.after(() => ring.close());
  assert.equal(ring.sqEntries, 8);
  assert.equal(ring.sqReady, 0);
  assert.equal(ring.sqSpaceLeft, 8);

  const sqes: Sqe[] = [];
  for (let i = 0; i < 8; i++) {
    const s = ring.getSqe();
    assert.ok(s, `SQE ${i} available`);
    s.prepNop().userData = 0x1000n + BigInt(i);
    sqes.push(s);
    assert.equal(ring.sqReady, i + 1);
    assert.equal(ring.sqSpaceLeft, 8 - (i + 1));
  }
  assert.equal(new Set(sqes.map((s) => s.index)).size, 8, 'eight distinct slots');
  assert.equal(ring.getSqe(), null);
  assert.equal(ring.getSqeIndex(), -1);
  assert.equal(ring.getSqe(), null, 'still full');
  assert.equal(ring.sqReady, 8);
  assert.equal(ring.sqSpaceLeft, 0);
  // Nothing was zeroed or reused by the failed calls.
  sqes.forEach((s, i) => {
    assert.equal(s.opcode, IORING_OP_NOP);
    assert.equal(s.userData, 0x1000n + BigInt(i));
  });

  assert.equal(ring.submit(), 8);
  assert.equal(ring.sqReady, 0, 'the kernel consumed every SQE');
  assert.equal(ring.sqSpaceLeft, 8);
  const got = reap(ring, 8)
    .map((c) => c.userData)
    .sort((a, b) => (a < b ? -1 : 1));
  assert.deepEqual(
    got,
    sqes.map((_, i) => 0x1000n + BigInt(i)),
  );

  // The slots are free again, handed out zeroed, in ring order.
  const again = ring.getSqe();
  assert.ok(again);
  assert.equal(again.index, sqes[0]!.index);
  assert.equal(again.userData, 0n);
  assert.equal(again.opcode, 0);
  assert.equal(ring.sqReady, 1);
});

test('flushSq publishes without entering; slots stay taken until the kernel consumes them', (t) => {
  const ring = new Ring(4);
  t.after(() => ring.close());
  for (let i = 0; i < 4; i++) ring.getSqe()!.prepNop().setUserData(i);
  // Published to the kernel but not yet submitted: still not free.
  assert.equal(ring.flushSq(), 4);
  assert.equal(ring.getSqe(), null);
  assert.equal(ring.sqSpaceLeft, 0);
  // enter() submits what was flushed.
  assert.equal(ring.enter(4, 4, 1 /* IORING_ENTER_GETEVENTS */), 4);
  assert.equal(ring.sqSpaceLeft, 4);
  assert.equal(reap(ring, 4).length, 4);
});

test('a partial fill, then wrap-around many times', (t) => {
  const ring = new Ring(4);
  t.after(() => ring.close());
  let ud = 0;
  for (let round = 0; round < 50; round++) {
    const n = 1 + (round % 4);
    for (let i = 0; i < n; i++) ring.getSqe()!.prepNop().setUserData(ud++);
    assert.equal(ring.sqReady, n);
    assert.equal(ring.sqSpaceLeft, 4 - n);
    if (n === 4) assert.equal(ring.getSqe(), null);
    assert.equal(ring.submit(), n);
    const got = reap(ring, n)
      .map((c) => c.userDataNumber)
      .sort((a, b) => a - b);
    assert.deepEqual(
      got,
      Array.from({ length: n }, (_, i) => ud - n + i),
    );
  }
});

test('the kernel rounds the SQ size up to a power of two', (t) => {
  const ring = new Ring(5);
  t.after(() => ring.close());
  assert.equal(ring.sqEntries, 8);
  assert.equal(ring.cqEntries, 16);
  for (let i = 0; i < 8; i++) assert.ok(ring.getSqe());
  assert.equal(ring.getSqe(), null);
  ring.submit();
  reap(ring, 8);
});
