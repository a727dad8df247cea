// Linked chains: ops that run one after another in the kernel, submitted together.
import { Op } from '../runtime/op.js';
import { getRuntime, validateRuntime, type Runtime } from '../runtime/runtime.js';
import { InvalidArgTypeError, InvalidArgValueError } from '../errors.js';
import { validateObject } from '../validate.js';

/**
 * Submits `ops` (made with the *Op constructors, e.g. new WriteOp(...)) as one
 * IOSQE_IO_LINK chain: each starts after the previous one succeeded; a
 * failure cancels the rest (-ECANCELED), unless `hard` links are asked for
 * (IOSQE_IO_HARDLINK: the chain goes on regardless — needed when a short read
 * must not cancel the close after it). Returns the ops, whose promises settle
 * individually.
 */
export function link<T extends Op[]>(ops: T, options: { hard?: boolean; runtime?: Runtime } = {}): T {
  if (!Array.isArray(ops)) throw new InvalidArgTypeError('ops', 'an array of Op', ops);
  // A for loop, not forEach: a hole must be refused too.
  for (let i = 0; i < ops.length; i++) {
    if (!(ops[i] instanceof Op)) throw new InvalidArgTypeError(`ops[${i}]`, 'an instance of Op', ops[i]);
  }
  validateObject(options, 'options');
  if (options.runtime !== undefined) validateRuntime(options.runtime);
  ops.forEach((op, i) => {
    if (op.timeoutMs > 0) throw new InvalidArgValueError(`ops[${i}].timeout`, op.timeoutMs, 'is not supported inside a linked chain');
    if (op.slot >= 0) throw new InvalidArgValueError(`ops[${i}]`, op, 'was already submitted');
  });
  (options.runtime ?? getRuntime()).submitLinked(ops, options.hard === true);
  return ops;
}
