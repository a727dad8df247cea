// `uring cp`'s engine: a tree walked a directory at a time, every file a
// chain in the kernel.
//
// Where the old copier's time went (20,000 files of 1–16 KiB on tmpfs, 2.2 s
// against GNU cp's 0.45 s; `node --cpu-prof`): 0.8 s inside io_uring_enter
// and 0.3 s in node's fchmod, for a copy that took ten round trips through
// JavaScript per file (lstat, open, fstat, open, fstat, fchmod on the thread
// pool, read, write, close, close), sixteen files at a time, with the walk
// waiting for each lstat in turn.
//
// Here:
// - A directory is read whole (readdirSync: one getdents64 loop, no stat per
//   entry) and its entries are statted together: StatxManyOp, one SQE per
//   entry, up to STATX_GROUP per op, all in one io_uring_enter.
// - A file of at most LANE bytes is one CopyChainOp: open source, create
//   destination, read into a lane buffer, write, close both, six SQEs on
//   two direct descriptors with no JavaScript between them. LANES chains
//   are in flight. Creating a file (O_CREAT) cannot be done without
//   blocking, so the kernel runs the rest of each chain in its io-wq
//   workers: the copy uses both cores while this thread walks and submits.
// - A larger file is spliced through pipes, file -> pipe -> file, 8 MiB
//   chains of 512 KiB pieces (CopySpliceOp), two in flight per file: the
//   bytes never enter user memory and are copied once, as by GNU cp's
//   copy_file_range, where a read and a write copy them twice. Where
//   splice fails or stops short (no IORING_OP_PIPE, a file that changed),
//   the rest is read and written in CHUNK pieces, each a read→write chain
//   (CopyChunkOp), LARGE_DEPTH pieces in flight.
// - Directories' modes are fixed at the end (a directory without write
//   permission for its owner is created writable first, as cp does), and
//   with -p their times, deepest first, after everything inside is written.
import { Buffer } from 'node:buffer';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { getSystemErrorMap } from 'node:util';
import { native } from '../native.js';
import { directSlots, type DirectSlots } from '../fs/direct.js';
import { CopyChainOp, type CopyChainSink } from '../ops/copy-chain.js';
import type { CopyChunkOp, CopyChunkSink } from '../ops/copy-chunk.js';
import type { CopySpliceSink } from '../ops/copy-splice.js';
import type { SplicePipe } from '../ops/splice.js';
import { CloseDirectOp } from '../ops/close-direct.js';
import { StatxManyOp, STATX_BYTES, type StatxManySink } from '../ops/statx-many.js';
import type { Runtime } from '../runtime/runtime.js';
import { MAX_LINKS } from '../ring/user-data.js';
import {
  AT_FDCWD,
  AT_SYMLINK_NOFOLLOW,
  IORING_FEAT_CQE_SKIP,
  IOSQE_CQE_SKIP_SUCCESS,
  STATX_BASIC_STATS,
} from '../ring/uapi.js';

/** Files up to this size are one chain through a lane buffer of this size. */
export const LANE = 256 << 10;
/** Chains in flight (each holds a lane and two direct descriptors). */
const LANES = 64;
/** Paths per StatxManyOp. */
const STATX_GROUP = 64;
/** Directories read ahead of the copies: read the next one while fewer files than this wait for a lane. */
const READY_LOW = LANES * 2;
/** Larger files: pieces of CHUNK bytes, LARGE_DEPTH in flight per file, LARGE_FILES files at a time (4 MiB x 4 ran 1 GiB on tmpfs in 0.63-0.67 s, 1 MiB x 8 in 0.69-0.76 s, 256 KiB x 16 in 0.69-0.70 s). */
const CHUNK = 4 << 20;
const LARGE_DEPTH = 4;
const LARGE_FILES = 2;
/**
 * Larger files where splice works: through pipes grown to PIPE_SIZE,
 * SPLICE_PIPES chains in flight per file, each SPLICE_CHAIN bytes. `uring
 * cp` of 1 GiB on tmpfs, 5 alternating runs, CPU-s (wall s): 2 pipes x 8 MiB
 * of 1 MiB pieces 0.66 (0.85), 4 x 4 MiB 0.69 (0.80), 2 x 4 MiB 0.70 (0.88),
 * 3 x 8 MiB 0.68 (0.86); GNU cp 0.49 (1.01); 4 MiB read/write chunks x 4
 * 0.81 (1.76). The piece size is what each splice into the destination
 * writes at once: on ext4 (large folios) 1 MiB pieces copied 10x slower
 * per byte than 512 KiB ones (perf: __pi_memcpy under
 * copy_folio_from_iter_atomic, 0.83 s against 0.08 s for 1 GiB), so 512
 * KiB: on ext4 0.43 CPU-s against 1.17 for 1 MiB and 0.46 for 256 KiB (GNU
 * cp 0.30); on tmpfs 0.68 against 0.65 and 0.72 (cp 0.50).
 */
const PIPE_SIZE = 512 << 10;
const SPLICE_PIPES = 2;
const SPLICE_CHAIN = 8 << 20;

const ENXIO = -6;
/** lseek(2) whences: the next data, the next hole. */
const SEEK_DATA = 3;
const SEEK_HOLE = 4;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const O_RDONLY = 0;
const O_WRONLY = 0o1;
const O_CREAT = 0o100;
const O_EXCL = 0o200;
const O_TRUNC = 0o1000;
const O_DIRECTORY = 0o200000;
const O_PATH = 0o10000000;
const TWO32 = 4294967296;
const STX_WORDS = STATX_BYTES >> 2;
const LE = os.endianness() === 'LE';

/**
 * The modules only a file larger than LANE needs (splice, chunks, opens
 * and reads that return promises, and what they import): loaded when the
 * first such file is copied, not by every `uring cp` (seven modules of
 * start-up for a tree of small files, or one).
 */
async function loadLarge() {
  const [chunk, splice, spliceOps, open, rw] = await Promise.all([
    import('../ops/copy-chunk.js'),
    import('../ops/copy-splice.js'),
    import('../ops/splice.js'),
    import('../ops/open.js'),
    import('../ops/rw.js'),
  ]);
  return {
    CopyChunkOp: chunk.CopyChunkOp,
    CopySpliceOp: splice.CopySpliceOp,
    givePipe: spliceOps.givePipe,
    spliceSupported: spliceOps.spliceSupported,
    takePipe: spliceOps.takePipe,
    openat: open.openat,
    closeFd: open.close,
    read: rw.read,
    write: rw.write,
  };
}
let largeModules: ReturnType<typeof loadLarge> | undefined;
/** Set once loadLarge resolves: every large-file path runs after #copyLarge awaited it. */
let L: Awaited<ReturnType<typeof loadLarge>>;

export interface CopyOptions {
  recursive: boolean;
  noClobber: boolean;
  preserve: boolean;
  verbose: boolean;
}

/** Where the engine reports: each copied path (with -v), and each error (a cp-style message without the program name). */
export interface CopyReport {
  copied(from: string, to: string): void;
  error(message: string): void;
}

let errorMap: Map<number, [string, string]> | undefined;

/** strerror as cp prints it ("No such file or directory") for -errno or errno `n`. */
export function strerror(n: number): string {
  errorMap ??= getSystemErrorMap();
  const e = errorMap.get(n < 0 ? n : -n);
  if (e === undefined) return `Unknown error ${Math.abs(n)}`;
  return e[1].charAt(0).toUpperCase() + e[1].slice(1);
}

/** The message of a node or uring system error as cp prints it, else the error's message. */
export function errText(err: unknown): string {
  const errno = (err as { errno?: unknown }).errno;
  if (typeof errno === 'number') return strerror(errno);
  return err instanceof Error ? err.message : String(err);
}

/** Times of a statx struct as node's utimes takes them (seconds, with the nanoseconds as a fraction). */
function statxTime(b: Buffer, at: number): number {
  return Number(b.readBigInt64LE(at)) + b.readUInt32LE(at + 8) / 1e9;
}

/**
 * One directory's entries (or one source named on the command line): their
 * names, NUL-terminated in one buffer whose address is taken once, and
 * their statx results. The sink of the StatxManyOps and CopyChainOps on
 * them, which keep it (and so the memory the kernel reads and writes)
 * alive until their last CQE.
 *
 * A directory's entries are opened and statted relative to descriptors on
 * the source and destination directories (`srcDirFd`, `dstDirFd`), by
 * their bare names: one path component for the kernel to walk instead of
 * the whole path (__d_lookup_rcu and link_path_walk were ~5% of the copy's
 * CPU), and the same bytes serve as source and destination name. Without
 * descriptors (a source named on the command line, or the directory could
 * not be opened) the buffer holds whole paths and the fds are AT_FDCWD.
 * Paths as strings are made only when needed (messages, -v, -p, large
 * files): no two strings per file kept alive for the GC to scan.
 */
class Group implements StatxManySink, CopyChainSink {
  readonly names: Buffer;
  readonly namesAddr: number;
  readonly srcOff: Float64Array;
  readonly dstOff: Float64Array;
  readonly stx: Buffer;
  /** The statx structs as 16- and 32-bit words, in the kernel's (native) byte order: the fields read per file without Buffer's bounds-checked readers. */
  readonly #stx16: Uint16Array;
  readonly #stx32: Uint32Array;
  readonly stxAddr: number;
  /** Ops and queued files that still use the directory descriptors: closed at 0. */
  refs = 0;
  readonly cqeSkip: number;

  constructor(
    readonly engine: Engine,
    /** The directories (joined to names when the fds are directories), or '' when the names are whole paths. */
    readonly srcDir: string,
    readonly dstDir: string,
    readonly srcDirFd: number,
    readonly dstDirFd: number,
    src: string[],
    /** The destination names; undefined: the same as the source's. */
    dst: string[] | undefined,
    /** statx flags: AT_SYMLINK_NOFOLLOW while walking, 0 for a command-line source that is followed. */
    readonly statxFlags: number,
  ) {
    this.cqeSkip = engine.cqeSkip;
    const n = src.length;
    const joined = dst === undefined ? `${src.join('\0')}\0` : `${src.join('\0')}\0${dst.join('\0')}\0`;
    this.names = Buffer.from(joined);
    this.srcOff = new Float64Array(n);
    // All ASCII (as many bytes as UTF-16 units): each name is as long in
    // bytes as in characters. Otherwise find the terminators.
    const ascii = this.names.length === joined.length;
    let at = 0;
    for (let i = 0; i < n; i++) {
      this.srcOff[i] = at;
      at = ascii ? at + src[i]!.length + 1 : this.names.indexOf(0, at) + 1;
    }
    if (dst === undefined) this.dstOff = this.srcOff;
    else {
      this.dstOff = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        this.dstOff[i] = at;
        at = ascii ? at + dst[i]!.length + 1 : this.names.indexOf(0, at) + 1;
      }
    }
    this.namesAddr = native().address(this.names);
    this.stx = Buffer.allocUnsafeSlow(n * STATX_BYTES);
    this.#stx16 = new Uint16Array(this.stx.buffer, this.stx.byteOffset, (n * STATX_BYTES) >> 1);
    this.#stx32 = new Uint32Array(this.stx.buffer, this.stx.byteOffset, (n * STATX_BYTES) >> 2);
    this.stxAddr = native().address(this.stx);
  }

  #name(at: number): string {
    return this.names.toString('utf8', at, this.names.indexOf(0, at));
  }
  /** Entry `i`'s source path, as a string. */
  src(i: number): string {
    const name = this.#name(this.srcOff[i]!);
    return this.srcDir === '' ? name : join(this.srcDir, name);
  }
  /** Entry `i`'s destination path, as a string. */
  dst(i: number): string {
    const name = this.#name(this.dstOff[i]!);
    return this.dstDir === '' ? name : join(this.dstDir, name);
  }
  /** One use of the directory descriptors ended: close them after the last. */
  unref(): void {
    if (--this.refs > 0) return;
    if (this.srcDirFd !== AT_FDCWD) fs.closeSync(this.srcDirFd);
    if (this.dstDirFd !== AT_FDCWD) fs.closeSync(this.dstDirFd);
  }

  pathAddress(i: number): number {
    return this.namesAddr + this.srcOff[i]!;
  }
  srcAddress(i: number): number {
    return this.namesAddr + this.srcOff[i]!;
  }
  dstAddress(i: number): number {
    return this.namesAddr + this.dstOff[i]!;
  }
  statxAddress(i: number): number {
    return this.stxAddr + i * STATX_BYTES;
  }
  laneAddress(lane: number): number {
    return this.engine.laneAddr[lane]!;
  }
  statxManyDone(op: StatxManyOp): void {
    this.engine.statted(this, op);
  }
  copyChainDone(op: CopyChainOp): void {
    this.engine.chainDone(this, op);
  }

  // struct statx: stx_uid at byte 20, stx_gid 24, stx_mode (16 bits) 28, stx_size (64 bits) 40.
  mode(i: number): number {
    return this.#stx16[i * (STATX_BYTES >> 1) + 14]!;
  }
  size(i: number): number {
    const w = i * STX_WORDS + 10;
    // The 64-bit size as two words: low first on a little-endian machine.
    return LE ? this.#stx32[w]! + this.#stx32[w + 1]! * TWO32 : this.#stx32[w + 1]! + this.#stx32[w]! * TWO32;
  }
  uid(i: number): number {
    return this.#stx32[i * STX_WORDS + 5]!;
  }
  gid(i: number): number {
    return this.#stx32[i * STX_WORDS + 6]!;
  }
  atime(i: number): number {
    return statxTime(this.stx, i * STATX_BYTES + 64);
  }
  mtime(i: number): number {
    return statxTime(this.stx, i * STATX_BYTES + 112);
  }
}

interface Meta {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  atime: number;
  mtime: number;
}

/** Copies sources (files and, with -r, trees) on one runtime; `run` resolves when every copy and its metadata are done. */
export class Engine implements CopyChunkSink {
  files = 0;
  bytes = 0;
  failed = 0;
  /** Bytes of regular files found so far (for progress). */
  foundBytes = 0;
  foundFiles = 0;
  /** True once every directory has been read. */
  get walked(): boolean {
    return this.#dirs.length === 0 && this.#statxInFlight === 0;
  }

  readonly laneAddr: Float64Array;
  /** IOSQE_CQE_SKIP_SUCCESS for the chains' opens and reads, where the ring has IORING_FEAT_CQE_SKIP (copy-chain.ts). */
  readonly cqeSkip: number;
  readonly #laneMem: Buffer;
  readonly #freeLanes: number[] = [];
  readonly #slots: DirectSlots;
  readonly #umask: number;

  /** Directories to read: their source and destination. */
  readonly #dirs: { src: string; dst: string }[] = [];
  /** Small files statted and waiting for a lane, as (group, index) pairs from #readyHead on. */
  #readyGroup: Group[] = [];
  #readyIndex: number[] = [];
  #readyHead = 0;
  readonly #large: { g: Group; i: number }[] = [];
  /** Directories made, for their mode (and with -p, owner and times) at the end, in the order made. */
  readonly #dirMeta: Meta[] = [];

  #statxInFlight = 0;
  #chains = 0;
  #largeRunning = 0;
  #cleanups = 0;
  #metaPending = 0;
  #waitingForSlots = false;
  #pumping = false;
  #again = false;
  #finished = false;
  #resolve!: () => void;
  readonly done: Promise<void>;
  readonly #chunkBufs: Buffer[] = [];
  #spliceOk: boolean | undefined;

  constructor(
    readonly runtime: Runtime,
    readonly opts: CopyOptions,
    readonly report: CopyReport,
  ) {
    this.#slots = directSlots(runtime);
    this.cqeSkip = runtime.ring.features & IORING_FEAT_CQE_SKIP ? IOSQE_CQE_SKIP_SUCCESS : 0;
    if (this.#slots.size < 2) throw this.#slots.unavailable ?? new Error('no direct descriptors');
    // Buffers on a cache line (lanes.ts: misaligned reads ran slower).
    this.#laneMem = Buffer.allocUnsafeSlow(LANES * LANE + 64);
    const base = native().address(this.#laneMem);
    const start = (64 - (base % 64)) % 64;
    this.laneAddr = new Float64Array(LANES);
    for (let l = LANES - 1; l >= 0; l--) {
      this.laneAddr[l] = base + start + l * LANE;
      this.#freeLanes.push(l);
    }
    const u = process.umask();
    this.#umask = u;
    this.done = new Promise((res) => (this.#resolve = res));
  }

  #fail(message: string): void {
    this.failed++;
    this.report.error(message);
  }

  // ------------------------------------------------------------ the sources

  /** Adds a source named on the command line, to be copied to `to`. */
  addSource(from: string, to: string): void {
    let st: fs.Stats;
    try {
      st = this.opts.recursive ? fs.lstatSync(from) : fs.statSync(from);
    } catch (err) {
      this.#fail(`cannot stat '${from}': ${errText(err)}`);
      return;
    }
    let dst: fs.Stats | undefined;
    try {
      dst = fs.statSync(to);
    } catch {
      dst = undefined;
    }
    if (dst !== undefined && dst.dev === st.dev && dst.ino === st.ino && !st.isSymbolicLink()) {
      this.#fail(`'${from}' and '${to}' are the same file`);
      return;
    }
    if (st.isDirectory()) {
      if (!this.opts.recursive) {
        this.#fail(`-r not specified; omitting directory '${from}'`);
        return;
      }
      if (dst !== undefined && !dst.isDirectory()) {
        this.#fail(`cannot overwrite non-directory '${to}' with directory '${from}'`);
        return;
      }
      this.#makeDir(from, to, st.mode, st.uid, st.gid, st.atimeMs / 1000, st.mtimeMs / 1000);
      return;
    }
    const g = new Group(this, '', '', AT_FDCWD, AT_FDCWD, [from], [to], this.opts.recursive ? AT_SYMLINK_NOFOLLOW : 0);
    this.#statx(g, 0, 1);
  }

  /** Starts the work; `done` resolves when all of it has finished. */
  start(): Promise<void> {
    this.#pump();
    return this.done;
  }

  // -------------------------------------------------------------- the walk

  /** mkdir (merging into an existing directory), then the directory is read later. */
  #makeDir(from: string, to: string, mode: number, uid: number, gid: number, atime: number, mtime: number): void {
    const perm = mode & 0o7777;
    try {
      // Writable by its owner until the end, whatever its mode (cp does so too).
      fs.mkdirSync(to, perm | 0o700);
      this.#dirMeta.push({ path: to, mode: perm, uid, gid, atime, mtime });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      let isDir = false;
      if (code === 'EEXIST') {
        try {
          isDir = fs.statSync(to).isDirectory();
        } catch {
          // no destination yet: not a directory
        }
      }
      if (!isDir) {
        this.#fail(
          code === 'EEXIST'
            ? `cannot overwrite non-directory '${to}' with directory '${from}'`
            : `cannot create directory '${to}': ${errText(err)}`,
        );
        return;
      }
      // An existing directory keeps its mode, unless -p.
      if (this.opts.preserve) this.#dirMeta.push({ path: to, mode: perm, uid, gid, atime, mtime });
    }
    this.#dirs.push({ src: from, dst: to });
  }

  /** Reads one directory and stats its entries. */
  #readDir(): void {
    const { src, dst } = this.#dirs.pop()!;
    let names: string[];
    try {
      names = fs.readdirSync(src);
    } catch (err) {
      this.#fail(`cannot access '${src}': ${errText(err)}`);
      return;
    }
    if (names.length === 0) return;
    let g: Group;
    let srcFd = -1;
    try {
      srcFd = fs.openSync(src, O_RDONLY | O_DIRECTORY);
      const dstFd = fs.openSync(dst, O_PATH | O_DIRECTORY);
      g = new Group(this, src, dst, srcFd, dstFd, names, undefined, AT_SYMLINK_NOFOLLOW);
    } catch {
      // Out of descriptors, say: whole paths from the current directory.
      if (srcFd >= 0) fs.closeSync(srcFd);
      g = new Group(
        this,
        '',
        '',
        AT_FDCWD,
        AT_FDCWD,
        names.map((n) => join(src, n)),
        names.map((n) => join(dst, n)),
        AT_SYMLINK_NOFOLLOW,
      );
    }
    for (let i = 0; i < names.length; i += STATX_GROUP) this.#statx(g, i, Math.min(STATX_GROUP, names.length - i));
  }

  #statx(g: Group, first: number, count: number): void {
    this.#statxInFlight++;
    g.refs++;
    this.runtime.submit(new StatxManyOp(g, first, count, g.srcDirFd, g.statxFlags, STATX_BASIC_STATS));
  }

  /** A StatxManyOp's results: each entry goes where its type says. */
  statted(g: Group, op: StatxManyOp): void {
    this.#statxInFlight--;
    for (let k = 0; k < op.res.length; k++) {
      const i = op.first + k;
      if (op.lostError) {
        this.#fail(`cannot stat '${g.src(i)}': ${errText(op.lostError)}`);
        continue;
      }
      const res = op.res[k]!;
      if (res < 0) {
        this.#fail(`cannot stat '${g.src(i)}': ${strerror(res)}`);
        continue;
      }
      const mode = g.mode(i);
      const type = mode & S_IFMT;
      if (type === S_IFREG) {
        const size = g.size(i);
        this.foundFiles++;
        this.foundBytes += size;
        if (size <= LANE) {
          g.refs++;
          this.#readyGroup.push(g);
          this.#readyIndex.push(i);
        } else {
          this.#large.push({ g, i });
        }
      } else if (type === S_IFDIR) {
        this.#makeDir(g.src(i), g.dst(i), mode, g.uid(i), g.gid(i), g.atime(i), g.mtime(i));
      } else if (type === S_IFLNK) {
        this.#copyLink(g, i);
      } else {
        this.#fail(`skipping '${g.src(i)}': not a regular file`);
      }
    }
    // A lost op leaves the descriptors open: the kernel may still use them.
    if (!op.lostError) g.unref();
    this.#pump();
  }

  #copyLink(g: Group, i: number): void {
    const from = g.src(i);
    const to = g.dst(i);
    try {
      const target = fs.readlinkSync(from);
      try {
        fs.symlinkSync(target, to);
      } catch (err) {
        // cp -r replaces an existing destination (but not with -n).
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || this.opts.noClobber) throw err;
        fs.unlinkSync(to);
        fs.symlinkSync(target, to);
      }
    } catch (err) {
      this.#fail(`cannot create symbolic link '${to}': ${errText(err)}`);
      return;
    }
    this.files++;
    if (this.opts.verbose) this.report.copied(from, to);
    if (this.opts.preserve) {
      const uid = g.uid(i);
      const gid = g.gid(i);
      const atime = g.atime(i);
      const mtime = g.mtime(i);
      this.#metaPending++;
      fs.lchown(to, uid, gid, () => {
        fs.lutimes(to, atime, mtime, () => {
          this.#metaPending--;
          this.#pump();
        });
      });
    }
  }

  // ---------------------------------------------------------- the pump

  /** Reads directories while few files wait, starts chains while lanes and slots are free, and finishes. */
  #pump(): void {
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#again = false;
        this.#pumpOnce();
      } while (this.#again);
    } finally {
      this.#pumping = false;
    }
    this.#maybeFinish();
  }

  #pumpOnce(): void {
    const rt = this.runtime;
    while (this.#dirs.length > 0 && this.#readyGroup.length - this.#readyHead < READY_LOW && this.#statxInFlight < 4)
      this.#readDir();
    const slots = this.#slots;
    const excl = this.opts.noClobber;
    while (this.#freeLanes.length > 0 && this.#readyHead < this.#readyGroup.length) {
      if (slots.available < 2) {
        if (!this.#waitingForSlots) {
          this.#waitingForSlots = true;
          slots.whenFree(() => {
            this.#waitingForSlots = false;
            this.#pump();
          });
        }
        break;
      }
      const h = this.#readyHead++;
      const g = this.#readyGroup[h]!;
      const i = this.#readyIndex[h]!;
      const lane = this.#freeLanes.pop()!;
      const s = slots.alloc();
      const d = slots.alloc();
      this.#chains++;
      rt.submit(new CopyChainOp(g, i, g.size(i), g.mode(i) & 0o777, excl, s, d, lane));
    }
    if (this.#readyHead > 4096 && this.#readyHead * 2 > this.#readyGroup.length) {
      this.#readyGroup = this.#readyGroup.slice(this.#readyHead);
      this.#readyIndex = this.#readyIndex.slice(this.#readyHead);
      this.#readyHead = 0;
    }
    while (this.#largeRunning < LARGE_FILES && this.#large.length > 0) {
      const { g, i } = this.#large.shift()!;
      this.#largeRunning++;
      const counted = { n: 0 };
      this.#copyLarge(g.src(i), g.dst(i), g.size(i), g.mode(i) & 0o777, counted).then((ok) => {
        this.#largeRunning--;
        if (ok) this.#copiedOne(g, i, g.size(i), counted.n);
        this.#pump();
      });
    }
  }

  #maybeFinish(): void {
    if (this.#finished) return;
    if (
      this.#dirs.length > 0 ||
      this.#statxInFlight > 0 ||
      this.#readyHead < this.#readyGroup.length ||
      this.#large.length > 0
    )
      return;
    if (this.#chains > 0 || this.#largeRunning > 0 || this.#cleanups > 0 || this.#metaPending > 0) return;
    this.#finished = true;
    this.#finishDirs().then(() => this.#resolve());
  }

  /** Directories' modes (and with -p owners and times), deepest first: after everything in them is written. */
  async #finishDirs(): Promise<void> {
    const p = fs.promises;
    for (let k = this.#dirMeta.length - 1; k >= 0; k--) {
      const m = this.#dirMeta[k]!;
      try {
        if (this.opts.preserve) {
          await p.chown(m.path, m.uid, m.gid).catch(ignoreEperm);
          await p.chmod(m.path, m.mode);
          await p.utimes(m.path, m.atime, m.mtime);
        } else if ((m.mode & 0o700) !== 0o700) {
          await p.chmod(m.path, m.mode & ~this.#umask);
        }
      } catch (err) {
        this.#fail(`preserving permissions for '${m.path}': ${errText(err)}`);
      }
    }
  }

  // ------------------------------------------------------ small files

  /** A CopyChainOp's six (or four) CQEs are in. */
  chainDone(g: Group, op: CopyChainOp): void {
    this.#chains--;
    const i = op.index;
    if (op.lostError) {
      // The runtime closed: the kernel may still hold the lane and slots; never reuse them.
      this.#fail(`cannot copy '${g.src(i)}': ${errText(op.lostError)}`);
      this.#pump();
      return;
    }
    this.#freeLanes.push(op.lane);
    g.unref();
    if (op.cut) {
      // A soft link failed before the closes: close whichever file was opened, then free the slots.
      // (A link after a failed one reports 0, having posted nothing, with cqeSkip.)
      this.#cleanup(op.srcSlot, op.openSrcRes >= 0);
      this.#cleanup(op.dstSlot, op.openSrcRes >= 0 && op.openDstRes >= 0);
    } else {
      this.#slots.release(op.srcSlot);
      this.#slots.release(op.dstSlot);
    }
    const size = op.size;
    if (op.openSrcRes < 0) this.#fail(`cannot open '${g.src(i)}' for reading: ${strerror(op.openSrcRes)}`);
    else if (op.openDstRes < 0)
      this.#fail(
        this.opts.noClobber && op.openDstRes === -17
          ? `not replacing '${g.dst(i)}'`
          : `cannot create regular file '${g.dst(i)}': ${strerror(op.openDstRes)}`,
      );
    else if (size > 0 && op.readRes < 0) this.#fail(`error reading '${g.src(i)}': ${strerror(op.readRes)}`);
    else if (size > 0 && op.writeRes < 0) this.#fail(`error writing '${g.dst(i)}': ${strerror(op.writeRes)}`);
    else if (size > 0 && (op.readRes < size || op.writeRes < size)) {
      // The file shrank since statx, or a write was short: copy it again the long way, to its end.
      this.#largeRunning++;
      this.#copyLarge(g.src(i), g.dst(i), -1, g.mode(i) & 0o777, { n: 0 }).then((ok) => {
        this.#largeRunning--;
        if (ok) this.#copiedOne(g, i, size);
        this.#pump();
      });
    } else this.#copiedOne(g, i, size);
    this.#pump();
  }

  #cleanup(slot: number, open: boolean): void {
    if (!open) {
      this.#slots.release(slot);
      return;
    }
    this.#cleanups++;
    this.runtime.submit(
      new CloseDirectOp(slot, (_res, lost) => {
        this.#cleanups--;
        if (!lost) this.#slots.release(slot);
        this.#pump();
      }),
    );
  }

  /** File `i` is copied; `counted` of its `size` bytes are in `bytes` already (progress on a large file). */
  #copiedOne(g: Group, i: number, size: number, counted = 0): void {
    this.files++;
    this.bytes += size - counted;
    if (this.opts.verbose) this.report.copied(g.src(i), g.dst(i));
    if (this.opts.preserve) this.#preserve(g.dst(i), g.mode(i) & 0o7777, g.uid(i), g.gid(i), g.atime(i), g.mtime(i));
  }

  /** -p on a file: owner (when allowed), then mode (chown clears set-id bits), then times. */
  #preserve(path: string, mode: number, uid: number, gid: number, atime: number, mtime: number): void {
    this.#metaPending++;
    const fail = (err: unknown) => this.#fail(`preserving times for '${path}': ${errText(err)}`);
    fs.chown(path, uid, gid, (err) => {
      if (err && err.code !== 'EPERM' && err.code !== 'EINVAL') fail(err);
      fs.chmod(path, mode, (err2) => {
        if (err2) fail(err2);
        fs.utimes(path, atime, mtime, (err3) => {
          if (err3) fail(err3);
          this.#metaPending--;
          this.#pump();
        });
      });
    });
  }

  // ------------------------------------------------------ large files

  #chunkWaiters = new Map<number, (op: CopyChunkOp) => void>();
  #chunkSeq = 0;

  copyChunkDone(op: CopyChunkOp): void {
    const w = this.#chunkWaiters.get(op.lane);
    this.#chunkWaiters.delete(op.lane);
    w?.(op);
  }

  #chunkBuf(): Buffer {
    return this.#chunkBufs.pop() ?? alignedBuffer(CHUNK);
  }

  /**
   * A file through regular descriptors, CHUNK bytes at a time, LARGE_DEPTH
   * chunks in flight; read to its end (`size` is what statx said, -1 if
   * not to be trusted). True when copied; errors are reported here.
   */
  async #copyLarge(from: string, to: string, size: number, mode: number, counted: { n: number }): Promise<boolean> {
    L ??= await (largeModules ??= loadLarge());
    const { openat, closeFd } = L;
    let ifd = -1;
    let ofd = -1;
    let ok: boolean;
    try {
      try {
        ifd = await openat(from, O_RDONLY, 0, { runtime: this.runtime, own: true });
      } catch (err) {
        this.#fail(`cannot open '${from}' for reading: ${errText(err)}`);
        return false;
      }
      try {
        ofd = await openat(to, O_WRONLY | O_CREAT | (this.opts.noClobber ? O_EXCL : O_TRUNC), mode, {
          runtime: this.runtime,
          own: true,
        });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        this.#fail(
          this.opts.noClobber && code === 'EEXIST'
            ? `not replacing '${to}'`
            : `cannot create regular file '${to}': ${errText(err)}`,
        );
        return false;
      }
      // Splice as far as it goes (the data of a sparse file only, leaving
      // its holes holes, as GNU cp does); read and write the rest, to the
      // end of the file wherever it is now.
      const from0 = size > 0 ? await this.#spliceFile(ifd, ofd, size, counted) : 0;
      if (from0 === size && size > 0) {
        // The length, where the file ends in a hole (nothing written there).
        const err = await truncateTo(ofd, size);
        if (err !== null) {
          this.#fail(`error writing '${to}': ${errText(err)}`);
          return false;
        }
      }
      const got = await this.#copyChunks(from, to, ifd, ofd, size < 0 ? -1 : size - from0, from0);
      ok = got.ok;
      // The destination is what a copy front to back leaves: a prefix of the
      // source. Pieces are written out of order (two splice chains, several
      // chunks in flight), so one past a failure (ENOSPC), or past the end
      // of a file that shrank meanwhile, is cut off, rather than leave bytes
      // after a hole that a sequential copy never wrote.
      if (!ok || got.at < size) await truncateTo(ofd, got.at);
    } finally {
      for (const fd of [ifd, ofd]) if (fd >= 0) await closeFd(fd, { runtime: this.runtime }).catch(() => {});
    }
    return ok;
  }

  /**
   * Reads and writes from `start` to the end of the file. `at`: where the
   * file ended, or on a failure where the bytes written stop being whole
   * (everything before it is copied).
   */
  async #copyChunks(
    from: string,
    to: string,
    ifd: number,
    ofd: number,
    size: number,
    start = 0,
  ): Promise<{ ok: boolean; at: number }> {
    let next = start;
    let eof = false;
    let end = Infinity;
    let failAt = Infinity;
    let error: string | undefined;
    const depth = size < 0 ? 1 : Math.max(1, Math.min(LARGE_DEPTH, Math.ceil(size / CHUNK)));
    const worker = async () => {
      const buf = this.#chunkBuf();
      const addr = native().address(buf);
      try {
        while (!eof && error === undefined) {
          const pos = next;
          next += CHUNK;
          const id = this.#chunkSeq++;
          const op = await new Promise<CopyChunkOp>((res) => {
            this.#chunkWaiters.set(id, res);
            this.runtime.submit(new L.CopyChunkOp(this, ifd, ofd, addr, CHUNK, pos, id));
          });
          // Keep the buffer referenced until the op's last CQE (it is: `buf` is live in this frame).
          if (op.lostError) {
            failAt = Math.min(failAt, pos);
            error ??= `error reading '${from}': ${errText(op.lostError)}`;
            return;
          }
          if (op.readRes < 0) {
            failAt = Math.min(failAt, pos);
            error ??= `error reading '${from}': ${strerror(op.readRes)}`;
            return;
          }
          let got = op.readRes;
          let put = op.writeRes > 0 ? op.writeRes : 0;
          if (got < CHUNK) {
            // Short: the end of the file, or a read cut short; read the rest of the chunk, then write what was not.
            let more = got;
            while (more > 0 && got < CHUNK) {
              more = await this.#rw(true, ifd, buf, got, CHUNK - got, pos + got);
              if (more < 0) {
                failAt = Math.min(failAt, pos + put);
                error ??= `error reading '${from}': ${strerror(more)}`;
                return;
              }
              got += more;
            }
            if (got < CHUNK) {
              eof = true;
              end = Math.min(end, pos + got);
            }
          } else if (op.writeRes < 0) {
            failAt = Math.min(failAt, pos);
            error ??= `error writing '${to}': ${strerror(op.writeRes)}`;
            return;
          }
          while (put < got) {
            const n = await this.#rw(false, ofd, buf, put, got - put, pos + put);
            if (n <= 0) {
              failAt = Math.min(failAt, pos + put);
              error ??= `error writing '${to}': ${strerror(n < 0 ? n : -28)}`;
              return;
            }
            put += n;
          }
        }
      } finally {
        this.#chunkBufs.push(buf);
      }
    };
    await Promise.all(Array.from({ length: depth }, worker));
    if (error !== undefined) {
      this.#fail(error);
      return { ok: false, at: failAt };
    }
    return { ok: true, at: end };
  }

  /**
   * Splices the file's data (#copySpliced): all of it, or of a sparse file
   * (SEEK_HOLE finds a hole before `size`) each extent SEEK_DATA finds, so
   * the destination (created empty) keeps the holes. Resolves with `size`
   * when all is copied, else where the read/write path must go on from.
   */
  async #spliceFile(ifd: number, ofd: number, size: number, counted: { n: number }): Promise<number> {
    const n = native();
    const hole = n.lseek(ifd, 0, SEEK_HOLE);
    // No hole before the end (or no SEEK_HOLE here): one range.
    if (hole < 0 || hole >= size) return this.#copySpliced(ifd, ofd, 0, size, counted);
    let pos = 0;
    while (pos < size) {
      const data = n.lseek(ifd, pos, SEEK_DATA);
      // ENXIO: no data from `pos` on (the rest is a hole, or the file shrank).
      if (data === ENXIO) break;
      if (data < 0) return pos;
      if (data >= size) break;
      const h = n.lseek(ifd, data, SEEK_HOLE);
      const end = h < 0 ? size : Math.min(h, size);
      if (end <= data) return data;
      const got = await this.#copySpliced(ifd, ofd, data, end, counted);
      if (got < end) return got;
      pos = end;
    }
    return size;
  }

  /** An empty pipe of at least 64 KiB from the thread's pool, or undefined (no splice here, or no pipe to be had). */
  async #takePipe(): Promise<SplicePipe | undefined> {
    this.#spliceOk ??= L.spliceSupported(this.runtime);
    if (!this.#spliceOk) return undefined;
    try {
      return await L.takePipe(PIPE_SIZE, { runtime: this.runtime });
    } catch {
      return undefined;
    }
  }

  /**
   * Splices [from, size) of the file through up to SPLICE_PIPES pipes, each a chain of
   * pieces (CopySpliceOp). Resolves with where the read/write path must go
   * on from: `size` when every piece moved whole, else the start of the
   * first piece that did not (a file that shrank or grew, a file system
   * that cannot splice, an error: the read/write path copies from there to
   * the end and reports what fails). Whole chains are added to `bytes` and
   * `counted` as they finish. A pipe whose chain stopped short may
   * hold bytes: it is closed, not reused.
   */
  async #copySpliced(ifd: number, ofd: number, from: number, size: number, counted: { n: number }): Promise<number> {
    const want = Math.min(SPLICE_PIPES, Math.ceil((size - from) / PIPE_SIZE));
    const pipes: SplicePipe[] = [];
    for (let k = 0; k < want; k++) {
      const p = await this.#takePipe();
      if (p === undefined) break;
      pipes.push(p);
    }
    if (pipes.length === 0) return from;
    return new Promise((resolve) => {
      let next = from;
      let resume = size;
      let running = 0;
      const sink: CopySpliceSink = {
        copySpliceDone: (op) => {
          running--;
          const p = pipes[op.lane]!;
          let whole = op.lostError === undefined;
          for (let k = 0; whole && k < op.pairs; k++) {
            const len = op.pairLen(k);
            if (op.res[2 * k] !== len || op.res[2 * k + 1] !== len) {
              whole = false;
              resume = Math.min(resume, op.pairPos(k) + Math.max(0, op.res[2 * k + 1]!));
            }
          }
          if (whole) {
            // Progress as the file goes, not only when it is done.
            const moved = Math.min(size, op.pos + op.pairs * op.len) - op.pos;
            this.bytes += moved;
            counted.n += moved;
          }
          if (op.lostError !== undefined) {
            // The runtime closed: the kernel may still hold the pipe; leave it open.
            resume = Math.min(resume, op.pos);
          } else if (!whole) L.givePipe(p, false);
          else if (next < resume) {
            start(op.lane);
            return;
          } else L.givePipe(p, true);
          if (running === 0) resolve(resume);
        },
      };
      const start = (lane: number) => {
        const p = pipes[lane]!;
        const pos = next;
        // A 64 KiB pipe (F_SETPIPE_SZ refused) would want 128 pairs: a chain holds at most MAX_LINKS SQEs.
        const most = Math.min(Math.max(1, Math.floor(SPLICE_CHAIN / p.size)), MAX_LINKS >> 1);
        const pairs = Math.min(most, Math.ceil((size - pos) / p.size));
        next += pairs * p.size;
        running++;
        this.runtime.submit(new L.CopySpliceOp(sink, ifd, ofd, p.r, p.w, pos, p.size, pairs, size, lane));
      };
      // More pipes than pieces (smaller pipes than hoped): the spare ones go back.
      for (let lane = 0; lane < pipes.length; lane++)
        if (next < size) start(lane);
        else L.givePipe(pipes[lane]!, true);
    });
  }

  /** One read or write of a chunk's rest (rare: short transfers), as -errno or bytes. */
  async #rw(isRead: boolean, fd: number, buf: Buffer, off: number, len: number, pos: number): Promise<number> {
    try {
      const o = { offset: off, length: len, position: pos, runtime: this.runtime };
      return isRead ? await L.read(fd, buf, o) : await L.write(fd, buf, o);
    } catch (err) {
      const errno = (err as { errno?: number }).errno;
      return typeof errno === 'number' ? (errno < 0 ? errno : -errno) : -5;
    }
  }
}

/** ftruncate(2) of `fd` to `len` bytes: null, or the error. */
function truncateTo(fd: number, len: number): Promise<Error | null> {
  return new Promise((resolve) => fs.ftruncate(fd, len, (err) => resolve(err)));
}

function ignoreEperm(err: NodeJS.ErrnoException): void {
  if (err.code !== 'EPERM' && err.code !== 'EINVAL') throw err;
}

/** `size` bytes on a cache line, kept alive by the returned view's buffer. */
function alignedBuffer(size: number): Buffer {
  const raw = Buffer.allocUnsafeSlow(size + 63);
  const addr = native().address(raw);
  const start = (64 - (addr % 64)) % 64;
  return raw.subarray(start, start + size);
}
