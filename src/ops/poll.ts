// poll: one readiness event, or a stream of them (multishot).
import { InvalidArgTypeError, recaptureStack } from '../errors.js';
import type { Sqe } from '../ring/sqe.js';
import { MultishotOp, PromiseOp } from '../runtime/op.js';
import { run, validateFd, type RunOptions } from './common.js';

function validateMask(mask: unknown): asserts mask is number {
  if (typeof mask !== 'number' || !Number.isInteger(mask) || mask < 0)
    throw new InvalidArgTypeError('mask', 'a non-negative integer (POLLIN, POLLOUT, ...)', mask);
}

export class PollOp extends PromiseOp<number> {
  constructor(
    readonly fd: number,
    readonly mask: number,
  ) {
    super();
  }
  get syscall(): string {
    return 'poll';
  }
  prep(sqe: Sqe): void {
    sqe.prepPollAdd(this.fd, this.mask);
  }
}

/** Resolves with the ready events (POLLIN, POLLOUT, ...) once `fd` is ready for `mask`. */
export async function poll(fd: number, mask: number, options?: RunOptions): Promise<number> {
  try {
    validateFd(fd);
    validateMask(mask);
    return await run(new PollOp(fd, mask), options).promise;
  } catch (err) {
    throw recaptureStack(err as Error, poll);
  }
}

export class PollMultishotOp extends MultishotOp<number> {
  constructor(
    readonly fd: number,
    readonly mask: number,
  ) {
    super();
  }
  get syscall(): string {
    return 'poll';
  }
  prep(sqe: Sqe): void {
    sqe.prepPollMultishot(this.fd, this.mask);
  }
  result(res: number): number {
    return res;
  }
}

/**
 * Readiness events for `fd` as an async iterator: one value (the events) each
 * time it becomes ready. Ends when the kernel ends the poll; breaking out of
 * the loop (or aborting) cancels it.
 */
export function pollMultishot(
  fd: number,
  mask: number,
  options?: Omit<RunOptions, 'timeout'>,
): AsyncIterableIterator<number> {
  validateFd(fd);
  validateMask(mask);
  return run(new PollMultishotOp(fd, mask), options && { ...options, timeout: undefined });
}
