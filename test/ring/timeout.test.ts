// TIMEOUT: relative, absolute (CLOCK_MONOTONIC), with a completion count, and
// TIMEOUT_REMOVE. Timing bounds are generous: these machines are shared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ring, Timespec, IORING_TIMEOUT_ABS } from '../../src/ring/index.js';
import { E, reap, sqe } from '../helpers/ring.js';

function ring(t: { after(fn: () => void): void }): Ring {
  const r = new Ring(16);
  t.after(() => r.close());
  return r;
}

test('a relative timeout completes with -ETIME after about its time', (t) => {
  const r = ring(t);
  const t0 = performance.now();
  sqe(r).prepTimeout(60).setUserData(1);
  r.submit();
  const [c] = reap(r, 1, 5000);
  const elapsed = performance.now() - t0;
  assert.equal(c!.res, -E.ETIME);
  assert.equal(c!.userDataNumber, 1);
  assert.ok(elapsed >= 55, `fired after ${elapsed.toFixed(1)} ms, expected >= 60`);
  assert.ok(elapsed < 3000, `fired after ${elapsed.toFixed(1)} ms`);
});

test('a Timespec timeout with seconds and nanoseconds', (t) => {
  const r = ring(t);
  const ts = Timespec.of(0, 40_000_000);
  assert.equal(ts.sec, 0);
  assert.equal(ts.nsec, 40_000_000);
  const t0 = performance.now();
  sqe(r).prepTimeout(ts).setUserData(2);
  r.submit();
  const [c] = reap(r, 1, 5000);
  const elapsed = performance.now() - t0;
  assert.equal(c!.res, -E.ETIME);
  assert.ok(elapsed >= 35 && elapsed < 3000, `fired after ${elapsed.toFixed(1)} ms`);
});

test('an absolute timeout (IORING_TIMEOUT_ABS, CLOCK_MONOTONIC) fires at its deadline', (t) => {
  const r = ring(t);
  // process.hrtime is CLOCK_MONOTONIC, the clock ABS timeouts use by default.
  const [sec, nsec] = process.hrtime();
  const deadlineNs = BigInt(sec) * 1_000_000_000n + BigInt(nsec) + 80_000_000n;
  const ts = Timespec.of(deadlineNs / 1_000_000_000n, Number(deadlineNs % 1_000_000_000n));
  const t0 = performance.now();
  sqe(r).prepTimeout(ts, 0, IORING_TIMEOUT_ABS).setUserData(3);
  r.submit();
  // Read as relative, this timespec would be days away: it must fire now.
  const [c] = reap(r, 1, 5000);
  const elapsed = performance.now() - t0;
  assert.equal(c!.res, -E.ETIME);
  assert.ok(elapsed >= 70, `fired after ${elapsed.toFixed(1)} ms, expected about 80`);
  assert.ok(elapsed < 3000);

  // A deadline already past fires at once.
  const [s2, n2] = process.hrtime();
  const t1 = performance.now();
  sqe(r)
    .prepTimeout(Timespec.of(s2 - 1, n2), 0, IORING_TIMEOUT_ABS)
    .setUserData(4);
  r.submit();
  const [c2] = reap(r, 1, 5000);
  assert.equal(c2!.res, -E.ETIME);
  assert.ok(performance.now() - t1 < 1000);
});

test('a timeout with a count completes with 0 after that many other completions', (t) => {
  const r = ring(t);
  sqe(r).prepTimeout(10_000, 3).setUserData(100);
  r.submit();
  // Two completions are not enough.
  for (let i = 0; i < 2; i++) sqe(r).prepNop().setUserData(i);
  r.submit();
  const first = reap(r, 2);
  assert.deepEqual(first.map((c) => c.userDataNumber).sort(), [0, 1]);
  assert.equal(r.waitCqeTimeout(30), null, 'the timeout waits for a third completion');

  sqe(r).prepNop().setUserData(2);
  r.submit();
  const rest = new Map(reap(r, 2, 3000).map((c) => [c.userDataNumber, c.res]));
  assert.equal(rest.get(2), 0);
  assert.equal(rest.get(100), 0, 'the count was reached: res 0, not -ETIME');
});

test('timeout remove cancels a pending timeout; removing an unknown one gives -ENOENT', (t) => {
  const r = ring(t);
  sqe(r).prepTimeout(10_000).userData = 0x1234_5678_9an;
  r.submit();
  assert.equal(r.waitCqeTimeout(20), null);
  const t0 = performance.now();
  sqe(r).prepTimeoutRemove(0x1234_5678_9an).setUserData(2);
  r.submit();
  const m = new Map(reap(r, 2, 3000).map((c) => [c.userData, c.res]));
  assert.ok(performance.now() - t0 < 2000);
  assert.equal(m.get(2n), 0);
  assert.equal(m.get(0x1234_5678_9an), -E.ECANCELED);

  sqe(r).prepTimeoutRemove(0xbadn).setUserData(3);
  r.submit();
  const [c] = reap(r, 1);
  assert.equal(c!.res, -E.ENOENT);
});

test('timeout update moves a pending timeout', (t) => {
  const r = ring(t);
  sqe(r).prepTimeout(10_000).setUserData(1);
  r.submit();
  const t0 = performance.now();
  sqe(r).prepTimeoutUpdate(30, 1).setUserData(2);
  r.submit();
  const m = new Map(reap(r, 2, 5000).map((c) => [c.userDataNumber, c.res]));
  assert.equal(m.get(2), 0);
  assert.equal(m.get(1), -E.ETIME);
  assert.ok(performance.now() - t0 < 3000, 'fired at the updated time, not after 10 s');
});

test('waitCqeTimeout returns null after about its time when nothing completes', (t) => {
  const r = ring(t);
  const t0 = performance.now();
  assert.equal(r.waitCqeTimeout(80), null);
  const elapsed = performance.now() - t0;
  assert.ok(elapsed >= 75 && elapsed < 3000, `returned after ${elapsed.toFixed(1)} ms`);
  assert.equal(r.waitCqeTimeout(0), null, 'a zero timeout only peeks');
  assert.throws(() => r.waitCqeTimeout(-1), { code: 'ERR_OUT_OF_RANGE' });
  // ... and returns the CQE as soon as there is one.
  sqe(r).prepTimeout(30).setUserData(9);
  r.submit();
  const t1 = performance.now();
  const c = r.waitCqeTimeout(5000);
  assert.ok(c);
  assert.equal(c.userDataNumber, 9);
  assert.ok(performance.now() - t1 < 3000);
  r.cqeSeen(c);
});
