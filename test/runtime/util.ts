// Small helpers shared by the runtime tests.
import { readdirSync, readlinkSync, openSync, closeSync, constants } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { setImmediate as immediate } from 'node:timers/promises';
import type { Runtime } from '../../src/runtime/runtime.js';

/** Open file descriptors of this process. */
export function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** The fds of this process, by number, with what they point at (for a failure message). */
export function fdList(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      out.push(`${fd} -> ${readlinkSync(`/proc/self/fd/${fd}`)}`);
    } catch {
      // raced with a close
    }
  }
  return out;
}

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

/** Waits (yielding to the event loop) until `cond()` holds; throws after `ms`. */
export async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Waits until the runtime has nothing in flight or queued. */
export function drained(rt: Runtime, ms = 5000): Promise<void> {
  return waitFor(() => rt.inflight === 0 && rt.backlog === 0, ms, `the runtime to drain (inflight ${rt.inflight}, backlog ${rt.backlog})`);
}

/** Rejects if `p` has not settled within `ms` (a hang fails the test instead of the suite). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not settled after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
