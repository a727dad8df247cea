// IORING_OP_NOP: a request that does nothing — the cost of a round trip.
import { recaptureStack } from '../errors.js';
import { PromiseOp } from '../runtime/op.js';
import type { Sqe } from '../ring/sqe.js';
import { run, type RunOptions } from './common.js';

export class NopOp extends PromiseOp<number> {
  get syscall(): string {
    return 'nop';
  }
  prep(sqe: Sqe): void {
    sqe.prepNop();
  }
}

/** Resolves with 0 once the kernel has completed a no-op. */
export async function nop(options?: RunOptions): Promise<number> {
  try {
    return await run(new NopOp(), options).promise;
  } catch (err) {
    throw recaptureStack(err as Error, nop);
  }
}
