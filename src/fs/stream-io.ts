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
import { ChainOp, Op } from '../runtime/op.js';
import type { Runtime } from '../runtime/runtime.js';
import { ECANCELED } from '../errno.js';
import { givePipe, takePipe as takeSplicePipe, type SplicePipe } from '../ops/splice.js';

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

// ---------------------------------------------------------------- splice
//
// A ReadStream piped only into a WriteStream of ours moves the bytes in the
// kernel (streams.ts, "splice mode"): each step splices a piece of the
// source file into a pipe and, soft-linked, from the pipe into the
// destination at its offset. The page cache's pages go into the pipe by
// reference, so a byte is copied once (into the destination's pages)
// instead of twice, and never faults in a JavaScript Buffer.
//
// A short or failed first splice cancels the second (the kernel fails the
// link on a short splice), so the second never waits on an empty pipe; what
// the first left in the pipe is moved by a splice of its own (`drain`).

/** What the pipes are grown to (the default /proc/sys/fs/pipe-max-size): one splice step. */
const PIPE_SIZE = 1 << 20;

export { givePipe, type SplicePipe };

/** An empty pipe for a stream's steps, from this thread's pool (ops/splice.ts). */
export function takePipe(runtime: Runtime): Promise<SplicePipe> {
  return takeSplicePipe(PIPE_SIZE, { runtime });
}

export interface SpliceSink {
  /** `op`'s last CQE is in, or the runtime gave it up (`op.lost`). Called once. */
  spliceDone(op: SplicePairOp): void;
}

/**
 * One step: `len` bytes of `fdIn` at `offIn` into `pipe`, then from the pipe
 * into `fdOut` at `offOut`; or with `drain`, only the second splice (bytes
 * already in the pipe). `read` is the first splice's result (bytes or
 * -errno; `len` for a drain), `wrote` the second's (-ECANCELED when the
 * first was short or failed).
 */
export class SplicePairOp extends ChainOp {
  read = 0;
  wrote = 0;
  lost: Error | undefined = undefined;
  /**
   * A drain's step was cut short (the pipe filled, or a page-unaligned
   * range): once the pipe is empty, splice on from this source offset, this
   * many bytes (0: nothing).
   */
  restAt = 0;
  restLen = 0;
  constructor(
    readonly sink: SpliceSink,
    readonly fdIn: number,
    readonly offIn: number,
    readonly pipe: SplicePipe,
    readonly fdOut: number,
    readonly offOut: number,
    readonly len: number,
    readonly drain: boolean,
  ) {
    super(drain ? 1 : 2, 'soft');
    if (drain) this.read = len;
  }

  prepLink(sqe: Sqe, link: number): void {
    if (link === 0 && !this.drain) sqe.prepSplice(this.fdIn, this.offIn, this.pipe.w, -1, this.len, 0);
    else sqe.prepSplice(this.pipe.r, -1, this.fdOut, this.offOut, this.len, 0);
  }

  linkResult(link: number, res: number): void {
    if (link === 0 && !this.drain) this.read = res;
    else this.wrote = res;
  }

  chainDone(): void {
    this.sink.spliceDone(this);
  }

  chainFailed(err: Error): void {
    this.lost = err;
    if (!this.drain) this.read = -ECANCELED;
    this.wrote = -ECANCELED;
    this.sink.spliceDone(this);
  }
}
