// Pieces of a large file copied through a pipe, never through user memory:
//
//   splice(src @pos -> pipe, len) --LINK--> splice(pipe -> dst @pos, len)
//     --LINK--> splice(src @pos+len -> pipe, len) --LINK--> ...
//
// `pairs` such pairs in one chain, on one pipe of at least `len` bytes
// (F_SETPIPE_SZ). The first splice of a pair takes references to the
// source's page-cache pages into the pipe; the second copies them into the
// destination's page cache: one copy of each byte, as copy_file_range does
// (GNU cp's path), where a read into a buffer and a write out of it are two.
//
// IORING_OP_SPLICE always runs on an io-wq worker; the links of a chain run
// back to back on the worker that took the first, so a chain of 2 x pairs
// splices costs one hand-off, and several chains on several pipes keep
// several workers (cores) busy.
//
// Soft links: a short or failed splice cancels the rest. A short first
// splice (end of file, or a file that shrank) must not be followed by a
// second asking for `len` bytes of a pipe that holds fewer: the second
// would wait for the rest forever, as the write end stays open. The sink
// sees each splice's result and finishes a short pair itself (what the pipe
// holds is what the pair's first splice moved minus what its second did).
import type { Sqe } from '../ring/sqe.js';
import { ChainOp } from '../runtime/op.js';

/** SPLICE_F_MOVE is a hint the kernel ignores; no flags. */
const SPLICE_FLAGS = 0;

export interface CopySpliceSink {
  /** Every CQE of `op` is in (`res`), or the runtime gave it up (`op.lostError`). Called once. */
  copySpliceDone(op: CopySpliceOp): void;
}

export class CopySpliceOp extends ChainOp {
  /** Each splice's result, in chain order (2k: into the pipe for pair k, 2k+1: out of it); -ECANCELED for the cancelled. */
  readonly res: Int32Array;
  lostError: Error | undefined = undefined;
  constructor(
    readonly sink: CopySpliceSink,
    readonly srcFd: number,
    readonly dstFd: number,
    /** The pipe's read and write ends; empty when the chain starts, and at least `len` bytes big. */
    readonly pipeR: number,
    readonly pipeW: number,
    /** Where the first pair starts; pair k moves [pos + k * len, pos + (k + 1) * len). */
    readonly pos: number,
    readonly len: number,
    readonly pairs: number,
    /** The size of the file (statx's): the last piece before it asks for no more than is left. */
    readonly end: number,
    /** The sink's own number for the pipe, passed back as given. */
    readonly lane: number,
  ) {
    super(pairs * 2, 'soft');
    if (end - pos <= (pairs - 1) * len) throw new RangeError('a CopySpliceOp piece would start at or after its end');
    this.res = new Int32Array(pairs * 2);
  }

  /** Where pair `k` starts in both files. */
  pairPos(k: number): number {
    return this.pos + k * this.len;
  }
  /** How many bytes pair `k` moves: `len`, or what is left before `end`. */
  pairLen(k: number): number {
    return Math.min(this.len, this.end - this.pairPos(k));
  }

  prepLink(sqe: Sqe, link: number): void {
    const k = link >> 1;
    const at = this.pairPos(k);
    const len = this.pairLen(k);
    if ((link & 1) === 0) sqe.prepSplice(this.srcFd, at, this.pipeW, -1, len, SPLICE_FLAGS);
    else sqe.prepSplice(this.pipeR, -1, this.dstFd, at, len, SPLICE_FLAGS);
  }

  linkResult(link: number, res: number): void {
    this.res[link] = res;
  }

  chainDone(): void {
    this.sink.copySpliceDone(this);
  }

  chainFailed(err: Error): void {
    this.lostError = err;
    this.sink.copySpliceDone(this);
  }
}
