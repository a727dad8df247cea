// One small file copied as one linked chain in the kernel, on two direct
// descriptors:
//
//   openat(src) -> slot s --LINK--> openat(dst, O_CREAT|O_TRUNC, mode) -> slot d
//     --LINK--> read(s, lane, size) --LINK--> write(d, lane, size)
//     --HARDLINK--> close(s) --HARDLINK--> close(d)
//
// six SQEs (four for an empty file: no read, no write) written together,
// run back to back by the kernel with no trip through JavaScript between
// them. Why the links differ:
// - The opens and the read are soft links: a source that cannot be opened
//   must not leave an empty destination behind (cp creates nothing then), a
//   destination that cannot be created must not be read for, and a read
//   shorter than the size statx gave (the file shrank) must not write the
//   stale rest of the lane buffer. A failure there cancels everything after
//   it, closes included: the sink closes whichever slot was filled
//   (CloseDirectOp) before reusing it.
// - The write is hard-linked to the closes, and the closes to each other:
//   once both files are open they are closed whatever the write did.
//
// Where the kernel can (IORING_FEAT_CQE_SKIP, the sink's `cqeSkip`), the
// opens and the read carry IOSQE_CQE_SKIP_SUCCESS: a file copied whole
// posts three CQEs (write, both closes) instead of six, and an empty one
// two instead of four. What comes is then known from each CQE (unposted):
// - A skipping link that fails (a soft link: an open, or the read, which
//   fails also when short) posts its CQE, and the kernel posts none for
//   the links it cancels after it (a failed request that was to skip its
//   CQE makes its link's cancellations skip theirs too): that CQE is the
//   chain's only one.
// - Any other CQE (the write, a close) means every skipping link before it
//   succeeded, and posted nothing: counted off once, by whichever of those
//   CQEs comes first (their order is not relied on).
// A skipped result reads as success: 0 for the opens (a direct open's
// result), `size` for the read.
//
// The SQE fields are written through prepRw with addresses the sink
// resolved once (its table of paths, each lane's buffer), as
// OpenReadCloseOp does, rather than through prepOpenatDirect/prepRead,
// which would encode each path and look up each buffer's address per SQE.
// The sink, reachable from the op until its last CQE, keeps that memory
// alive and must not reuse a lane before the op's last CQE.
import type { Sqe } from '../ring/sqe.js';
import {
  IORING_OP_OPENAT,
  IORING_OP_READ,
  IORING_OP_WRITE,
  IOSQE_FIXED_FILE,
  IOSQE_IO_HARDLINK,
} from '../ring/uapi.js';
import { ChainOp } from '../runtime/op.js';

const O_WRONLY = 0o1;
const O_CREAT = 0o100;
const O_TRUNC = 0o1000;
const O_EXCL = 0o200;
const O_NOFOLLOW = 0o400000;

/** The SQEs of a chain, by index (an empty file skips READ and WRITE: its closes are 2 and 3). */
export const COPY_OPEN_SRC = 0;
export const COPY_OPEN_DST = 1;
export const COPY_READ = 2;
export const COPY_WRITE = 3;

/** What a CopyChainOp copies and reports to. `index` and `lane` are the sink's own numbers, passed back as given. */
export interface CopyChainSink {
  /** IOSQE_CQE_SKIP_SUCCESS where the ring has IORING_FEAT_CQE_SKIP, else 0: set on the opens and the read. */
  readonly cqeSkip: number;
  /** The directory descriptors the paths are relative to (AT_FDCWD: the current directory). */
  readonly srcDirFd: number;
  readonly dstDirFd: number;
  /** The address of file `index`'s source path, NUL-terminated. */
  srcAddress(index: number): number;
  /** The address of file `index`'s destination path, NUL-terminated. */
  dstAddress(index: number): number;
  /** The address of lane `lane`'s buffer (at least as long as any `size` given to a chain on it). */
  laneAddress(lane: number): number;
  /** Every CQE of `op` is in, or the runtime gave it up (`op.lostError`). Called once. */
  copyChainDone(op: CopyChainOp): void;
}

/**
 * Copies `size` bytes (the whole file, as statx found it) from the source
 * to the destination of file `index`, through lane `lane`'s buffer. The
 * destination is created with `mode` (the umask applies, as to cp's), or
 * truncated if it exists; with `excl` an existing destination fails the
 * open (EEXIST). The results are in `res` (by SQE index) when the sink
 * hears of it.
 */
export class CopyChainOp extends ChainOp {
  /** Each SQE's result (by the COPY_* indices; the closes' at `closeSrc`), -ECANCELED for those a failed soft link cancelled. */
  openSrcRes = 0;
  openDstRes = 0;
  /** `size` until the read's CQE says otherwise (with cqeSkip a whole read posts none). */
  readRes: number;
  writeRes = 0;
  closeSrcRes = 0;
  closeDstRes = 0;
  /** The runtime gave the op up (closed): its CQEs will not come, and the kernel may still use the lane's buffer. */
  lostError: Error | undefined = undefined;
  /** The skipped CQEs of the links that succeeded are counted off (unposted). */
  #skipCounted = false;
  constructor(
    readonly sink: CopyChainSink,
    readonly index: number,
    readonly size: number,
    readonly mode: number,
    readonly excl: boolean,
    readonly srcSlot: number,
    readonly dstSlot: number,
    readonly lane: number,
  ) {
    super(size === 0 ? 4 : 6, 'soft');
    this.readRes = size;
  }

  /** The links that skip their CQE on success: both opens and the read (an empty file: the opens). */
  get #skipping(): number {
    return this.size === 0 ? 2 : 3;
  }

  /** A soft link failed (an open, or the read: failed or short): the closes did not run. */
  get cut(): boolean {
    return this.openSrcRes < 0 || this.openDstRes < 0 || this.readRes !== this.size;
  }

  override unposted(link: number, _res: number): number {
    if (this.sink.cqeSkip === 0) return 0;
    const n = this.#skipping;
    // A skipping link's CQE: it failed, and nothing else of the chain posts.
    if (link < n) return this.links - 1;
    if (this.#skipCounted) return 0;
    this.#skipCounted = true;
    return n;
  }

  prepLink(sqe: Sqe, link: number): void {
    const s = this.sink;
    const closeSrc = this.links - 2;
    if (link === COPY_OPEN_SRC) {
      // No O_CLOEXEC on a direct descriptor: the kernel refuses it (EINVAL).
      sqe.prepRw(IORING_OP_OPENAT, s.srcDirFd, s.srcAddress(this.index), 0, 0);
      sqe.opFlags = 0; // O_RDONLY
      sqe.fileIndex = this.srcSlot + 1;
      sqe.flags = s.cqeSkip;
    } else if (link === COPY_OPEN_DST) {
      // O_NOFOLLOW only with excl (cp -n): O_EXCL already refuses a symlink.
      sqe.prepRw(IORING_OP_OPENAT, s.dstDirFd, s.dstAddress(this.index), this.mode, 0);
      sqe.opFlags = O_WRONLY | O_CREAT | (this.excl ? O_EXCL | O_NOFOLLOW : O_TRUNC);
      sqe.fileIndex = this.dstSlot + 1;
      sqe.flags = s.cqeSkip;
    } else if (link < closeSrc) {
      const laneAddr = s.laneAddress(this.lane);
      if (link === COPY_READ) {
        sqe.prepRw(IORING_OP_READ, this.srcSlot, laneAddr, this.size, 0);
        sqe.flags = IOSQE_FIXED_FILE | s.cqeSkip;
      } else {
        sqe.prepRw(IORING_OP_WRITE, this.dstSlot, laneAddr, this.size, 0);
        // Hard: both files are open now, and both closes must run.
        sqe.flags = IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK;
      }
    } else if (link === closeSrc) {
      sqe.prepCloseDirect(this.srcSlot);
      sqe.flags = IOSQE_IO_HARDLINK;
    } else {
      sqe.prepCloseDirect(this.dstSlot);
    }
  }

  linkResult(link: number, res: number): void {
    const closeSrc = this.links - 2;
    if (link === COPY_OPEN_SRC) this.openSrcRes = res;
    else if (link === COPY_OPEN_DST) this.openDstRes = res;
    else if (link < closeSrc) {
      if (link === COPY_READ) this.readRes = res;
      else this.writeRes = res;
    } else if (link === closeSrc) this.closeSrcRes = res;
    else this.closeDstRes = res;
  }

  chainDone(): void {
    this.sink.copyChainDone(this);
  }

  chainFailed(err: Error): void {
    this.lostError = err;
    this.sink.copyChainDone(this);
  }
}
