// Waiting in tests without betting on the machine's speed: every wait is on
// an event or a condition, bounded by a deadline that fails the test with a
// message naming what never happened. The machine running the suite may be
// loaded (other suites, other jobs): deadlines are generous, and they only
// cost time when something is already wrong.

/** Resolves after `ms` (a timer, not a condition: see waitFor, quietFor). */
export const sleep = (ms: number): Promise<void> => new Promise<void>((r) => setTimeout(r, ms));

/** One process.nextTick: lets what was queued in this turn's ticks run. */
export const tick = (): Promise<void> => new Promise<void>((r) => process.nextTick(r));

/** One event-loop turn (setImmediate): lets I/O callbacks and pending reactions run. */
export const turn = (): Promise<void> => new Promise<void>((r) => setImmediate(r));

/**
 * Lets `ms` pass, for a test that asserts something does NOT happen in that
 * time (no event, no byte, no exit). Not a way to wait for something: a
 * loaded machine only makes the check weaker, never makes it fail.
 */
export const quietFor = (ms: number): Promise<void> => sleep(ms);

/** Rejects if `p` has not settled within `ms` (a hang fails the test instead of the suite). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not settled after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export interface WaitOptions {
  /** The deadline, in ms (default 5000). */
  timeout?: number;
  /** What is waited for, for the failure message; a function is called then (it may report the state). */
  what?: string | (() => string);
  /** Poll interval in ms (default 2). */
  interval?: number;
}

/**
 * Polls `cond` (yielding to the event loop between tries) until it holds;
 * throws once `timeout` passes. Returns the truthy value.
 */
export async function waitFor<T>(cond: () => T | Promise<T>, options: WaitOptions = {}): Promise<NonNullable<T>> {
  const ms = options.timeout ?? 5000;
  const interval = options.interval ?? 2;
  const deadline = performance.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v as NonNullable<T>;
    if (performance.now() > deadline) {
      const what = typeof options.what === 'function' ? options.what() : (options.what ?? 'a condition');
      throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    }
    await sleep(interval);
  }
}
