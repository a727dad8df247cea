// The ops of the file streams (streams.ts): one read, write or writev whose
// CQE goes to the stream itself, with no Promise and no abort listener per
// op. A stream keeps several reads in flight (read-ahead) and writes behind
// its caller, so it sees many of these per chunk-time; it cancels them
// itself (Runtime.cancel) when destroyed.
//
// The op holds its buffer (or the iovecs and their views) until its last
// CQE: it stays in the runtime's table until then, whatever the stream
// does meanwhile.
import type { Sqe } from '../ring/sqe.js';
import type { Iovecs } from '../ring/structs.js';
import { IORING_OP_READ, IORING_OP_WRITE } from '../ring/uapi.js';
import { Op } from '../runtime/op.js';
import { ECANCELED } from '../errno.js';

export interface StreamIoSink {
  /**
   * `op` is done: `op.res` is its CQE's result (bytes, or -errno), or the
   * runtime gave it up before the kernel ran it (`op.lost`, res -ECANCELED).
   * Called once.
   */
  streamIoDone(op: StreamIoOp): void;
}

export class StreamIoOp extends Op {
  res = 0;
  done = false;
  /** The stream no longer wants the result (read-ahead past a short read, or destroyed). */
  dropped = false;
  lost: Error | undefined = undefined;
  constructor(
    readonly sink: StreamIoSink,
    readonly fd: number,
    readonly writing: boolean,
    /** The one buffer (read or write), or null with `iov`. */
    readonly buf: Buffer | null,
    /** A writev's buffers, or null. */
    readonly iov: Iovecs | null,
    readonly address: number,
    readonly len: number,
    /** The file offset, or -1 for the current position. */
    readonly pos: number,
  ) {
    super();
  }

  prep(sqe: Sqe): void {
    if (this.iov !== null) sqe.prepWritev(this.fd, this.iov, this.pos);
    else sqe.prepRw(this.writing ? IORING_OP_WRITE : IORING_OP_READ, this.fd, this.address, this.len, this.pos);
  }

  complete(res: number): void {
    if (!this.markSettled()) return;
    this.res = res;
    this.done = true;
    this.sink.streamIoDone(this);
  }

  abandon(err: Error): void {
    if (!this.markSettled()) return;
    this.res = -ECANCELED;
    this.lost = err;
    this.done = true;
    this.sink.streamIoDone(this);
  }
}
