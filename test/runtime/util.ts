// Small helpers shared by the runtime tests.
import { openSync, closeSync, constants } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { setImmediate as immediate } from 'node:timers/promises';
import type { Runtime } from '../../src/runtime/runtime.js';
import { waitFor } from '../helpers/wait.js';

/**
 * A FIFO opened read-write (so the open does not block and reads find no
 * writer missing): a blocking fd that never has data unless written to.
 */
export function fifo(path: string): { fd: number; close(): void } {
  execFileSync('mkfifo', [path]);
  const fd = openSync(path, constants.O_RDWR);
  return { fd, close: () => closeSync(fd) };
}

/** Tracks how a promise settled, without handling its rejection for anyone else. */
export function settleState<T>(p: Promise<T>) {
  const outcomes: string[] = [];
  p.then(
    (v) => outcomes.push(`resolve:${String(v)}`),
    (e: Error) => outcomes.push(`reject:${e?.name}`),
  );
  return {
    outcomes,
    /** Lets pending reactions run. */
    idle: () => immediate(),
  };
}

/** Waits until the runtime has nothing in flight or queued. */
export async function drained(rt: Runtime, ms = 5000): Promise<void> {
  await waitFor(() => rt.inflight === 0 && rt.backlog === 0, {
    timeout: ms,
    what: () => `the runtime to drain (inflight ${rt.inflight}, backlog ${rt.backlog})`,
  });
}

/**
 * Waits until at least `n` ops are in flight on `rt` and the kernel has
 * taken every SQE (none waits in the backlog or the SQ, which with SQPOLL
 * its thread empties by itself): an abort or close from then on meets the
 * ops in the kernel, not before their submit.
 */
export async function inKernel(rt: Runtime, n: number, ms = 5000): Promise<void> {
  await waitFor(() => rt.inflight >= n && rt.backlog === 0 && rt.ring.sqReady === 0, {
    timeout: ms,
    what: () =>
      `${n} ops in the kernel (inflight ${rt.inflight}, backlog ${rt.backlog}, SQEs not taken ${rt.ring.sqReady})`,
  });
}
