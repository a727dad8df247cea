// IORING_OP_NOP: a request that does nothing — the cost of a round trip.
import { recaptureStack } from '../errors.js';
import { PromiseOp } from '../runtime/op.js';
import type { Sqe } from '../ring/sqe.js';
import { run, type RunOptions } from './common.js';

export class NopOp extends PromiseOp<number> {
  // Own fields, set on every op nop() makes (see RwOp in rw.ts).
  override stackAtCaller = false;
  get syscall(): string {
    return 'nop';
  }
  prep(sqe: Sqe): void {
    sqe.prepNop();
  }
}

/**
 * Resolves with 0 once the kernel has completed a no-op. Like read(), not an
 * async function: the promise is the op's own.
 */
export function nop(options?: RunOptions): Promise<number> {
  const op = new NopOp();
  op.stackAtCaller = true;
  try {
    run(op, options);
  } catch (err) {
    return Promise.reject(recaptureStack(err as Error, nop));
  }
  return op.promise;
}
