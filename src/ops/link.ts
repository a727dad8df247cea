// Linked chains: ops that run one after another in the kernel, submitted together.
import type { Op } from '../runtime/op.js';
import { getRuntime, type Runtime } from '../runtime/runtime.js';
import { InvalidArgValueError } from '../errors.js';

/**
 * Submits `ops` (made with the *Op constructors, e.g. new WriteOp(...)) as one
 * IOSQE_IO_LINK chain: each starts after the previous one succeeded; a
 * failure cancels the rest (-ECANCELED), unless `hard` links are asked for
 * (IOSQE_IO_HARDLINK: the chain goes on regardless — needed when a short read
 * must not cancel the close after it). Returns the ops, whose promises settle
 * individually.
 */
export function link<T extends Op[]>(ops: T, options: { hard?: boolean; runtime?: Runtime } = {}): T {
  ops.forEach((op, i) => {
    if (op.timeoutMs > 0) throw new InvalidArgValueError(`ops[${i}].timeout`, op.timeoutMs, 'is not supported inside a linked chain');
    if (op.slot >= 0) throw new InvalidArgValueError(`ops[${i}]`, op, 'was already submitted');
  });
  (options.runtime ?? getRuntime()).submitLinked(ops, options.hard === true);
  return ops;
}
