// FileHandle: an open file whose every operation goes through the ring, with
// node:fs/promises' FileHandle argument forms, results and errors.
//
// Ops in flight hold the handle: close() waits for them before the
// descriptor is closed, so a read can never land on a descriptor number the
// process has since reused for another file.
import { Buffer, type NonSharedBuffer } from 'node:buffer';
import { EventEmitter, type Abortable } from 'node:events';
import * as fs from 'node:fs';
import * as nodeFsp from 'node:fs/promises';
import type { BigIntStats, Stats } from 'node:fs';
import type { ReadableWebStreamOptions } from 'node:fs/promises';
import { createInterface, type Interface } from 'node:readline';
import type { ReadableStream } from 'node:stream/web';
import { promisify } from 'node:util';
import {
  FileClosedError,
  InvalidArgTypeError,
  InvalidArgValueError,
  InvalidStateError,
  OutOfRangeError,
  recaptureStack,
  systemError,
} from '../errors.js';
import { validateInteger } from '../validate.js';
import { READ_CHECKS_POSITION, READ_CHECKS_POSITION_FIRST, READ_LENGTH_INT32 } from '../node-version.js';
import {
  close as closeFd,
  fstatx,
  fsync,
  read,
  readv,
  write,
  writev,
  ftruncate,
  fallocate,
  type RunOptions,
} from '../ops/index.js';
import { restorePosition, shortAtCurrentPosition } from '../ops/position.js';
import { readMany, writeMany, type Positions } from '../ops/rw-many.js';
import { bufferAddress, run, validateBuffer } from '../ops/common.js';
import { MAX_RW, ReadResultOp, toPosition } from '../ops/rw.js';
import { encodingOf, optionsObject, parseMode } from './args.js';
import { toBigIntStats, toStats } from './stats.js';
import { readAll, writeAll, type WriteData } from './io.js';
import { getRuntime, type Runtime } from '../runtime/runtime.js';
import { native as addon } from '../native.js';
// A cycle: streams.ts makes streams over a FileHandle. Neither module uses
// the other's exports while it is evaluated, only inside methods, so either
// may load first.
import { ReadStream, WriteStream, webStreamOf, type ReadStreamOptions, type WriteStreamOptions } from './streams.js';

/** webStreamOf's read: one op on the whole view, cancelled in the kernel by `signal`. */
export const kStreamRead = Symbol('kStreamRead');
/** True once close() has been called: a stream over the handle then stops, as node's do on the handle's 'close'. */
export const kClosing = Symbol('kClosing');
/**
 * streams.ts's own ops (read-ahead, write-behind): kHold takes the handle
 * for one op and gives its descriptor (-1 when closed or closing), kRelease
 * gives it back once the op's CQE is in (close() waits for that), and
 * kRuntime is the runtime the op goes to.
 */
export const kHold = Symbol('kHold');
export const kRelease = Symbol('kRelease');
export const kRuntime = Symbol('kRuntime');

export interface ReadResult<T extends ArrayBufferView = Buffer> {
  bytesRead: number;
  buffer: T;
}
export interface WriteResult<T> {
  bytesWritten: number;
  buffer: T;
}

type Position = number | bigint | null | undefined;
/** read's and write's options object, as node:fs/promises takes it. */
interface RwOptionsArg {
  offset?: number | null;
  length?: number | null;
  position?: Position;
}

const kDefaultReadSize = 16384;

/**
 * A position as node:fs/promises takes it: a safe integer >= 0 is an
 * offset; null, undefined, negative and non-integer numbers mean the
 * file's current position (node 20 passes those to libuv, which reads or
 * writes at the current position for any negative offset). A bigint is an
 * offset too, as node documents it (node 20's FileHandle ignores bigints
 * and uses the current position).
 */
function positionOf(p: unknown): number | bigint {
  // A bigint past the kernel's loff_t is refused (ERR_OUT_OF_RANGE) rather than wrapped.
  if (typeof p === 'bigint') return p >= 0n ? toPosition(p) : -1;
  return Number.isSafeInteger(p) && (p as number) >= 0 ? (p as number) : -1;
}

/**
 * FileHandle.read's position on a node that checks it (node-version.ts,
 * READ_CHECKS_POSITION): null and undefined are the current position; a
 * number must be an integer >= -1, a bigint lie in [-1n, 2n ** 63n - 1n -
 * length] (so position + length fits the kernel's loff_t); -1 and -1n are
 * the current position. Before node 21, read took anything as positionOf.
 */
function readPositionOf(p: unknown, length: number): number | bigint {
  if (!READ_CHECKS_POSITION || p === null || p === undefined) return positionOf(p);
  if (typeof p === 'number') {
    validateInteger(p, 'position', -1);
  } else if (typeof p === 'bigint') {
    const max = 2n ** 63n - 1n - BigInt(length);
    if (p < -1n || p > max) throw new OutOfRangeError('position', `>= -1 && <= ${max}`, p);
  } else {
    throw new InvalidArgTypeError('position', 'of type bigint or integer', p);
  }
  return positionOf(p);
}

interface RwOptions {
  offset?: unknown;
  length?: unknown;
  position?: unknown;
}

/** `{ offset = 0, length = byteLength - offset, position = null }` as node destructures an options object. */
function fromOptions(o: RwOptions, buffer: ArrayBufferView): { offset: unknown; len: unknown; pos: unknown } {
  const offset = o.offset === undefined ? 0 : o.offset;
  return {
    offset,
    // (Not computed from an offset of another type: it is refused after this.)
    len: o.length === undefined ? (typeof offset === 'number' ? buffer.byteLength - offset : undefined) : o.length,
    pos: o.position === undefined ? null : o.position,
  };
}

// node's validateInteger, for streams.ts too (one copy, in errors.ts).
export { validateInteger };

/** A system error as node reports it for readv/writev: syscall 'read'/'write' (libuv's uv_fs_read/uv_fs_write). */
function renamedSyscall(err: unknown, syscall: string): unknown {
  const errno = (err as { errno?: unknown }).errno;
  return typeof errno === 'number' ? systemError(errno, syscall) : err;
}

function byteLengthOf(buffers: readonly ArrayBufferView[]): number {
  let n = 0;
  for (const b of buffers) n += b.byteLength;
  return n;
}

/** node's validateBufferArray. */
function validateBufferArray(buffers: unknown): void {
  if (!Array.isArray(buffers) || !buffers.every((b) => ArrayBuffer.isView(b))) {
    throw new InvalidArgTypeError('buffers', 'an ArrayBufferView[]', buffers);
  }
}

/**
 * A FileHandle method called on something else rejects, as node's do (its
 * methods are async and assert their receiver): `handle.stat.call({})`.
 */
function notAFileHandle(caller: Function): Promise<never> {
  const err = new Error('handle must be an instance of FileHandle') as Error & { code: string };
  err.code = 'ERR_INTERNAL_ASSERTION';
  return Promise.reject(recaptureStack(err, caller));
}

// A FileHandle that open() gave out and nobody closed is closed when it is
// collected, with node's warnings: one 'Closing file descriptor N on garbage
// collection' per descriptor, and DEP0137 once per process (node 20, 22 and
// 24 alike). Only open()'s handles are tracked: the handles streams and
// writeFile make over a descriptor they own (or the caller's) are closed by
// them. close() unregisters before the descriptor is closed, and a transfer
// to a worker before it leaves, so the held descriptor number is closed here
// only when this handle still owned it; ops in flight hold the handle (#use,
// #opSettled), so it is never collected while one could touch the number.
const kOwned = Symbol('kOwned');
const kTransferOut = Symbol('kTransferOut');
const kTransferListOut = Symbol('kTransferListOut');

/** node's native FileHandle (internalBinding('fs').FileHandle): what a FileHandle crosses to a worker as. */
interface NativeFileHandle {
  readonly fd: number;
  releaseFD(): void;
}

let gcDeprecationEmitted = false;
const collected = new FinalizationRegistry<number>((fd) => {
  process.emitWarning(`Closing file descriptor ${fd} on garbage collection`);
  if (!gcDeprecationEmitted) {
    gcDeprecationEmitted = true;
    process.emitWarning(
      'Closing a FileHandle object on garbage collection is deprecated. ' +
        'Please close FileHandle objects explicitly using FileHandle.prototype.close(). ' +
        'In the future, an error will be thrown if a file descriptor is closed during garbage collection.',
      'DeprecationWarning',
      'DEP0137',
    );
  }
  // Given up before it is closed (see OpenatOptions.own).
  addon().disownFd(fd);
  try {
    fs.closeSync(fd);
  } catch {
    // Already gone (EBADF): nothing to close.
  }
});

export class FileHandle extends EventEmitter {
  #fd: number;
  #inflight = 0;
  #closing: Promise<void> | undefined;
  #drained: (() => void) | undefined;
  #locked = false;
  readonly #runtimeOptions: RunOptions | undefined;
  /** node's native handle made for a transfer to a worker (kTransferList), until kTransfer takes it. */
  #transferring: NativeFileHandle | undefined;

  constructor(fd: number, runtimeOptions?: RunOptions) {
    // Once adoptNodeFileHandle() has run, this is node's FileHandle
    // constructor (with no native handle): see there.
    super();
    this.#fd = fd;
    this.#runtimeOptions = runtimeOptions;
    // As node's, close works detached (`const { close } = handle`): an own
    // bound function, which also replaces the own close node's constructor defines.
    this.close = FileHandle.prototype.close.bind(this);
  }

  /** Tracks a handle open() made: collected unclosed, it is closed with node's warnings. */
  static [kOwned](handle: FileHandle): FileHandle {
    collected.register(handle, handle.#fd, handle);
    return handle;
  }

  /** The descriptor, or -1 once closed. */
  get fd(): number {
    return this.#fd;
  }

  /** `#fd in x`, for the methods' receivers. */
  static #is(x: unknown): boolean {
    return typeof x === 'object' && x !== null && #fd in x;
  }

  /** Runs `fn` holding the handle: a closed or closing handle rejects with EBADF. */
  async #use<T>(syscall: string, fn: (fd: number) => Promise<T>, caller: Function): Promise<T> {
    if (this.#fd < 0 || this.#closing) throw recaptureStack(new FileClosedError(syscall), caller);
    this.#inflight++;
    try {
      return await fn(this.#fd);
    } catch (err) {
      throw recaptureStack(err as Error, caller);
    } finally {
      if (--this.#inflight === 0 && this.#drained) this.#drained();
    }
  }

  /** An op that held the handle without #use has settled. */
  readonly #opSettled = (): void => {
    if (--this.#inflight === 0 && this.#drained) this.#drained();
  };

  #opts(signal?: AbortSignal): RunOptions | undefined {
    if (!signal) return this.#runtimeOptions;
    return { ...this.#runtimeOptions, signal };
  }

  /**
   * Reads into a buffer: read(), read(buffer, offset?, length?, position?),
   * read(buffer, { offset, length, position }) or read({ buffer, offset, length, position }).
   * Arguments are checked as node:fs/promises checks them (see `position`).
   *
   * Do not transfer the buffer (postMessage, structuredClone with
   * `transfer`) until the promise settles: its memory would leave with the
   * transfer and may be freed while the kernel writes into it. A read that
   * finds its buffer detached rejects with ERR_URING_BUFFER_DETACHED. The
   * buffer read() allocates itself is yours once it resolves.
   */
  read<T extends ArrayBufferView>(
    buffer: T,
    offset?: number | null,
    length?: number | null,
    position?: Position,
  ): Promise<ReadResult<T>>;
  read<T extends ArrayBufferView>(buffer: T, options?: RwOptionsArg | null): Promise<ReadResult<T>>;
  read<T extends ArrayBufferView = NonSharedBuffer>(
    options?: (RwOptionsArg & { buffer?: T }) | null,
  ): Promise<ReadResult<T>>;
  read<T extends ArrayBufferView = Buffer>(
    bufferOrOptions?: T | (RwOptionsArg & { buffer?: T }) | null,
    offsetOrOptions?: number | RwOptionsArg | null,
    length?: number | null,
    position?: Position,
  ): Promise<ReadResult<T>> {
    // Not through #use: the hot path of random reads, one promise per call
    // (the op's, which settles with the result object itself), holding the
    // handle as #use does (#inflight until the op settles).
    if (!FileHandle.#is(this)) return notAFileHandle(FileHandle.prototype.read);
    const fd = this.#fd;
    if (fd < 0 || this.#closing) return Promise.reject(recaptureStack(new FileClosedError('read'), this.read));
    let op: ReadResultOp<T>;
    try {
      let buffer = bufferOrOptions as T;
      let offset: unknown = offsetOrOptions;
      let len: unknown = length;
      let pos: unknown = position;
      if (!ArrayBuffer.isView(buffer)) {
        // read(options)
        if (
          bufferOrOptions !== undefined &&
          bufferOrOptions !== null &&
          (typeof bufferOrOptions !== 'object' || Array.isArray(bufferOrOptions))
        ) {
          throw new InvalidArgTypeError('options', 'of type object', bufferOrOptions);
        }
        const o = (bufferOrOptions ?? {}) as RwOptions & { buffer?: T };
        buffer = o.buffer ?? (Buffer.alloc(kDefaultReadSize) as unknown as T);
        if (!ArrayBuffer.isView(buffer))
          throw new InvalidArgTypeError('buffer', 'an instance of Buffer, TypedArray, or DataView', buffer);
      }
      // A DataView over a detached buffer throws on byteLength: refused as such.
      if (buffer instanceof DataView) validateBuffer(buffer, 'buffer');
      if (buffer !== bufferOrOptions)
        ({ offset, len, pos } = fromOptions((bufferOrOptions ?? {}) as RwOptions, buffer));
      if (offset !== null && typeof offset === 'object') {
        // read(buffer, options)
        ({ offset, len, pos } = fromOptions(offset as RwOptions, buffer));
      }
      if (offset === null || offset === undefined) offset = 0;
      else validateInteger(offset, 'offset', 0);
      const off = offset as number;
      len ??= buffer.byteLength - off;
      // Which checks run, and in what order, is the running node's (node-version.ts).
      if (READ_LENGTH_INT32) {
        // node does `length | 0`, whose TypeError for a bigint has no code: refused here with one.
        if (typeof len === 'bigint') throw new InvalidArgTypeError('length', 'of type number', len);
        len = (len as number) | 0;
      }
      let at = READ_CHECKS_POSITION_FIRST ? readPositionOf(pos, len as number) : undefined;
      if (len === 0) return Promise.resolve({ bytesRead: 0, buffer });
      if (buffer.byteLength === 0) throw new InvalidArgValueError('buffer', buffer, 'is empty and cannot be written');
      if (typeof len !== 'number') throw new InvalidArgTypeError('length', 'of type number', len);
      if (len < 0) throw new OutOfRangeError('length', '>= 0', len);
      if (off + len > buffer.byteLength) throw new OutOfRangeError('length', `<= ${buffer.byteLength - off}`, len);
      // As read() from the ops refuses it (what this called before).
      if (!Number.isInteger(len)) throw new OutOfRangeError('length', `>= 0 && <= ${buffer.byteLength - off}`, len);
      at ??= readPositionOf(pos, len);
      const address = bufferAddress(buffer);
      op = new ReadResultOp<T>(fd, buffer, at, buffer, off, Math.min(len, MAX_RW), address);
      op.stackAtCaller = true;
      this.#inflight++;
      op.onSettle = this.#opSettled;
      try {
        run(op, this.#runtimeOptions);
      } catch (err) {
        // Refused before it was submitted: it will never settle.
        op.onSettle = undefined;
        this.#opSettled();
        throw err;
      }
    } catch (err) {
      return Promise.reject(recaptureStack(err as Error, this.read));
    }
    return op.promise;
  }

  /**
   * write(buffer, offset?, length?, position?), write(buffer, { offset, length, position }),
   * write(string, position?, encoding?). Arguments are checked as node:fs/promises checks them.
   */
  write<T extends ArrayBufferView>(
    buffer: T,
    offset?: number | null,
    length?: number | null,
    position?: Position,
  ): Promise<WriteResult<T>>;
  write<T extends ArrayBufferView>(buffer: T, options?: RwOptionsArg | null): Promise<WriteResult<T>>;
  write(data: string, position?: Position, encoding?: BufferEncoding | null): Promise<WriteResult<string>>;
  write<T extends ArrayBufferView | string>(
    data: T,
    offsetOrOptions?: Position | RwOptionsArg,
    lengthOrEncoding?: number | BufferEncoding | null,
    position?: Position,
  ): Promise<WriteResult<T>> {
    if (!FileHandle.#is(this)) return notAFileHandle(FileHandle.prototype.write);
    return this.#use(
      'write',
      async (fd) => {
        // A DataView over a detached buffer throws on byteLength: refused as such.
        if (data instanceof DataView) validateBuffer(data, 'buffer');
        if ((data as { byteLength?: unknown } | null)?.byteLength === 0) return { bytesWritten: 0, buffer: data };
        if (ArrayBuffer.isView(data)) {
          let offset: unknown = offsetOrOptions;
          let len: unknown = lengthOrEncoding;
          let pos: unknown = position;
          if (typeof offset === 'object') {
            // write(buffer, options); null is an empty options object here
            ({ offset, len, pos } = fromOptions((offsetOrOptions ?? {}) as RwOptions, data));
          }
          if (offset === null || offset === undefined) offset = 0;
          else validateInteger(offset, 'offset', 0);
          const off = offset as number;
          if (typeof len !== 'number') len = data.byteLength - off;
          const n = len as number;
          if (off > data.byteLength) throw new OutOfRangeError('offset', `<= ${data.byteLength}`, off);
          if (n > data.byteLength - off) throw new OutOfRangeError('length', `<= ${data.byteLength - off}`, n);
          if (n < 0) throw new OutOfRangeError('length', '>= 0', n);
          validateInteger(n, 'length', 0, 0x7fffffff);
          const at = positionOf(pos);
          const bytesWritten = await write(fd, data, { ...this.#runtimeOptions, offset: off, length: n, position: at });
          if (shortAtCurrentPosition(at, bytesWritten, n))
            await restorePosition(fd, bytesWritten, this.#runtimeOptions);
          return { bytesWritten, buffer: data };
        }
        if (typeof data !== 'string')
          throw new InvalidArgTypeError(
            'buffer',
            'of type string or an instance of Buffer, TypedArray, or DataView',
            data,
          );
        // write(string, position, encoding): an unknown encoding is utf8, as in node.
        const enc =
          typeof lengthOrEncoding === 'string' && Buffer.isEncoding(lengthOrEncoding) ? lengthOrEncoding : 'utf8';
        if (enc.toLowerCase() === 'hex' && data.length % 2 !== 0) {
          throw new InvalidArgValueError('encoding', lengthOrEncoding, `is invalid for data of length ${data.length}`);
        }
        const buf = Buffer.from(data, enc);
        const at = positionOf(offsetOrOptions);
        const bytesWritten = await write(fd, buf, { ...this.#runtimeOptions, position: at });
        if (shortAtCurrentPosition(at, bytesWritten, buf.byteLength))
          await restorePosition(fd, bytesWritten, this.#runtimeOptions);
        return { bytesWritten, buffer: data };
      },
      this.write,
    );
  }

  /** node's readv. Transferring one of `buffers` before it settles: see read(). */
  readv<T extends readonly ArrayBufferView[]>(
    buffers: T,
    position?: Position,
  ): Promise<{ bytesRead: number; buffers: T }> {
    if (!FileHandle.#is(this)) return notAFileHandle(FileHandle.prototype.readv);
    return this.#use(
      'readv',
      async (fd) => {
        validateBufferArray(buffers);
        const bytesRead = await readv(fd, buffers, positionOf(position), this.#runtimeOptions).catch((err) => {
          throw renamedSyscall(err, 'read');
        });
        return { bytesRead, buffers };
      },
      this.readv,
    );
  }

  writev<T extends readonly ArrayBufferView[]>(
    buffers: T,
    position?: Position,
  ): Promise<{ bytesWritten: number; buffers: T }> {
    if (!FileHandle.#is(this)) return notAFileHandle(FileHandle.prototype.writev);
    return this.#use(
      'writev',
      async (fd) => {
        validateBufferArray(buffers);
        if (buffers.length === 0) return { bytesWritten: 0, buffers };
        const at = positionOf(position);
        const bytesWritten = await writev(fd, buffers, at, this.#runtimeOptions).catch((err) => {
          throw renamedSyscall(err, 'write');
        });
        if (shortAtCurrentPosition(at, bytesWritten, byteLengthOf(buffers)))
          await restorePosition(fd, bytesWritten, this.#runtimeOptions);
        return { bytesWritten, buffers };
      },
      this.writev,
    );
  }

  /**
   * Not in node: many reads at once behind one promise. Fills each of
   * `buffers` (its whole length) from the matching offset in `positions`;
   * the reads go to the kernel together and run in any order. Resolves with
   * the bytes read into each (fewer at end of file), once all are done;
   * rejects with the first failed read's error, or at once with an
   * AbortError when `options.signal` aborts. For many small random reads
   * this costs a fraction of a `read()` per buffer (README: Performance).
   * Transferring one of `buffers` before it settles: see read().
   */
  readMany(
    buffers: readonly ArrayBufferView[],
    positions: Positions,
    options?: { signal?: AbortSignal },
  ): Promise<number[]> {
    if (!FileHandle.#is(this)) return notAFileHandle(FileHandle.prototype.readMany);
    return this.#use(
      'read',
      (fd) => readMany(fd, buffers, positions, this.#opts(optionsObject<{ signal?: AbortSignal }>(options).signal)),
      this.readMany,
    );
  }

  /**
   * Not in node: writes each of `buffers` whole at the matching offset in
   * `positions`, as readMany reads (together, in any order, one promise).
   * Resolves with the bytes written from each; a short write is not continued.
   */
  writeMany(
    buffers: readonly ArrayBufferView[],
    positions: Positions,
    options?: { signal?: AbortSignal },
  ): Promise<number[]> {
    if (!FileHandle.#is(this)) return notAFileHandle(FileHandle.prototype.writeMany);
    return this.#use(
      'write',
      (fd) => writeMany(fd, buffers, positions, this.#opts(optionsObject<{ signal?: AbortSignal }>(options).signal)),
      this.writeMany,
    );
  }

  stat(options?: { bigint?: false }): Promise<Stats>;
  stat(options: { bigint: true }): Promise<BigIntStats>;
  stat(options?: { bigint?: boolean }): Promise<Stats | BigIntStats>;
  stat(options?: { bigint?: boolean }): Promise<Stats | BigIntStats> {
    if (!FileHandle.#is(this)) return notAFileHandle(FileHandle.prototype.stat);
    return this.#use(
      'fstat',
      async (fd) => {
        const s = await fstatx(fd, this.#runtimeOptions);
        return options?.bigint ? toBigIntStats(s) : toStats(s);
      },
      this.stat,
    );
  }

  sync(): Promise<void> {
    if (!FileHandle.#is(this)) return notAFileHandle(FileHandle.prototype.sync);
    return this.#use('fsync', (fd) => fsync(fd, this.#runtimeOptions), this.sync);
  }

  datasync(): Promise<void> {
    if (!FileHandle.#is(this)) return notAFileHandle(FileHandle.prototype.datasync);
    return this.#use('fdatasync', (fd) => fsync(fd, { ...this.#runtimeOptions, datasync: true }), this.datasync);
  }

  truncate(len = 0): Promise<void> {
    if (!FileHandle.#is(this)) return notAFileHandle(FileHandle.prototype.truncate);
    return this.#use(
      'ftruncate',
      async (fd) => {
        validateInteger(len, 'len', Number.MIN_SAFE_INTEGER);
        await ftruncate(fd, Math.max(0, len), this.#runtimeOptions);
      },
      this.truncate,
    );
  }

  /** fallocate(2): reserves [offset, offset + len) so later writes there cannot fail with ENOSPC. */
  allocate(offset: number, len: number, mode = 0): Promise<void> {
    if (!FileHandle.#is(this)) return notAFileHandle(FileHandle.prototype.allocate);
    return this.#use('fallocate', (fd) => fallocate(fd, offset, len, mode, this.#runtimeOptions), this.allocate);
  }

  /**
   * Reads from the current position to the end of the file: a string when
   * an encoding is given, a Buffer otherwise.
   */
  readFile(options?: ({ encoding?: null } & Abortable) | null): Promise<NonSharedBuffer>;
  readFile(options: ({ encoding: BufferEncoding } & Abortable) | BufferEncoding): Promise<string>;
  readFile(options?: (fs.ObjectEncodingOptions & Abortable) | BufferEncoding | null): Promise<string | NonSharedBuffer>;
  readFile(
    options?: { encoding?: BufferEncoding | null; signal?: AbortSignal } | BufferEncoding | null,
  ): Promise<string | Buffer> {
    if (!FileHandle.#is(this)) return notAFileHandle(FileHandle.prototype.readFile);
    return this.#use(
      'readFile',
      async (fd) => {
        const o = optionsObject<{ signal: AbortSignal }>(options);
        const enc = encodingOf(options);
        // As node's: the signal is looked at (signal.aborted) before each
        // step, never listened to, so the caller's signal object is left as
        // it is (node's tests hand over a proxy that forbids any change).
        const buf = await readAll(fd, this.#runtimeOptions, o.signal);
        return enc ? buf.toString(enc) : buf;
      },
      this.readFile,
    );
  }

  writeFile(
    data: WriteData,
    options?: { encoding?: BufferEncoding | null; signal?: AbortSignal } | BufferEncoding | null,
  ): Promise<void> {
    if (!FileHandle.#is(this)) return notAFileHandle(FileHandle.prototype.writeFile);
    return this.#use(
      'writeFile',
      async (fd) => {
        const o = optionsObject<{ signal: AbortSignal }>(options);
        await writeAll(fd, data, encodingOf(options) ?? 'utf8', this.#opts(o.signal));
      },
      this.writeFile,
    );
  }

  appendFile(
    data: WriteData,
    options?: { encoding?: BufferEncoding | null; signal?: AbortSignal } | BufferEncoding | null,
  ): Promise<void> {
    if (!FileHandle.#is(this)) return notAFileHandle(FileHandle.prototype.appendFile);
    return this.writeFile(data, options);
  }

  // io_uring has no ops for these: node:fs does them on the descriptor.
  chmod(mode: fs.Mode): Promise<void> {
    if (!FileHandle.#is(this)) return notAFileHandle(FileHandle.prototype.chmod);
    return this.#use('fchmod', (fd) => promisify(fs.fchmod)(fd, parseMode(mode, 0)), this.chmod);
  }
  chown(uid: number, gid: number): Promise<void> {
    if (!FileHandle.#is(this)) return notAFileHandle(FileHandle.prototype.chown);
    return this.#use('fchown', (fd) => promisify(fs.fchown)(fd, uid, gid), this.chown);
  }
  utimes(atime: fs.TimeLike, mtime: fs.TimeLike): Promise<void> {
    if (!FileHandle.#is(this)) return notAFileHandle(FileHandle.prototype.utimes);
    return this.#use('futimes', (fd) => promisify(fs.futimes)(fd, atime, mtime), this.utimes);
  }

  /** Closes the descriptor once every op on it has finished; 'close' is emitted at once. Idempotent. */
  close(): Promise<void> {
    if (!FileHandle.#is(this)) return notAFileHandle(FileHandle.prototype.close);
    if (this.#closing) return this.#closing;
    if (this.#fd < 0) return Promise.resolve();
    const fd = this.#fd;
    // Closed here, not when collected.
    collected.unregister(this);
    this.#closing = (async () => {
      if (this.#inflight > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
      this.#fd = -1;
      await closeFd(fd, this.#runtimeOptions);
    })();
    // As node's, 'close' comes when close() is called (fd is -1 by then
    // unless ops are in flight): streams over the handle, node:fs's too,
    // stop on it rather than read from a closing handle.
    this.emit('close');
    return this.#closing;
  }

  /**
   * A ReadStream (node:fs's, through the ring) over this handle: reads from
   * `start`, or from the current position when no `start` is given. It
   * closes the handle when it ends or is destroyed, unless `autoClose` is
   * false; destroy() closes it in any case, as node's does.
   */
  createReadStream(options?: Omit<ReadStreamOptions, 'fd'>): ReadStream {
    return new ReadStream(undefined, { ...options, fd: this });
  }

  /** A WriteStream over this handle: writes at `start`, or at the current position. */
  createWriteStream(options?: Omit<WriteStreamOptions, 'fd'>): WriteStream {
    return new WriteStream(undefined, { ...options, fd: this });
  }

  /** The file's lines from the current position (or `start`), `\n` or `\r\n` ended, as node 18.11+'s. */
  readLines(options?: Omit<ReadStreamOptions, 'fd'>): Interface {
    return createInterface({ input: this.createReadStream(options), crlfDelay: Infinity });
  }

  /**
   * A web ReadableStream of the file's bytes from the current position,
   * as Uint8Array chunks (a byte stream: BYOB readers work too). As in
   * node, the handle can give one such stream in its life and is not closed
   * when it ends.
   */
  readableWebStream(options?: ReadableWebStreamOptions): ReadableStream<Uint8Array> {
    // node:fs/promises' own options type, whichever @types/node the user
    // has: 20's names `type`, 24's does not.
    const type = (options as { type?: unknown } | undefined)?.type;
    if (type !== undefined && typeof type !== 'string')
      throw new InvalidArgTypeError('options.type', 'of type string', type);
    if (this.#fd < 0) throw new InvalidStateError('The FileHandle is closed');
    if (this.#closing) throw new InvalidStateError('The FileHandle is closing');
    if (this.#locked) throw new InvalidStateError('The FileHandle is locked');
    this.#locked = true;
    return webStreamOf(this);
  }

  /**
   * Transfer to a worker (postMessage's transferList), first step: node
   * asks for what the handle carries. Refused, as node's, while the handle
   * is in use (ops in flight, a stream of node:fs over it, closing).
   */
  [kTransferListOut](): unknown[] {
    if (
      !FileHandle.#is(this) ||
      this.#fd < 0 ||
      this.#closing ||
      this.#inflight > 0 ||
      this.#locked ||
      (kRefs !== undefined && (this as unknown as Record<symbol, number>)[kRefs]! > 1)
    ) {
      throw new DOMException('Cannot transfer FileHandle while in use', 'DataCloneError');
    }
    const native = nativeHandleOf(this.#fd);
    this.#transferring = native;
    // postMessage is synchronous: when the transfer failed after this step
    // (another value of the list refused), kTransfer was not called by the
    // next microtask, and the native handle lets go of the descriptor
    // (which stays this handle's) rather than close it when collected.
    queueMicrotask(() => {
      if (this.#transferring !== native) return;
      this.#transferring = undefined;
      native.releaseFD();
    });
    return [native];
  }

  /**
   * Transfer, second step: the descriptor leaves with node's native handle,
   * and the worker receives node's FileHandle over it. This handle is then
   * closed without a 'close' event (fd -1), as node's is.
   */
  [kTransferOut](): { data: { handle: NativeFileHandle }; deserializeInfo: string } {
    const handle = this.#transferring;
    if (handle === undefined || this.#fd < 0)
      throw new DOMException('Cannot transfer FileHandle while in use', 'DataCloneError');
    this.#transferring = undefined;
    collected.unregister(this);
    // The descriptor leaves with node's handle for another thread: this
    // thread's teardown must not close it (OpenatOptions.own).
    addon().disownFd(this.#fd);
    this.#fd = -1;
    return { data: { handle }, deserializeInfo: 'internal/fs/promises:FileHandle' };
  }

  get [kClosing](): boolean {
    return this.#fd < 0 || this.#closing !== undefined;
  }

  [kHold](): number {
    if (this.#fd < 0 || this.#closing) return -1;
    this.#inflight++;
    return this.#fd;
  }

  [kRelease](): void {
    this.#opSettled();
  }

  get [kRuntime](): Runtime {
    return this.#runtimeOptions?.runtime ?? getRuntime();
  }

  [kStreamRead](buffer: ArrayBufferView, position: number, signal: AbortSignal): Promise<number> {
    return this.#use('read', (fd) => read(fd, buffer, { ...this.#opts(signal), position }), this.read);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

// node:fs checks that a FileHandle is its own (`fd instanceof FileHandle`,
// internal class) in createReadStream/createWriteStream({ fd }) and in
// readFile/writeFile(handle), and only its own cross to a worker. Users mix
// node:fs with uring/fs/promises, so uring's FileHandle becomes a subclass
// of node's, once, before open() makes the first handle (node's class is
// reachable only through an instance: one open of /dev/null). Its
// constructor then runs node's (no native handle: node's methods that need
// one are all overridden here), which gives what node's own code reads off
// a handle (its reference count for streams, its transfer mark). The worker
// transfer is node's own, with the descriptor handed to node's native
// handle (kTransferListOut). Each step checks that node's internals are as
// expected; otherwise uring's class stays apart from node's, as before.

// Captured when this module is evaluated: uring/register later puts uring's
// open in node:fs/promises' place.
const nodeOpen = nodeFsp.open;
let kRefs: symbol | undefined;
let adoption: Promise<void> | undefined;
let adopted = false;

function adoptNodeFileHandle(): Promise<void> {
  adoption ??= nodeOpen('/dev/null', 'r')
    .then(async (h) => {
      try {
        adopt(h);
      } finally {
        await h.close();
      }
    })
    .catch(() => {})
    .finally(() => {
      adopted = true;
    });
  return adoption;
}

function adopt(h: object): void {
  const NodeFileHandle = h.constructor as (new () => object) | undefined;
  if (typeof NodeFileHandle !== 'function' || NodeFileHandle === (FileHandle as unknown)) return;
  if (Object.getPrototypeOf(FileHandle) !== EventEmitter) return;
  const proto = NodeFileHandle.prototype as object;
  const own = (o: object, d: string): symbol | undefined =>
    Object.getOwnPropertySymbols(o).find((s) => s.description === d);
  const kTransfer = own(proto, 'messaging_transfer_symbol');
  const kTransferList = own(proto, 'messaging_transfer_list_symbol');
  if (!kTransfer || !kTransferList || typeof (proto as Record<symbol, unknown>)[kTransfer] !== 'function') return;
  kRefs = own(h, 'kRefs');
  Object.setPrototypeOf(FileHandle.prototype, proto);
  Object.setPrototypeOf(FileHandle, NodeFileHandle);
  const mine = FileHandle.prototype as unknown as Record<symbol, unknown>;
  for (const [theirs, ours] of [
    [kTransfer, kTransferOut],
    [kTransferList, kTransferListOut],
  ] as const) {
    Object.defineProperty(FileHandle.prototype, theirs, { value: mine[ours], writable: true, configurable: true });
  }
}

let NativeFileHandleClass: (new (fd: number) => NativeFileHandle) | undefined;

/** node's native handle over `fd` (process.binding: no public API makes one), or a DataCloneError. */
function nativeHandleOf(fd: number): NativeFileHandle {
  if (NativeFileHandleClass === undefined) {
    try {
      const binding = (process as unknown as { binding(name: string): { FileHandle?: unknown } }).binding('fs');
      if (typeof binding.FileHandle === 'function')
        NativeFileHandleClass = binding.FileHandle as new (fd: number) => NativeFileHandle;
    } catch {
      // Not reachable here (e.g. the permission model): refused below.
    }
  }
  if (NativeFileHandleClass === undefined)
    throw new DOMException('Cannot transfer FileHandle: no native handle available', 'DataCloneError');
  return new NativeFileHandleClass(fd);
}

/**
 * The FileHandle open() gives out for `fd`: a subclass of node's (see
 * adoptNodeFileHandle; the first call waits for it), closed with node's
 * warnings if collected unclosed.
 */
export function ownedFileHandle(fd: number): FileHandle | Promise<FileHandle> {
  if (adopted) return FileHandle[kOwned](new FileHandle(fd));
  return adoptNodeFileHandle().then(() => FileHandle[kOwned](new FileHandle(fd)));
}
