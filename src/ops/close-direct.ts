// Closing one direct descriptor, reported to a callback: the cleanup a
// chain needs when a soft link cancelled its own close (see copy-chain.ts).
// The slot may be reused only after this op's CQE, so the callback is where
// its owner frees it.
import type { Sqe } from '../ring/sqe.js';
import { Op } from '../runtime/op.js';

export class CloseDirectOp extends Op {
  constructor(
    readonly fileSlot: number,
    /** Called once with the close's result (-EBADF: the slot was empty), or with the runtime's error if it gave the op up. */
    readonly done: (res: number, lost: Error | undefined) => void,
  ) {
    super();
  }
  prep(sqe: Sqe): void {
    sqe.prepCloseDirect(this.fileSlot);
  }
  complete(res: number): void {
    this.done(res, undefined);
  }
  abandon(err: Error): void {
    if (!this.markSettled()) return;
    this.done(0, err);
  }
}
