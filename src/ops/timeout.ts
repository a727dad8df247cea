// Timers in the kernel: sleep(ms) and the raw timeout op.
import { OutOfRangeError, recaptureStack } from '../errors.js';
import type { Sqe } from '../ring/sqe.js';
import { Timespec } from '../ring/structs.js';
import { PromiseOp } from '../runtime/op.js';
import { run, type RunOptions } from './common.js';
import { ETIME } from '../errno.js';

export class TimeoutOp extends PromiseOp<boolean> {
  readonly ts: Timespec;
  constructor(
    ms: number,
    readonly count: number,
  ) {
    super();
    this.ts = new Timespec(ms);
  }
  get syscall(): string {
    return 'timeout';
  }
  prep(sqe: Sqe): void {
    sqe.prepTimeout(this.ts, this.count);
  }
  /** -ETIME is the timer expiring: success, as `true`; `false` when `count` completions came first. */
  protected override settleWith(res: number, flags: number): void {
    super.settleWith(res === -ETIME ? 1 : res === 0 ? 0 : res, flags);
  }
  override result(res: number): boolean {
    return res === 1;
  }
}

function validateMs(ms: unknown): asserts ms is number {
  if (typeof ms !== 'number' || !(ms >= 0) || !Number.isFinite(ms))
    throw new OutOfRangeError('ms', 'a finite number >= 0', ms);
}

/** Resolves after `ms` milliseconds, timed by the kernel. */
export async function sleep(ms: number, options?: Omit<RunOptions, 'timeout'>): Promise<void> {
  try {
    validateMs(ms);
    await run(new TimeoutOp(ms, 0), options && { ...options, timeout: undefined }).promise;
  } catch (err) {
    throw recaptureStack(err as Error, sleep);
  }
}

/**
 * IORING_OP_TIMEOUT: resolves `true` when `ms` elapse, or `false` as soon as
 * `count` other completions have been posted on the ring (count 0: time only).
 */
export async function timeout(ms: number, count = 0, options?: Omit<RunOptions, 'timeout'>): Promise<boolean> {
  try {
    validateMs(ms);
    if (!Number.isInteger(count) || count < 0) throw new OutOfRangeError('count', 'an integer >= 0', count);
    return await run(new TimeoutOp(ms, count), options && { ...options, timeout: undefined }).promise;
  } catch (err) {
    throw recaptureStack(err as Error, timeout);
  }
}
