// One chunk of a large file copied as a two-SQE chain:
//
//   read(src, buf, len, pos) --LINK--> write(dst, buf, len, pos)
//
// The read is soft-linked: a short read (end of file, or a file that shrank)
// or a failed one cancels the write, which would otherwise write bytes the
// read did not fill. The sink then writes what was read on its own. The
// buffer address is the sink's, resolved once; the sink keeps the memory
// alive (it is reachable from the op until its last CQE).
import type { Sqe } from '../ring/sqe.js';
import { IORING_OP_READ, IORING_OP_WRITE } from '../ring/uapi.js';
import { ChainOp } from '../runtime/op.js';

export interface CopyChunkSink {
  /** Every CQE of `op` is in (`readRes`, `writeRes`), or the runtime gave it up (`op.lostError`). Called once. */
  copyChunkDone(op: CopyChunkOp): void;
}

export class CopyChunkOp extends ChainOp {
  readRes = 0;
  writeRes = 0;
  lostError: Error | undefined = undefined;
  constructor(
    readonly sink: CopyChunkSink,
    readonly srcFd: number,
    readonly dstFd: number,
    /** Where the chunk goes in memory: the sink's buffer, `len` bytes. */
    readonly bufAddress: number,
    readonly len: number,
    readonly pos: number,
    /** The sink's own number for the buffer, passed back as given. */
    readonly lane: number,
  ) {
    super(2, 'soft');
  }

  prepLink(sqe: Sqe, link: number): void {
    sqe.prepRw(
      link === 0 ? IORING_OP_READ : IORING_OP_WRITE,
      link === 0 ? this.srcFd : this.dstFd,
      this.bufAddress,
      this.len,
      this.pos,
    );
  }

  linkResult(link: number, res: number): void {
    if (link === 0) this.readRes = res;
    else this.writeRes = res;
  }

  chainDone(): void {
    this.sink.copyChunkDone(this);
  }

  chainFailed(err: Error): void {
    this.lostError = err;
    this.sink.copyChunkDone(this);
  }
}
