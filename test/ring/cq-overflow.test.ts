// CQ overflow: more completions than the CQ holds, reaped late. The kernel
// (IORING_FEAT_NODROP) keeps the extra CQEs on an overflow list and flags
// IORING_SQ_CQ_OVERFLOW; the ring must flush that list (an enter with
// GETEVENTS) when the CQ runs dry, so nothing is lost or repeated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ring, IORING_FEAT_NODROP, IORING_SQ_CQ_OVERFLOW } from '../../src/ring/index.js';
import { E, sqe } from '../helpers/ring.js';

const TOTAL = 100_000;

test('100000 NOPs through a 4-entry CQ: every user data exactly once', (t) => {
  const ring = new Ring(2, { cqEntries: 4 });
  t.after(() => ring.close());
  assert.equal(ring.sqEntries, 2);
  assert.equal(ring.cqEntries, 4);
  if (!(ring.features & IORING_FEAT_NODROP)) {
    t.skip('kernel lacks IORING_FEAT_NODROP: overflowed CQEs would be dropped');
    return;
  }

  const seen = new Uint8Array(TOTAL);
  let reaped = 0;
  let maxBacklog = 0; // most completions outstanding at once
  let overflowSeen = 0; // times the kernel flagged overflowed CQEs
  let ebusy = 0;

  const reapAll = (): void => {
    // Only peekCqe/cqeSeen: the overflow list must come back through them.
    for (let c = ring.peekCqe(); c; c = ring.peekCqe()) {
      assert.equal(c.res, 0);
      const ud = c.userDataNumber;
      assert.ok(ud >= 0 && ud < TOTAL, `user data ${ud} in range`);
      seen[ud]!++;
      reaped++;
      ring.cqeSeen(c);
    }
  };

  let next = 0;
  // Reap only every `every` submissions; the window changes so the overflow
  // list is flushed at several depths (up to the full 100000 at the end).
  const windows = [3, 1000, 10_000, 7, 25_000];
  let w = 0;
  let sinceReap = 0;
  while (next < TOTAL) {
    const batch = Math.min(2, TOTAL - next);
    for (let i = 0; i < batch; i++)
      sqe(ring)
        .prepNop()
        .setUserData(next + i);
    for (;;) {
      const ret = ring.submitRaw();
      if (ret >= 0) {
        assert.equal(ret, batch);
        break;
      }
      // A kernel may refuse new submissions while CQEs are overflowed.
      assert.equal(ret, -E.EBUSY, `submit failed with ${ret}`);
      ebusy++;
      reapAll();
    }
    next += batch;
    sinceReap += batch;
    if (ring.sqFlags & IORING_SQ_CQ_OVERFLOW) overflowSeen++;
    maxBacklog = Math.max(maxBacklog, next - reaped);
    const every = windows[w % windows.length]!;
    if (sinceReap >= every && next < TOTAL - 30_000) {
      reapAll();
      sinceReap = 0;
      w++;
    }
  }
  assert.ok(ring.cqNeedsFlush, 'with thousands of CQEs unreaped, the kernel flags overflow');
  reapAll();

  assert.equal(reaped, TOTAL, `reaped ${reaped} of ${TOTAL}`);
  const missing = seen.findIndex((n) => n === 0);
  const twice = seen.findIndex((n) => n > 1);
  assert.equal(missing, -1, `user data ${missing} never completed`);
  assert.equal(twice, -1, `user data ${twice} completed more than once`);
  assert.ok(overflowSeen > 0 && maxBacklog > ring.cqEntries, 'the CQ really overflowed');
  assert.equal(ring.cqOverflow, 0, 'nothing dropped');
  assert.equal(ring.cqNeedsFlush, false);
  assert.equal(ring.cqReady, 0);
  assert.equal(ring.peekCqe(), null);
  t.diagnostic(`max backlog ${maxBacklog}, overflow flagged ${overflowSeen} times, EBUSY ${ebusy} times`);
});

/** Queues `n` NOPs through a 2-entry SQ without reaping: the CQ (4) overflows. */
function overflow(ring: Ring, n: number): void {
  for (let i = 0; i < n; i += 2) {
    sqe(ring).prepNop().setUserData(i);
    sqe(ring)
      .prepNop()
      .setUserData(i + 1);
    let ret;
    while ((ret = ring.submitRaw()) === -E.EBUSY) ring.cqAdvance(ring.peekBatchCqe().length);
    assert.ok(ret >= 0, `submit: ${ret}`);
  }
}

test('peekBatchCqe alone flushes the overflow list', (t) => {
  const ring = new Ring(2, { cqEntries: 4 });
  t.after(() => ring.close());
  const n = 64;
  overflow(ring, n);
  assert.ok(ring.cqNeedsFlush);
  const got: number[] = [];
  for (let batch = ring.peekBatchCqe(); batch.length > 0; batch = ring.peekBatchCqe()) {
    assert.ok(batch.length <= ring.cqEntries);
    for (const c of batch) got.push(c.userDataNumber);
    ring.cqAdvance(batch.length);
  }
  assert.deepEqual(
    got.slice().sort((a, b) => a - b),
    Array.from({ length: n }, (_, i) => i),
  );
  assert.equal(ring.cqNeedsFlush, false);
});

test('waitCqe alone flushes the overflow list', (t) => {
  const ring = new Ring(2, { cqEntries: 4 });
  t.after(() => ring.close());
  const n = 64;
  overflow(ring, n);
  assert.ok(ring.cqNeedsFlush);
  const got: number[] = [];
  while (got.length < n) {
    const c = ring.waitCqeTimeout(1000);
    assert.ok(c, `waitCqe found CQE ${got.length + 1} of ${n}`);
    got.push(c.userDataNumber);
    ring.cqeSeen(c);
  }
  assert.deepEqual(
    got.slice().sort((a, b) => a - b),
    Array.from({ length: n }, (_, i) => i),
  );
  assert.equal(ring.cqNeedsFlush, false);
  assert.equal(ring.peekCqe(), null);
});
