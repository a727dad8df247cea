// One whole file through a direct descriptor, as one linked chain in the
// kernel:
//
//   openat(path) into direct descriptor s --HARDLINK--> read(s, buf, len) --HARDLINK--> close(s)
//
// three SQEs written together and run back to back by the kernel, with no
// trip through JavaScript in between. The links are hard: a read shorter
// than asked (every file smaller than the buffer) ends a soft IO_LINK chain
// and would cancel the close (DESIGN.md). When the open fails, the read and
// the close still run and fail at once on the empty slot (EBADF); the
// open's own error is the one to report.
//
// The op is one ChainOp (one object, one table slot for its three SQEs) and
// reports once, to its sink, when its last CQE is in: no Promise per file.
// Where the kernel can (IORING_FEAT_CQE_SKIP), a successful open posts no
// CQE: two per file (see unposted).
//
// It writes its SQE fields through prepRw with addresses its sink resolved
// once (a table of paths, each lane's buffer), rather than through
// prepOpenatDirect / prepRead, which would encode the path and ask the
// native side for a buffer's address per file (12% more files/s without).
// The sink, reachable from the op until its last CQE, keeps that memory
// alive, and must not replace a lane's buffer before the op's last CQE.
import type { Sqe } from '../ring/sqe.js';
import { AT_FDCWD, IORING_OP_OPENAT, IORING_OP_READ, IORING_OP_READV, IOSQE_FIXED_FILE } from '../ring/uapi.js';
import { ChainOp } from '../runtime/op.js';

const O_RDONLY = 0;
const OPEN = 0;
const READ = 1;

/**
 * What an OpenReadCloseOp reads from and reports to (a batch of files).
 * `index` and `lane` are the sink's own numbers, passed back as given.
 */
export interface OpenReadCloseSink {
  /** How many bytes each read asks for. */
  readonly readLength: number;
  /**
   * IOSQE_CQE_SKIP_SUCCESS (the ring has IORING_FEAT_CQE_SKIP) for the
   * open, or 0: two CQEs per file instead of three.
   */
  readonly cqeSkip: number;
  /** The address of file `index`'s path, NUL-terminated. */
  pathAddress(index: number): number;
  /** The address of lane `lane`'s read buffer (`readLength` bytes). */
  laneAddress(lane: number): number;
  /** The address of lane `lane`'s two iovecs (`placed` bytes elsewhere, then the lane buffer): for an op with `placed` > 0. */
  iovAddress(lane: number): number;
  /** Every CQE of `op` is in, or the runtime gave it up (`op.lostError`). Called once. */
  openReadCloseDone(op: OpenReadCloseOp): void;
}

/**
 * openat(path, O_RDONLY) into direct descriptor `fileSlot`, a read of
 * `sink.readLength` bytes from offset 0, and the close of the slot. The
 * three results are in `openRes`, `readRes` and `closeRes` when the sink
 * hears of it.
 */
export class OpenReadCloseOp extends ChainOp {
  openRes = 0;
  readRes = 0;
  closeRes = 0;
  /**
   * Bytes the read puts first in a place of their own, before the lane
   * buffer (a readv through the sink's iovecs for the lane); 0: one read
   * into the lane buffer. Set before the op is submitted.
   */
  placed = 0;
  /** The runtime gave the op up (closed): its CQEs will not come, and the kernel may still write the lane's buffer. */
  lostError: Error | undefined = undefined;
  constructor(
    readonly sink: OpenReadCloseSink,
    readonly index: number,
    readonly path: string,
    readonly fileSlot: number,
    readonly lane: number,
  ) {
    super(3, 'hard');
  }

  prepLink(sqe: Sqe, link: number): void {
    const s = this.sink;
    if (link === OPEN) {
      // openat(AT_FDCWD, path, O_RDONLY) into direct descriptor fileSlot
      // (io_uring_prep_openat_direct). No O_CLOEXEC: a direct descriptor is
      // no process fd, and the kernel refuses the flag with EINVAL.
      sqe.prepRw(IORING_OP_OPENAT, AT_FDCWD, s.pathAddress(this.index), 0, 0);
      sqe.opFlags = O_RDONLY;
      sqe.fileIndex = this.fileSlot + 1;
      sqe.flags = s.cqeSkip;
    } else if (link === READ) {
      if (this.placed > 0) sqe.prepRw(IORING_OP_READV, this.fileSlot, s.iovAddress(this.lane), 2, 0);
      else sqe.prepRw(IORING_OP_READ, this.fileSlot, s.laneAddress(this.lane), s.readLength, 0);
      sqe.flags = IOSQE_FIXED_FILE;
    } else {
      sqe.prepCloseDirect(this.fileSlot);
    }
  }

  /**
   * With cqeSkip, the open posts a CQE only when it fails. The read and
   * the close always post theirs: the slot is free for the next file only
   * once the close has run, and the read's CQE comes before it does (with
   * DEFER_TASKRUN the close may not even have started when the next
   * chain's open, written into the same slot, runs). A read's CQE with no
   * open's before it: the open succeeded, its CQE skipped.
   */
  override unposted(link: number, _res: number): number {
    return link === READ && this.sink.cqeSkip !== 0 && this.openRes === 0 ? 1 : 0;
  }

  linkResult(link: number, res: number): void {
    if (link === OPEN) this.openRes = res;
    else if (link === READ) this.readRes = res;
    else this.closeRes = res;
  }

  chainDone(): void {
    this.sink.openReadCloseDone(this);
  }

  chainFailed(err: Error): void {
    this.lostError = err;
    this.sink.openReadCloseDone(this);
  }
}
