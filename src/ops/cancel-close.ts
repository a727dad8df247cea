// A socket's last op: cancel everything in flight on the fd, then close it.
import { systemError } from '../errors.js';
import { ChainOp, capture, capturedReject, capturedResolve } from '../runtime/op.js';
import type { Sqe } from '../ring/sqe.js';
import * as U from '../ring/uapi.js';

/**
 * IORING_OP_ASYNC_CANCEL of every op on `fd` (ASYNC_CANCEL_ALL), hard-linked
 * to the CLOSE of `fd`: one ChainOp, so one slot, one start and one promise.
 * The hard link runs the close whatever the cancel found (nothing, -ENOENT,
 * is the usual answer). The promise settles with the close's outcome: a
 * system error (syscall 'close') if it failed, or what the op was given up
 * with (ERR_URING_CLOSED when the runtime closed first: the fd may then
 * still be open).
 */
export class CancelCloseOp extends ChainOp {
  readonly promise: Promise<void>;
  readonly #resolve: () => void;
  readonly #reject: (e: unknown) => void;
  #closeRes = 0;

  constructor(readonly fd: number) {
    super(2, 'hard');
    this.promise = new Promise<void>(capture);
    this.#resolve = capturedResolve;
    this.#reject = capturedReject;
  }

  prepLink(sqe: Sqe, link: number): void {
    if (link === 0) sqe.prepCancelFd(this.fd, U.IORING_ASYNC_CANCEL_ALL);
    else sqe.prepClose(this.fd);
  }

  linkResult(link: number, res: number): void {
    if (link === 1) this.#closeRes = res;
  }

  chainDone(): void {
    if (this.#closeRes < 0) this.#reject(systemError(this.#closeRes, 'close'));
    else this.#resolve();
  }

  chainFailed(err: Error): void {
    this.#reject(err);
  }
}
