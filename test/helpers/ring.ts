// Small helpers over the synchronous ring API, shared by the ring tests.
import { Cqe, Ring } from '../../src/ring/index.js';

/**
 * Waits for and consumes exactly `n` CQEs, or throws once `timeoutMs` passes
 * without one (a hung test fails instead of blocking the suite).
 */
export function reap(ring: Ring, n: number, timeoutMs = 5000): Cqe[] {
  const out: Cqe[] = [];
  while (out.length < n) {
    const cqe = ring.waitCqeTimeout(timeoutMs);
    if (!cqe) throw new Error(`timed out after ${timeoutMs} ms waiting for CQE ${out.length + 1} of ${n}`);
    out.push(cqe);
    ring.cqeSeen(cqe);
  }
  return out;
}

/** Consumes every CQE ready now (flushing overflow), without waiting. */
export function drain(ring: Ring): Cqe[] {
  const out: Cqe[] = [];
  for (let cqe = ring.peekCqe(); cqe; cqe = ring.peekCqe()) {
    out.push(cqe);
    ring.cqeSeen(cqe);
  }
  return out;
}

/** The CQEs by user data (as a number), asserting each user data appears once. */
export function byUserData(cqes: readonly Cqe[]): Map<number, Cqe> {
  const m = new Map<number, Cqe>();
  for (const c of cqes) {
    const ud = c.userDataNumber;
    if (m.has(ud)) throw new Error(`user data ${ud} completed twice`);
    m.set(ud, c);
  }
  return m;
}

/** The next SQE, failing loudly if the SQ is unexpectedly full. */
export function sqe(ring: Ring) {
  const s = ring.getSqe();
  if (!s) throw new Error('SQ full');
  return s;
}

/** Errno values the tests compare CQE results with (x86-64 / arm64 Linux). */
export const E = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EFAULT: 14,
  EBUSY: 16,
  EINVAL: 22,
  ENOSYS: 38,
  ETIME: 62,
  ENOBUFS: 105,
  ECANCELED: 125,
} as const;
