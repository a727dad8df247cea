// readFiles: many whole files in one go. Each file is one linked chain in the
// kernel,
//
//   openat(path) into direct descriptor s --HARDLINK--> read(s, buf, bufferSize + 1) --HARDLINK--> close(s)
//
// three SQEs written together and run back to back by the kernel, with no
// trip through JavaScript in between. The links are hard: a read shorter
// than asked (every file smaller than the buffer) ends a soft IO_LINK chain
// and would cancel the close (DESIGN.md). When the open fails, the read and
// the close still run and fail at once on the empty slot (EBADF); the
// open's own error is the one reported.
//
// As many chains are in flight as there are lanes (`concurrency`) and free
// direct slots; a chain that completes starts the next file from inside the
// completion loop, so the SQEs of a whole drained batch go to the kernel in
// the next io_uring_enter. A chain is one op (a ChainOp: one object, one
// table slot for its three SQEs) that reports to the batch when its last
// CQE is in, not a Promise.
//
// Each lane has a read buffer of bufferSize + 1 bytes (passed on to the
// next batch, weakly held, once this one has no files left to start). A file that fills at
// least half of it keeps it (the lane gets a new one): the kernel's copy is
// the only one. A smaller file is copied out and the lane's buffer reused:
// a file of at most SMALL_MAX bytes into a chunk shared with other small
// results (an ArrayBuffer per 4 KiB file cost more than reading it), a
// larger one into a Buffer of its exact size. No two results overlap.
//
// Small files are usually not copied at all: once some have been read, each
// new chain reserves a place in the chunk as large as recent small files
// were and reads with readv into that place first and its lane buffer
// after it (bufferSize + 1 bytes in all, so nothing about sizes has to be
// known: no statx). A file that fits is its place; one that does not is
// put together from both parts, as if no place had been reserved.
import { Buffer } from 'node:buffer';
import { markAsUntransferable } from 'node:worker_threads';
import { InvalidArgTypeError, OutOfRangeError, recaptureStack, systemError, UringClosedError } from '../errors.js';
import { native } from '../native.js';
import type { Sqe } from '../ring/sqe.js';
import {
  AT_FDCWD, IORING_ASYNC_CANCEL_ALL, IORING_ASYNC_CANCEL_FD_FIXED, IORING_OP_OPENAT, IORING_OP_READ, IORING_OP_READV,
  IOSQE_FIXED_FILE,
} from '../ring/uapi.js';
import { abortError, ChainOp, Op } from '../runtime/op.js';
import { runtimeOf, type Runtime } from '../runtime/runtime.js';
import { close as closeFd, openat, type RunOptions } from '../ops/index.js';
import { encodingOf, toPath, type PathArg } from './args.js';
import { directSlots, type DirectSlots } from './direct.js';
import { readAll } from './io.js';
import { mayUseNode, useNode } from './fallback.js';
import { nodeBatch } from './read-files-node.js';

const O_RDONLY = 0;
const TWO32 = 4294967296;

const DEFAULT_BUFFER_SIZE = 64 * 1024;
const DEFAULT_CONCURRENCY = 64;
/** Above this, a buffer per chain in flight costs more memory than the batching saves. */
const MAX_BUFFER_SIZE = 64 * 1024 * 1024;
/**
 * Read buffers start on a cache line: measured here, 64 KiB reads into a
 * 16-byte-aligned buffer ran 10% slower than into a 64-byte- or
 * page-aligned one, and page alignment was no faster than 64 bytes.
 */
const ALIGN = 64;
/**
 * Small results are cut from chunks of at most this many bytes (and no
 * more than the batch can still use): a result kept alive keeps its chunk
 * alive, so this bounds what one retained small file can hold. 4 KiB files
 * ran 10-15% more files per CPU-second than with a Buffer each.
 */
const CHUNK_SIZE = 64 * 1024;
/** Files of at most this many bytes go into a chunk; at most this much of a chunk's end goes unused. */
const SMALL_MAX = 8 * 1024;

export interface ReadFilesOptions {
  /** Decode every file with this encoding (strings instead of Buffers). */
  encoding?: BufferEncoding | null | undefined;
  /**
   * The largest file read by its chain alone, in bytes (default 64 KiB).
   * A larger file is opened again and read whole with ordinary reads. Each
   * chain in flight has a read buffer of this size (plus one byte).
   */
  bufferSize?: number | undefined;
  /** Most chains (files) in flight at once (default 64; never more than the ring's direct slots). */
  concurrency?: number | undefined;
  /** Aborting rejects at once with an AbortError; files not started are not opened, reads in flight are cancelled. */
  signal?: AbortSignal | undefined;
  /**
   * `true`: never reject for a file's error; resolve with one
   * `{ status, path, value | reason }` per path instead (Promise.allSettled's
   * shape, plus the path). Default `false`: reject with the first error, as
   * `Promise.all(paths.map((p) => readFile(p)))` would.
   */
  settle?: boolean | undefined;
  /** The runtime to use (default: this thread's). */
  runtime?: Runtime | undefined;
}

/** One file's outcome with `settle: true`: Promise.allSettled's shape, with the path. */
export type ReadFileSettled<T> =
  | { status: 'fulfilled'; path: string; value: T }
  | { status: 'rejected'; path: string; reason: Error };

type Data = Buffer | string;

/**
 * Reads many files whole, each through one linked chain
 * openat → read → close on a direct descriptor, with as many chains in
 * flight as the ring allows. Results come in the order of `paths`, each a
 * Buffer that no other result overlaps, or, with `encoding`, a string.
 * As with node's own Buffer pool, a Buffer's `buffer` can be larger than
 * the file and shared: files of at most 8 KiB are cut from chunks of at
 * most 64 KiB shared with other small files of the call (so one kept alive
 * holds at most 64 KiB), and a file of at least half of `bufferSize` keeps
 * the buffer the kernel read it into (up to twice its length). Copy a
 * result (`Buffer.from(buf)`) to hold exactly its bytes for long.
 *
 * Errors are node:fs's (`code`, `errno`, `syscall`, `path`): ENOENT or
 * EACCES from `open`, EISDIR from `read` for a directory. By default the
 * first error rejects the whole call, as `Promise.all` over `readFile` would
 * — the files not yet started are then not read at all. With `settle: true`
 * nothing rejects for a file's error: each path gets
 * `{ status: 'fulfilled', path, value }` or `{ status: 'rejected', path, reason }`,
 * the shape Promise.allSettled gives, so one missing file costs nobody the
 * others.
 *
 * A file larger than `bufferSize` fills its read buffer; it is then
 * opened again and read whole by ordinary reads (so its bytes all come from
 * one open of the file).
 *
 * @param paths The files: strings, Buffers or file: URLs.
 * @param options `encoding`, `bufferSize`, `concurrency`, `signal`, `settle`, `runtime`; a string is the encoding.
 * @returns The contents in the order of `paths`; with `settle`, one result object per path.
 * @throws {AbortError} when `signal` aborts (code ABORT_ERR, `cause` its reason).
 * @throws The first file's system error, unless `settle` is true.
 * @example
 * ```ts
 * import { readFiles } from 'uring/fs';
 * const [a, b] = await readFiles(['a.json', 'b.json'], 'utf8');
 * for (const r of await readFiles(paths, { settle: true })) {
 *   if (r.status === 'rejected') console.error(r.path, r.reason.code);
 * }
 * ```
 */
export function readFiles(paths: readonly PathArg[], options?: (ReadFilesOptions & { encoding?: null; settle?: false }) | null): Promise<Buffer[]>;
export function readFiles(paths: readonly PathArg[], options: (ReadFilesOptions & { encoding: BufferEncoding; settle?: false }) | BufferEncoding): Promise<string[]>;
export function readFiles(paths: readonly PathArg[], options: ReadFilesOptions & { encoding?: null; settle: true }): Promise<ReadFileSettled<Buffer>[]>;
export function readFiles(paths: readonly PathArg[], options: ReadFilesOptions & { encoding: BufferEncoding; settle: true }): Promise<ReadFileSettled<string>[]>;
export function readFiles(paths: readonly PathArg[], options?: ReadFilesOptions | BufferEncoding | null): Promise<(Data | ReadFileSettled<Data>)[]>;
export async function readFiles(paths: readonly PathArg[], options?: ReadFilesOptions | BufferEncoding | null): Promise<(Data | ReadFileSettled<Data>)[]> {
  try {
    const o: ReadFilesOptions = typeof options === 'string' ? { encoding: options } : (options ?? {});
    if (typeof o !== 'object') throw new InvalidArgTypeError('options', 'of type object or a string', options);
    const a = batchArgs(paths, o);
    if (a === undefined) return [];
    const settle = o.settle === true;
    const results = a.runtime === undefined
      ? await nodeBatch(a.list, a.encoding, a.concurrency, a.signal, settle, undefined)
      : await new Batch(a.runtime, a.list, a.encoding, a.bufferSize, a.concurrency, a.signal, settle, undefined).promise;
    if (settle) {
      // Errors were made in the completion loop: give them the caller's stack.
      for (const r of results as ReadFileSettled<Data>[]) if (r.status === 'rejected') recaptureStack(r.reason, readFiles);
    }
    return results;
  } catch (err) {
    throw recaptureStack(err as Error, readFiles);
  }
}

/** What forEachFile calls for each file read: its bytes (or, with `encoding`, its text), where it was in `paths`, and its path. */
export type FileCallback<T> = (data: T, index: number, path: string) => void;

export interface ForEachFileOptions {
  /** Hand each file over as a string in this encoding instead of a Buffer. */
  encoding?: BufferEncoding | null | undefined;
  /** As readFiles' (default 64 KiB): the largest file read by its chain alone, and each lane's buffer size. */
  bufferSize?: number | undefined;
  /** Most files in flight at once (default 64). */
  concurrency?: number | undefined;
  /** Aborting rejects at once with an AbortError; no callback runs after it. */
  signal?: AbortSignal | undefined;
  /**
   * Called with a file's error (ENOENT, EACCES, EISDIR, ...) instead of
   * rejecting: the other files go on. Without it, the first error rejects
   * and no file not yet started is read.
   */
  onError?: ((err: Error, index: number, path: string) => void) | undefined;
  /** The runtime to use (default: this thread's). */
  runtime?: Runtime | undefined;
}

/**
 * Reads many files whole, as readFiles does (one openat → read → close
 * chain per file on a direct descriptor, `concurrency` in flight), and hands
 * each file's bytes to `onFile` as soon as its chain is done, in the order
 * the files complete (`index` says which). Resolves once every file has
 * been handed over (or reported to `onError`).
 *
 * For work that looks at each file once and keeps nothing of it (hashing,
 * searching, parsing into something else, copying out): the bytes are a
 * view of the buffer the kernel read the file into, which is reused for the
 * next file once `onFile` returns, so no memory is allocated per file and
 * none is left for the garbage collector. **The view is valid only until
 * `onFile` returns**: copy it (`Buffer.from(data)`) to keep it. A file larger
 * than `bufferSize` is read again whole into a Buffer of its own and handed
 * over later. With `encoding`, `onFile` gets a string, which it may keep.
 * The buffer behind `data` is marked untransferable: posting it to a
 * worker with `transfer` copies it (node 20) or throws DataCloneError
 * (node 21+) rather than take memory the kernel reads the next file into.
 *
 * `onFile` is called synchronously for each file, from a microtask (not
 * from inside the ring's completion loop: it may do anything, close the
 * runtime included). If it throws, the promise rejects with that error and
 * no more files are started. A promise it returns is not awaited: an async
 * callback must copy `data` before its first `await`.
 *
 * @example
 * ```ts
 * import { createHash } from 'node:crypto';
 * import { forEachFile } from 'uring/fs';
 * const digests = new Array(paths.length);
 * await forEachFile(paths, (data, i) => {
 *   digests[i] = createHash('sha256').update(data).digest('hex');
 * });
 * ```
 */
export function forEachFile(paths: readonly PathArg[], onFile: FileCallback<Buffer>, options?: (ForEachFileOptions & { encoding?: null }) | null): Promise<void>;
export function forEachFile(paths: readonly PathArg[], onFile: FileCallback<string>, options: (ForEachFileOptions & { encoding: BufferEncoding }) | BufferEncoding): Promise<void>;
export async function forEachFile(paths: readonly PathArg[], onFile: FileCallback<Buffer> | FileCallback<string>, options?: ForEachFileOptions | BufferEncoding | null): Promise<void> {
  try {
    if (typeof onFile !== 'function') throw new InvalidArgTypeError('onFile', 'of type function', onFile);
    const o: ForEachFileOptions = typeof options === 'string' ? { encoding: options } : (options ?? {});
    if (typeof o !== 'object') throw new InvalidArgTypeError('options', 'of type object or a string', options);
    const onError = o.onError;
    if (onError !== undefined && typeof onError !== 'function') throw new InvalidArgTypeError('options.onError', 'of type function', onError);
    const a = batchArgs(paths, o);
    if (a === undefined) return;
    const each: Each = { onFile: onFile as FileCallback<Data>, onError };
    if (a.runtime === undefined) await nodeBatch(a.list, a.encoding, a.concurrency, a.signal, false, each);
    else await new Batch(a.runtime, a.list, a.encoding, a.bufferSize, a.concurrency, a.signal, false, each).promise;
  } catch (err) {
    throw recaptureStack(err as Error, forEachFile);
  }
}

interface BatchArgs {
  list: string[];
  encoding: BufferEncoding | null;
  bufferSize: number;
  concurrency: number;
  signal: AbortSignal | undefined;
  /** undefined: the drop-ins are node's here (fallback.ts), read with node:fs. */
  runtime: Runtime | undefined;
}

/** readFiles' and forEachFile's common arguments, checked; undefined for no paths. */
function batchArgs(paths: readonly PathArg[], o: ReadFilesOptions | ForEachFileOptions): BatchArgs | undefined {
  if (!Array.isArray(paths)) throw new InvalidArgTypeError('paths', 'an array of paths', paths);
  // Every index, holes too: a sparse array's missing path is an error, not
  // skipped. Plain strings are taken as they are, without making each an
  // argument name (`paths[i]`) that only an error would use.
  const list = new Array<string>(paths.length);
  for (let i = 0; i < paths.length; i++) {
    const p: unknown = paths[i];
    list[i] = typeof p === 'string' && !p.includes('\0') ? p : toPath(p, `paths[${i}]`);
  }
  const encoding = encodingOf(o);
  const bufferSize = o.bufferSize ?? DEFAULT_BUFFER_SIZE;
  if (!Number.isInteger(bufferSize) || bufferSize < 1 || bufferSize > MAX_BUFFER_SIZE) {
    throw new OutOfRangeError('options.bufferSize', `an integer >= 1 && <= ${MAX_BUFFER_SIZE}`, bufferSize);
  }
  const concurrency = o.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new OutOfRangeError('options.concurrency', 'an integer >= 1', concurrency);
  const signal = o.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new InvalidArgTypeError('options.signal', 'an instance of AbortSignal', signal);
  if (signal?.aborted) throw abortError(signal);
  if (list.length === 0) return undefined;
  // A runtime given is checked and used; without one, the node fallback may stand in for the ring.
  const runtime = o.runtime !== undefined || !(mayUseNode() && useNode()) ? runtimeOf(o.runtime) : undefined;
  return { list, encoding, bufferSize, concurrency, signal, runtime };
}

/** forEachFile's callbacks. */
interface Each {
  onFile: FileCallback<Data>;
  onError: ((err: Error, index: number, path: string) => void) | undefined;
}

// ------------------------------------------------------------------ the ops

// The chain writes its SQE fields through prepRw with addresses the batch
// resolved once (its path table, each lane's buffer), rather than through
// prepOpenatDirect / prepRead, which would encode the path and ask the
// native side for a buffer's address per file (12% more files/s without).
// The batch, reachable from the op until its last CQE, keeps the memory
// alive; a lane's buffer is replaced only after its chain's last CQE.

const OPEN = 0;
const READ = 1;

/**
 * One file in flight, as one op owning its three linked SQEs (ChainOp):
 * one table slot, one start, and one report to the batch when the last CQE
 * is in (or when the runtime gives the op up).
 */
class Chain extends ChainOp {
  openRes = 0;
  readRes = 0;
  closeRes = 0;
  /** Bytes reserved for this file in `chunk` at `chunkOff` (read there first); 0: the lane buffer only. */
  direct = 0;
  chunk: Buffer | undefined = undefined;
  chunkOff = 0;
  lostError: Error | undefined = undefined;
  constructor(readonly batch: Batch, readonly index: number, readonly path: string, readonly fileSlot: number, readonly lane: number) {
    super(3, 'hard');
  }

  prepLink(sqe: Sqe, link: number): void {
    const b = this.batch;
    if (link === OPEN) {
      // openat(AT_FDCWD, path, O_RDONLY) into direct descriptor fileSlot
      // (io_uring_prep_openat_direct). No O_CLOEXEC: a direct descriptor is
      // no process fd, and the kernel refuses the flag with EINVAL.
      sqe.prepRw(IORING_OP_OPENAT, AT_FDCWD, b.pathAddress(this.index), 0, 0);
      sqe.opFlags = O_RDONLY;
      sqe.fileIndex = this.fileSlot + 1;
    } else if (link === READ) {
      // read(slot, lane buffer, bufferSize + 1, offset 0): the one byte more
      // than the buffer size tells a file that did not fit. With a place
      // reserved in a chunk (`direct` bytes), readv into that place first
      // and the lane buffer after it, bufferSize + 1 bytes in all.
      if (this.direct > 0) sqe.prepRw(IORING_OP_READV, this.fileSlot, b.iovAddress(this.lane), 2, 0);
      else sqe.prepRw(IORING_OP_READ, this.fileSlot, b.laneAddress(this.lane), b.bufferSize + 1, 0);
      sqe.flags = IOSQE_FIXED_FILE;
    } else {
      sqe.prepCloseDirect(this.fileSlot);
    }
  }

  linkResult(link: number, res: number): void {
    if (link === OPEN) this.openRes = res;
    else if (link === READ) this.readRes = res;
    else this.closeRes = res;
  }

  chainDone(): void {
    this.batch.finish(this);
  }

  /** The runtime gave the op up (closed): its CQEs will not come to us. */
  chainFailed(err: Error): void {
    this.lostError = err;
    this.batch.finish(this);
  }
}

/** Cancels whatever is in flight on direct descriptor `slot` (an aborted batch's reads); its CQE is skipped. */
class CancelSlotOp extends Op {
  constructor(readonly fileSlot: number) {
    super();
  }
  prep(sqe: Sqe): void {
    sqe.prepCancelFd(this.fileSlot, IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_FD_FIXED);
  }
  complete(): void {}
  abandon(): void {}
}

// ------------------------------------------------------------------ a batch

class Batch {
  readonly promise: Promise<(Data | ReadFileSettled<Data>)[]>;
  #resolve!: (v: (Data | ReadFileSettled<Data>)[]) => void;
  #reject!: (e: unknown) => void;
  readonly #results: (Data | ReadFileSettled<Data>)[];
  readonly #slots: DirectSlots;
  /** Each lane's read buffer (bufferSize + 1 bytes, on a cache line; made when first needed) and its address. */
  readonly #laneBuf: (Buffer | undefined)[];
  readonly #laneAddr: Float64Array;
  /** Files of at least this many bytes keep their lane's buffer. */
  readonly #handoff: number;
  /** Every path, NUL-terminated, back to back; `#pathOff[i]` is where path i starts. */
  readonly #names: Buffer;
  readonly #pathOff: Float64Array;
  readonly #namesAddr: number;
  readonly #freeLanes: number[] = [];
  /** The chunk small results are cut from, its address, and where its free part starts. */
  #chunk: Buffer | undefined;
  #chunkAddr = 0;
  #chunkOff = 0;
  /**
   * Bytes to reserve in a chunk for the next file, read there directly
   * (no copy) if it fits: a decaying maximum of recent small files' sizes;
   * 0 (start, strings, large files): read into the lane buffer only.
   */
  #guess = 0;
  /** Per lane two iovecs (chunk place, lane buffer) for readv, and their address. */
  readonly #iov: Uint32Array;
  readonly #iovAddr: number;
  /** Chains in flight, by lane (for cancellation). */
  readonly #chains: (Chain | undefined)[];
  #next = 0;
  #settledCount = 0;
  #done = false;
  #waitingForSlot = false;
  #removeAbort: (() => void) | undefined;

  constructor(
    readonly runtime: Runtime,
    readonly paths: string[],
    readonly encoding: BufferEncoding | null,
    readonly bufferSize: number,
    concurrency: number,
    readonly signal: AbortSignal | undefined,
    readonly settle: boolean,
    /** forEachFile: each file goes to its callback (a view of its lane buffer) instead of into the results. */
    readonly each: Each | undefined,
  ) {
    this.promise = new Promise((res, rej) => {
      this.#resolve = res;
      this.#reject = rej;
    });
    this.#results = each ? [] : new Array(paths.length);
    this.#slots = directSlots(runtime);
    const direct = this.#slots.size > 0;
    const lanes = Math.min(concurrency, paths.length, direct ? this.#slots.size : Infinity);
    this.#laneBuf = new Array(lanes).fill(undefined);
    this.#laneAddr = new Float64Array(lanes);
    this.#handoff = Math.ceil((bufferSize + 1) / 2);
    // toPath refused NUL bytes, so the NULs here are exactly the terminators.
    const joined = `${paths.join('\0')}\0`;
    this.#names = Buffer.from(joined);
    this.#pathOff = new Float64Array(paths.length);
    // As many bytes as UTF-16 units: every character was ASCII (anything
    // else takes 2-4 bytes for 1-2 units), so each path is as long in
    // bytes as in characters. Otherwise find the terminators.
    const ascii = this.#names.length === joined.length;
    for (let i = 0, at = 0; i < paths.length; i++) {
      this.#pathOff[i] = at;
      at = ascii ? at + paths[i]!.length + 1 : this.#names.indexOf(0, at) + 1;
    }
    this.#namesAddr = direct ? native().address(this.#names) : 0;
    for (let i = lanes - 1; i >= 0; i--) this.#freeLanes.push(i);
    this.#chains = new Array(lanes).fill(undefined);
    this.#iov = new Uint32Array(lanes * 8);
    this.#iovAddr = direct && encoding === null ? native().address(this.#iov) : 0;
    if (signal) {
      const onAbort = () => this.#abort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#removeAbort = () => signal.removeEventListener('abort', onAbort);
    }
    if (direct) this.#pump();
    else this.#fallback(lanes);
  }

  /** The address of path `index`, NUL-terminated. */
  pathAddress(index: number): number {
    return this.#namesAddr + this.#pathOff[index]!;
  }

  /** The address of lane `lane`'s two iovecs. */
  iovAddress(lane: number): number {
    return this.#iovAddr + lane * 32;
  }

  /** The address of lane `lane`'s read buffer. */
  laneAddress(lane: number): number {
    return this.#laneAddr[lane]!;
  }

  /**
   * forEachFile hands out views of its lane buffers, which the kernel reads
   * the lane's next file into (by an address taken once). A caller that
   * transferred one (postMessage, structuredClone) would take the memory
   * with it, to be freed under the kernel: these buffers are marked
   * untransferable, so a transfer copies them (node 20) or throws (node 21+)
   * and never detaches them. readFiles' lane buffers reach the caller only
   * as a result the kernel is done with (handed off), so they stay
   * transferable, in a pool of their own.
   */
  get #exposesLanes(): boolean {
    return this.each !== undefined && this.encoding === null;
  }

  #newLaneBuffer(lane: number): void {
    const size = this.bufferSize + 1;
    const exposed = this.#exposesLanes;
    const pool = lanePool(this.runtime, size, exposed);
    while (pool.length > 0) {
      const kept = pool.pop()!;
      const buf = kept.ref.deref();
      if (buf === undefined) continue;
      this.#laneBuf[lane] = buf;
      this.#laneAddr[lane] = kept.addr;
      return;
    }
    const raw = Buffer.allocUnsafeSlow(size + ALIGN - 1);
    if (exposed) markAsUntransferable(raw.buffer);
    const addr = native().address(raw);
    const start = (ALIGN - (addr % ALIGN)) % ALIGN;
    this.#laneBuf[lane] = raw.subarray(start, start + size);
    this.#laneAddr[lane] = addr + start;
  }

  /** Lane `lane`'s buffer (the kernel done with it) to the pool, for the next batch. */
  #giveBack(lane: number): void {
    const buf = this.#laneBuf[lane];
    if (buf === undefined) return;
    this.#laneBuf[lane] = undefined;
    const pool = lanePool(this.runtime, buf.length, this.#exposesLanes);
    if (pool.length < POOL_MAX) pool.push({ ref: new WeakRef(buf), addr: this.#laneAddr[lane]! });
  }

  /** Starts chains while there are files, free lanes and free direct slots. */
  #pump(): void {
    const n = this.paths.length;
    const rt = this.runtime;
    while (!this.#done && this.#next < n && this.#freeLanes.length > 0) {
      if (rt.closed) {
        this.#fail(new UringClosedError('The runtime is closed'));
        return;
      }
      const slot = this.#slots.alloc();
      if (slot < 0) {
        if (!this.#waitingForSlot) {
          this.#waitingForSlot = true;
          this.#slots.whenFree(() => {
            this.#waitingForSlot = false;
            this.#pump();
          });
        }
        return;
      }
      const lane = this.#freeLanes.pop()!;
      if (this.#laneBuf[lane] === undefined) this.#newLaneBuffer(lane);
      const index = this.#next++;
      const chain = new Chain(this, index, this.paths[index]!, slot, lane);
      this.#chains[lane] = chain;
      if (this.#guess > 0) this.#reserve(chain, this.#guess);
      rt.submit(chain);
    }
  }

  /**
   * A chain's three CQEs are all in (or the runtime gave it up). readFiles
   * settles it now. forEachFile, whose callback is the caller's code, settles
   * it from a microtask with every other chain of the same drain: the
   * callback then runs outside the runtime's completion loop (where it could
   * not safely close the runtime or wait for anything), and the chains its
   * lanes start are written before the next io_uring_enter all the same.
   */
  finish(chain: Chain): void {
    if (this.each === undefined) {
      this.#settle(chain);
      return;
    }
    if (this.#ready.push(chain) === 1) queueMicrotask(this.#deliver);
  }

  /** forEachFile's chains finished since the last delivery. */
  #ready: Chain[] = [];
  readonly #deliver = (): void => {
    const ready = this.#ready;
    this.#ready = [];
    for (const chain of ready) this.#settle(chain);
  };

  /** Records the file, frees its slot and lane, starts the next. */
  #settle(chain: Chain): void {
    const lost = chain.lostError;
    // The close (or, if the open failed, nothing) emptied the slot. An
    // abandoned op means the runtime closed: its ring and table go with it.
    this.#slots.release(chain.fileSlot);
    this.#chains[chain.lane] = undefined;
    if (!this.#done) {
      if (lost) this.#record(chain.index, lost);
      else if (chain.openRes < 0) this.#record(chain.index, systemError(chain.openRes, 'open', { path: chain.path }));
      else if (chain.readRes < 0) this.#record(chain.index, systemError(chain.readRes, 'read', { path: chain.path }));
      else if (chain.readRes > this.bufferSize) this.#readRest(chain.index, chain.path);
      else if (this.each) this.#hand(chain.index, this.#lane(chain));
      else this.#record(chain.index, this.#take(chain, chain.readRes));
    }
    // A lane whose read was abandoned may still be written by the kernel: never reuse it.
    if (!lost) {
      this.#freeLanes.push(chain.lane);
      // No file left to start here: the buffer can serve the next batch.
      if (this.#done || this.#next >= this.paths.length) this.#giveBack(chain.lane);
    }
    // chain.closeRes: -EBADF after a failed open (the slot was empty); a
    // close of a read-only file has nothing else to report.
    this.#pump();
  }

  /**
   * Reserves `n` bytes of the current chunk for `chain`'s read: the file
   * goes there directly if it fits (readv: that place, then the lane
   * buffer). A place left partly unused stays so (the chunk's other results
   * and reads in flight are around it).
   */
  #reserve(chain: Chain, n: number): void {
    const off = this.#room(n, this.paths.length - this.#next + 1);
    const addr = this.#chunkAddr + off;
    chain.direct = n;
    chain.chunk = this.#chunk;
    chain.chunkOff = off;
    this.#chunkOff = off + align8(n);
    const iov = this.#iov;
    const w = chain.lane * 8;
    iov[w] = addr % TWO32;
    iov[w + 1] = Math.floor(addr / TWO32);
    iov[w + 2] = n;
    iov[w + 3] = 0;
    const lane = this.#laneAddr[chain.lane]!;
    iov[w + 4] = lane % TWO32;
    iov[w + 5] = Math.floor(lane / TWO32);
    iov[w + 6] = this.bufferSize + 1 - n;
    iov[w + 7] = 0;
  }

  /**
   * Where `n` bytes fit in the current chunk, starting a new one if they do
   * not: sized to what the batch may still need (`files` more, each taken
   * as `n` bytes), so a small batch holds no more.
   */
  #room(n: number, files: number): number {
    const chunk = this.#chunk;
    if (chunk !== undefined && this.#chunkOff + n <= chunk.length) return this.#chunkOff;
    const fresh = Buffer.allocUnsafeSlow(Math.max(n, Math.min(CHUNK_SIZE, files * align8(n))));
    this.#chunk = fresh;
    this.#chunkAddr = this.#iovAddr !== 0 ? native().address(fresh) : 0;
    this.#chunkOff = 0;
    return 0;
  }

  /** A small file's size, for the next reservations. */
  #learn(n: number): void {
    if (this.#iovAddr === 0 || n > SMALL_MAX || n >= this.#handoff) return;
    // A decaying maximum: same-sized files all fit; among mixed sizes most do.
    const g = this.#guess;
    this.#guess = n > g - (g >> 3) ? n : g - (g >> 3);
  }

  /** The file's `n` bytes (in its chunk place and/or its lane buffer) as a Buffer no other result overlaps (or a string). */
  #take(chain: Chain, n: number): Data {
    const buf = this.#laneBuf[chain.lane]!;
    this.#learn(n);
    const d = chain.direct;
    if (d > 0) {
      const at = chain.chunkOff;
      if (n <= d) return chain.chunk!.subarray(at, at + n);
      // Larger than its place: the first d bytes there, the rest at the start of the lane buffer.
      const out = n <= SMALL_MAX ? this.#alloc(n) : Buffer.allocUnsafeSlow(n);
      chain.chunk!.copy(out, 0, at, at + d);
      buf.copy(out, d, 0, n - d);
      return out;
    }
    if (this.encoding) return buf.toString(this.encoding, 0, n);
    if (n >= this.#handoff) {
      // The file keeps the buffer the kernel read it into; the lane gets a new one.
      this.#laneBuf[chain.lane] = undefined;
      return buf.subarray(0, n);
    }
    if (n > 0 && n <= SMALL_MAX) return this.#cut(buf, n);
    const out = Buffer.allocUnsafeSlow(n);
    buf.copy(out, 0, 0, n);
    return out;
  }

  /**
   * forEachFile: the file's bytes where the kernel put them (its lane
   * buffer, read again by the lane's next file once the callback returns),
   * or its text.
   */
  #lane(chain: Chain): Data {
    const buf = this.#laneBuf[chain.lane]!;
    const n = chain.readRes;
    return this.encoding ? buf.toString(this.encoding, 0, n) : buf.subarray(0, n);
  }

  /** forEachFile: one file (or its error) to the caller's callback, now. */
  #hand(index: number, v: Data | Error): void {
    if (this.#done) return;
    const each = this.each!;
    const path = this.paths[index]!;
    try {
      if (!(v instanceof Error)) each.onFile(v, index, path);
      else if (each.onError) each.onError(recaptureStack(v, forEachFile), index, path);
      else {
        this.#fail(v);
        return;
      }
    } catch (err) {
      // The callback threw: that is the call's outcome, and no more files start.
      this.#fail(err);
      return;
    }
    this.#settledOne();
  }

  /** The first `n` bytes of `src`, copied into the current chunk. */
  #cut(src: Buffer, n: number): Buffer {
    const out = this.#alloc(n);
    src.copy(out, 0, 0, n);
    return out;
  }

  /** `n` bytes of the current chunk (not yet written), for one result. */
  #alloc(n: number): Buffer {
    const off = this.#room(n, this.paths.length - this.#settledCount);
    // Results start on 8 bytes, as in node's Buffer pool: a Float64Array
    // over one (at its byteOffset) works.
    this.#chunkOff = off + align8(n);
    return this.#chunk!.subarray(off, off + n);
  }

  /** A file larger than bufferSize: opened again and read whole. */
  #readRest(index: number, path: string): void {
    const run: RunOptions = { runtime: this.runtime, signal: this.signal };
    readWhole(path, run).then(
      (buf) => this.#record(index, this.encoding ? buf.toString(this.encoding) : buf),
      (err: Error) => this.#record(index, err),
    );
  }

  #record(index: number, v: Data | Error): void {
    if (this.each) {
      this.#hand(index, v);
      return;
    }
    if (this.#done) return;
    const path = this.paths[index]!;
    if (v instanceof Error) {
      if (!this.settle) {
        this.#fail(v);
        return;
      }
      this.#results[index] = { status: 'rejected', path, reason: v };
    } else {
      this.#results[index] = this.settle ? { status: 'fulfilled', path, value: v } : v;
    }
    this.#settledOne();
  }

  /** One more file recorded or handed over; after the last, the call resolves. */
  #settledOne(): void {
    if (++this.#settledCount === this.paths.length) {
      this.#done = true;
      this.#removeAbort?.();
      this.#resolve(this.#results);
    }
  }

  #fail(err: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#removeAbort?.();
    this.#reject(err);
  }

  #abort(): void {
    if (this.#done) return;
    this.#fail(abortError(this.signal!));
    // Reads in flight (a slow disk) are cancelled; each chain's close still
    // runs (hard link) and frees its slot.
    for (const chain of this.#chains) {
      if (chain !== undefined) this.runtime.submit(new CancelSlotOp(chain.fileSlot));
    }
  }

  /** No direct descriptors on this ring: `lanes` workers, each reading one file at a time with regular descriptors. */
  #fallback(lanes: number): void {
    const run: RunOptions = { runtime: this.runtime, signal: this.signal };
    const worker = async (): Promise<void> => {
      while (!this.#done && this.#next < this.paths.length) {
        const index = this.#next++;
        try {
          const buf = await readWhole(this.paths[index]!, run);
          this.#record(index, this.encoding ? buf.toString(this.encoding) : buf);
        } catch (err) {
          this.#record(index, err as Error);
        }
      }
    };
    for (let i = 0; i < lanes; i++) void worker();
  }
}

/**
 * Lane buffers of finished batches, per runtime and size, for the next
 * batch: allocating 64 of 64 KiB cost more than reading 100 small files.
 * Held weakly, so they cost no memory beyond the next garbage collection;
 * only buffers whose chains' every CQE has arrived are put here.
 */
const lanePools = new WeakMap<Runtime, Map<number, { ref: WeakRef<Buffer>; addr: number }[]>>();
const POOL_MAX = 256;

/** The pool of lane buffers of `size` bytes: untransferable ones (forEachFile's, keyed -size) apart from the others. */
function lanePool(runtime: Runtime, size: number, untransferable: boolean): { ref: WeakRef<Buffer>; addr: number }[] {
  let bySize = lanePools.get(runtime);
  if (bySize === undefined) lanePools.set(runtime, (bySize = new Map()));
  const key = untransferable ? -size : size;
  let pool = bySize.get(key);
  if (pool === undefined) bySize.set(key, (pool = []));
  return pool;
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

/** open + read to end of file + close, with regular descriptors. */
async function readWhole(path: string, run: RunOptions): Promise<Buffer> {
  const fd = await openat(path, O_RDONLY, 0o666, run);
  try {
    return await readAll(fd, run);
  } finally {
    await closeFd(fd, { runtime: run.runtime });
  }
}
