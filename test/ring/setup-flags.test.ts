// A declared matrix of setup flags; for each, NOPs and a file read run to
// completion. A flag set the kernel rejects is skipped, with the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  Ring,
  IORING_SETUP_SQPOLL,
  IORING_SETUP_COOP_TASKRUN,
  IORING_SETUP_TASKRUN_FLAG,
  IORING_SETUP_SINGLE_ISSUER,
  IORING_SETUP_DEFER_TASKRUN,
  IORING_SETUP_NO_SQARRAY,
  IORING_SQ_NEED_WAKEUP,
  type RingOptions,
} from '../../src/ring/index.js';
import { tempDir } from '../helpers/tmp.js';
import { reap, sqe } from '../helpers/ring.js';

const MATRIX: readonly { name: string; options: RingOptions }[] = [
  { name: 'default', options: {} },
  { name: 'SQPOLL', options: { flags: IORING_SETUP_SQPOLL, sqThreadIdle: 50 } },
  { name: 'COOP_TASKRUN', options: { flags: IORING_SETUP_COOP_TASKRUN } },
  { name: 'COOP_TASKRUN|TASKRUN_FLAG', options: { flags: IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG } },
  { name: 'SINGLE_ISSUER|DEFER_TASKRUN', options: { flags: IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN } },
  { name: 'default, ring fd not registered', options: { registerRingFd: false } },
];

/** The ring, or the reason the kernel gave for refusing these flags. */
function tryRing(entries: number, options: RingOptions): Ring | string {
  try {
    return new Ring(entries, options);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    // Only the kernel saying no is a reason to skip; anything else is a failure.
    if (e.code === 'EINVAL' || e.code === 'EPERM' || e.code === 'EOPNOTSUPP' || e.code === 'ERR_URING_UNAVAILABLE') {
      return `the kernel rejects this flag set: ${e.message}`;
    }
    throw err;
  }
}

for (const { name, options } of MATRIX) {
  test(`setup ${name}: NOPs and a file read run to completion`, (t) => {
    const ring = tryRing(8, options);
    if (typeof ring === 'string') {
      t.skip(ring);
      return;
    }
    const dir = tempDir();
    t.after(() => {
      ring.close();
      dir.remove();
    });
    const want = options.flags ?? 0;
    assert.equal(ring.flags & want, want, `flags 0x${ring.flags.toString(16)} include 0x${want.toString(16)}`);
    assert.equal(ring.flags & ~(want | IORING_SETUP_NO_SQARRAY), 0, 'no flags we did not ask for (but NO_SQARRAY)');

    // NOPs: more than the SQ holds, so slots are reused (with SQPOLL, once
    // the kernel thread has consumed them).
    const n = 40;
    const seen = new Set<number>();
    let next = 0;
    while (seen.size < n) {
      let queued = 0;
      while (next < n && ring.sqSpaceLeft > 0) {
        sqe(ring).prepNop().setUserData(next++);
        queued++;
      }
      if (queued === 0) {
        // Every CQE so far is reaped and the SQ still looks full: the SQPOLL
        // thread posts a batch's CQEs before it moves the SQ head, so room
        // comes a moment later. Reaping now would wait for a CQE nobody owes.
        const deadline = performance.now() + 5000;
        while (ring.sqSpaceLeft === 0 && performance.now() < deadline)
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
        assert.ok(ring.sqSpaceLeft > 0, 'the kernel consumed the SQEs whose CQEs arrived');
        continue;
      }
      ring.submit();
      // waitCqe enters with GETEVENTS, which DEFER_TASKRUN needs to post CQEs.
      for (const c of reap(ring, Math.min(queued, n - seen.size), 5000)) {
        assert.equal(c.res, 0);
        assert.ok(!seen.has(c.userDataNumber), 'each NOP once');
        seen.add(c.userDataNumber);
      }
    }

    const data = randomBytes(10_000);
    dir.write('f', data);
    const fd = dir.open('f');
    const out = Buffer.alloc(16_384);
    sqe(ring).prepRead(fd, out, undefined, 0).setUserData(1000);
    sqe(ring).prepRead(fd, out.subarray(12_000), 100, 9_950).setUserData(1001);
    ring.submit();
    const res = new Map(reap(ring, 2, 5000).map((c) => [c.userDataNumber, c.res]));
    assert.equal(res.get(1000), data.length);
    assert.equal(res.get(1001), 50);
    assert.deepEqual(out.subarray(0, data.length), data);
    assert.deepEqual(out.subarray(12_000, 12_050), data.subarray(9_950));

    // An async completion (a timer, posted through task work): with
    // DEFER_TASKRUN it appears only once waitCqe enters with GETEVENTS.
    sqe(ring).prepTimeout(15).setUserData(2000);
    ring.submit();
    const [tm] = reap(ring, 1, 5000);
    assert.equal(tm!.userDataNumber, 2000);
    assert.equal(tm!.res, -62 /* ETIME */);
  });
}

test('SQPOLL: a kernel thread that went to sleep is woken by submit', (t) => {
  const ring = tryRing(8, { flags: IORING_SETUP_SQPOLL, sqThreadIdle: 10 });
  if (typeof ring === 'string') {
    t.skip(ring);
    return;
  }
  t.after(() => ring.close());
  for (let round = 0; round < 3; round++) {
    // Idle well past sqThreadIdle: the thread sleeps and asks for a wakeup.
    const deadline = performance.now() + 2000;
    while (!(ring.sqFlags & IORING_SQ_NEED_WAKEUP) && performance.now() < deadline) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
    assert.ok(ring.sqFlags & IORING_SQ_NEED_WAKEUP, 'the SQPOLL thread went to sleep');
    sqe(ring).prepNop().setUserData(round);
    ring.submit();
    const [c] = reap(ring, 1, 3000);
    assert.equal(c!.userDataNumber, round);
  }
});

test('a flag set no kernel accepts is refused with EINVAL and a clear message', () => {
  // DEFER_TASKRUN without SINGLE_ISSUER is invalid.
  assert.throws(
    () => new Ring(8, { flags: IORING_SETUP_DEFER_TASKRUN }),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'EINVAL');
      assert.match(err.message, /flags 0x/);
      return true;
    },
  );
});
