// Cancelling everything in flight on one direct descriptor: what an aborted
// batch of files does to its reads on a slow disk. (cancelFd in net.ts
// does the same for a regular descriptor, as a Promise.)
import type { Sqe } from '../ring/sqe.js';
import { IORING_ASYNC_CANCEL_ALL, IORING_ASYNC_CANCEL_FD_FIXED } from '../ring/uapi.js';
import { Op } from '../runtime/op.js';

/**
 * Cancels every request on direct descriptor `fileSlot`. Fire and forget:
 * nobody waits for it, its CQE (how many it cancelled, or -ENOENT) is
 * skipped.
 */
export class CancelDirectOp extends Op {
  constructor(readonly fileSlot: number) {
    super();
  }
  prep(sqe: Sqe): void {
    sqe.prepCancelFd(this.fileSlot, IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_FD_FIXED);
  }
  complete(): void {}
  abandon(): void {
    this.markSettled();
  }
}
