// Many lstat/stat calls as one op: a ChainOp with link 'none', one statx
// SQE per path, all in the same io_uring_enter, each filling its own 256
// bytes of one shared buffer. One object, one table slot and one report
// for up to MAX_LINKS paths: a tree walk stats its files a directory's
// worth at a time instead of one Promise per file.
import type { Sqe } from '../ring/sqe.js';
import { IORING_OP_STATX } from '../ring/uapi.js';
import { ChainOp } from '../runtime/op.js';

export const STATX_BYTES = 256;

/** Where a StatxManyOp's paths and results are. */
export interface StatxManySink {
  /** The address of path `index`, NUL-terminated. */
  pathAddress(index: number): number;
  /** The address of path `index`'s 256-byte struct statx. */
  statxAddress(index: number): number;
  /** Every CQE of `op` is in (results in `op.res`, by link), or the runtime gave it up (`op.lostError`). Called once. */
  statxManyDone(op: StatxManyOp): void;
}

/** statx(dirfd, path, flags, mask) for the sink's paths `first` .. `first + count - 1`. */
export class StatxManyOp extends ChainOp {
  /** Each statx's result (0 or -errno), by link (path `first + link`). */
  readonly res: Int32Array;
  lostError: Error | undefined = undefined;
  constructor(
    readonly sink: StatxManySink,
    readonly first: number,
    count: number,
    readonly dirfd: number,
    readonly flags: number,
    readonly mask: number,
  ) {
    super(count, 'none');
    this.res = new Int32Array(count);
  }

  prepLink(sqe: Sqe, link: number): void {
    const i = this.first + link;
    sqe.prepRw(IORING_OP_STATX, this.dirfd, this.sink.pathAddress(i), this.mask, this.sink.statxAddress(i));
    sqe.opFlags = this.flags;
  }

  linkResult(link: number, res: number): void {
    this.res[link] = res;
  }

  chainDone(): void {
    this.sink.statxManyDone(this);
  }

  chainFailed(err: Error): void {
    this.lostError = err;
    this.sink.statxManyDone(this);
  }
}
