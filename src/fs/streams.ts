// createReadStream and createWriteStream: node:fs's ReadStream and
// WriteStream, with their options, events and properties, whose every read
// and write is an op on the ring through a FileHandle.
//
// A stream owns an AbortController for its I/O: destroy() aborts it, which
// cancels in the kernel an open, read or write still waiting (a FIFO with no
// writer, a full pipe), then closes the handle. Node waits for such an op
// instead, so its destroy() hangs where this one does not.
import { Buffer } from 'node:buffer';
import * as nodeFs from 'node:fs';
import { Readable, Writable, addAbortSignal, finished, type ReadableOptions, type WritableOptions } from 'node:stream';
import { ReadableStream } from 'node:stream/web';
import { fileURLToPath } from 'node:url';
import { InvalidArgTypeError, OutOfRangeError, SystemFailureError } from '../errors.js';
import { openat } from '../ops/index.js';
import { encodingOf, optionsObject, parseFlags, parseMode, toPath, type PathArg } from './args.js';
import { FileHandle, kClosing, kStreamRead, kStreamWrite, validateInteger } from './file-handle.js';
import { mayUseNode, useNode } from './fallback.js';

const kReadHighWaterMark = 64 * 1024;
/** Linux's IOV_MAX: the most buffers one writev takes. */
const kIovMax = 1024;

interface CommonOptions {
  /** Open flags, as fs.open takes them (default 'r' to read, 'w' to write). */
  flags?: string | number;
  encoding?: BufferEncoding | null;
  /** A descriptor or FileHandle to use instead of opening `path`. */
  fd?: number | FileHandle;
  mode?: number | string;
  /** Close the file when the stream ends or fails (default true). */
  autoClose?: boolean;
  emitClose?: boolean;
  /** Where to start; without it, the file's current position. */
  start?: number;
  highWaterMark?: number;
  signal?: AbortSignal;
  /** node's hook for another fs implementation: ignored, the ring is the implementation. */
  fs?: unknown;
}

export interface ReadStreamOptions
  extends CommonOptions, Omit<ReadableOptions, keyof CommonOptions | 'read' | 'destroy' | 'construct'> {
  /** The last byte to read (inclusive). */
  end?: number;
}

export interface WriteStreamOptions
  extends
    CommonOptions,
    Omit<WritableOptions, keyof CommonOptions | 'write' | 'writev' | 'destroy' | 'construct' | 'final'> {
  /** fsync(2) the file before closing it. */
  flush?: boolean;
}

type Callback = (err?: Error | null) => void;

/**
 * What a stream reads or writes: a path to open, or a descriptor or
 * FileHandle given. Checked as node checks them, when the stream is made.
 */
interface Target {
  path: string | Buffer | undefined;
  /** The path to open, or undefined when a descriptor or handle was given. */
  openPath: string | Buffer | undefined;
  handle: FileHandle | null;
  /** The handle came from the caller: its 'close' closes the stream. */
  given: boolean;
}

function targetOf(path: unknown, fd: unknown): Target {
  if (path instanceof FileHandle && fd === undefined) fd = path;
  if (fd === undefined || fd === null) {
    const shown = path instanceof URL ? fileURLToPath(path) : (path as string | Buffer);
    const p = toPath(path);
    return { path: shown, openPath: Buffer.isBuffer(path) ? path : p, handle: null, given: false };
  }
  if (fd instanceof FileHandle) return { path: undefined, openPath: undefined, handle: fd, given: true };
  if (typeof fd !== 'number')
    throw new InvalidArgTypeError('options.fd', 'of type number or an instance of FileHandle', fd);
  validateInteger(fd, 'fd', 0, 0x7fffffff);
  return { path: undefined, openPath: undefined, handle: new FileHandle(fd), given: false };
}

function validateSignal(signal: unknown): void {
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw new InvalidArgTypeError('options.signal', 'an instance of AbortSignal', signal);
}

function startOf(start: unknown): number | undefined {
  if (start !== undefined) validateInteger(start, 'start', 0);
  return start as number | undefined;
}

/** Opens the target's path for a stream's _construct: 'open' (fd) and 'ready' follow success. */
/**
 * A stream's _construct: opens its path unless it was given a descriptor or
 * handle (or was destroyed first), then 'open' and 'ready', as node's.
 */
function openTarget(
  stream: ReadStream | WriteStream,
  t: Target,
  signal: AbortSignal,
  defFlags: string,
  cb: Callback,
): void {
  if (t.handle || stream.destroyed) {
    cb();
    return;
  }
  let flags: number;
  let mode: number;
  try {
    flags = parseFlags(stream.flags, defFlags);
    mode = parseMode(stream.mode, 0o666);
  } catch (err) {
    cb(err as Error);
    return;
  }
  openat(t.openPath!, flags, mode, { signal }).then(
    (fd) => {
      const handle = new FileHandle(fd);
      t.handle = handle;
      stream.fd = fd;
      cb();
      stream.emit('open', fd);
      stream.emit('ready');
    },
    (err: Error) => cb(err),
  );
}

/** A stream's _destroy: fsync first if asked, then close; `cb` gets the first error. */
function closeTarget(t: Target, onHandleClose: () => void, flush: boolean, err: Error | null, cb: Callback): void {
  const handle = t.handle;
  if (!handle) {
    cb(err);
    return;
  }
  t.handle = null;
  handle.off('close', onHandleClose);
  (async () => {
    let first = err;
    if (flush) {
      try {
        await handle.sync();
      } catch (e) {
        first ??= e as Error;
      }
    }
    try {
      await handle.close();
    } catch (e) {
      first ??= e as Error;
    }
    return first;
  })().then(cb);
}

/**
 * The options both streams hand to their stream.Readable/Writable. Not the
 * signal: an aborted one destroys the stream at once, which must wait until
 * the stream's own fields exist (see `watchSignal`).
 */
function baseOptions<T extends CommonOptions>(o: T): Omit<T, 'signal'> & { autoDestroy: boolean; emitClose: boolean } {
  const { signal: _, ...rest } = o;
  return {
    ...rest,
    autoDestroy: o.autoClose === undefined ? true : !!o.autoClose,
    emitClose: o.emitClose === undefined ? true : o.emitClose,
  };
}

/** Destroys `stream` with an AbortError when `signal` aborts (at once if it has). */
/**
 * What a new stream shows of its target, as node's: the descriptor (null
 * until a path is open), and path, flags and mode only when it opens a path.
 * A handle the caller gave closes the stream when it closes.
 */
function adoptTarget(
  stream: ReadStream | WriteStream,
  t: Target,
  o: CommonOptions,
  defFlags: string,
  onHandleClose: () => void,
): void {
  stream.fd = t.handle ? t.handle.fd : null;
  if (!t.handle) {
    stream.path = t.path!;
    stream.flags = o.flags === undefined ? defFlags : o.flags;
    stream.mode = o.mode === undefined ? 0o666 : o.mode;
  }
  if (t.given) t.handle!.on('close', onHandleClose);
}

function watchSignal(stream: Readable | Writable, signal: AbortSignal | undefined): void {
  if (signal !== undefined) addAbortSignal(signal, stream);
}

/** The stream state's autoDestroy, which node's fs streams call autoClose. */
function state(stream: Readable | Writable): { autoDestroy: boolean } {
  const s = stream as unknown as {
    _readableState?: { autoDestroy: boolean };
    _writableState?: { autoDestroy: boolean };
  };
  return (s._writableState ?? s._readableState)!;
}

/**
 * node:fs's ReadStream over the ring: reads of up to `highWaterMark` bytes
 * (64 KiB by default), each into a fresh Buffer, from `start` to `end`
 * (inclusive), or from the current position when no `start` is given, so
 * FIFOs, ttys and pipes work.
 */
export class ReadStream extends Readable {
  /** The descriptor, null while the file is being opened and once closed. */
  fd: number | null = null;
  // Set only when the stream opens a path, as node's are (typed as
  // node:fs's ReadStream is, for code that takes either).
  declare path: string | Buffer;
  declare flags: string | number | undefined;
  declare mode: number | string | undefined;
  start: number | undefined;
  end: number;
  /** Where the next read starts; undefined when reading at the current position. */
  pos: number | undefined;
  bytesRead = 0;
  readonly #target: Target;
  readonly #io = new AbortController();
  readonly #onHandleClose = () => this.close();

  constructor(path: PathArg | FileHandle | undefined, options?: ReadStreamOptions | BufferEncoding) {
    const o = { ...optionsObject<ReadStreamOptions>(options) };
    encodingOf(o);
    const target = targetOf(path, o.fd);
    const start = startOf(o.start);
    validateSignal(o.signal);
    const end = o.end === undefined ? Infinity : o.end;
    if (end !== Infinity) {
      validateInteger(end, 'end', 0);
      if (start !== undefined && start > end) throw new OutOfRangeError('start', `<= "end" (here: ${end})`, start);
    }
    super({
      ...baseOptions(o),
      encoding: o.encoding ?? undefined,
      highWaterMark: o.highWaterMark ?? kReadHighWaterMark,
    });
    this.#target = target;
    adoptTarget(this, target, o, 'r', this.#onHandleClose);
    this.start = start;
    this.end = end;
    this.pos = start;
    watchSignal(this, o.signal);
  }

  /** True until the file is open. */
  get pending(): boolean {
    return this.fd === null;
  }

  override _construct(cb: Callback): void {
    openTarget(this, this.#target, this.#io.signal, 'r', cb);
  }

  override _read(n: number): void {
    // A highWaterMark of 0 asks for 0 bytes: read a default chunk (node 20 ends the stream at once).
    const room = this.pos !== undefined ? this.end - this.pos + 1 : this.end - this.bytesRead + 1;
    const len = Math.min(n > 0 ? n : kReadHighWaterMark, room);
    if (len <= 0) {
      this.push(null);
      return;
    }
    const handle = this.#target.handle!;
    // The caller closed the handle: its 'close' (emitted at once, as node's)
    // stops the stream without an error; stop here too, should this read
    // come first, rather than fail on the closing handle.
    if (handle[kClosing]) {
      this.destroy();
      return;
    }
    const buf = Buffer.allocUnsafe(len);
    handle[kStreamRead](buf, this.pos ?? -1, this.#io.signal).then(
      (bytesRead) => {
        if (this.destroyed) return;
        if (bytesRead === 0) {
          this.push(null);
          return;
        }
        if (this.pos !== undefined) this.pos += bytesRead;
        this.bytesRead += bytesRead;
        // A short read (a pipe, the end of the file) keeps a copy, not the whole buffer, alive.
        this.push(
          bytesRead === len
            ? buf
            : bytesRead > len >>> 1
              ? buf.subarray(0, bytesRead)
              : Buffer.from(buf.subarray(0, bytesRead)),
        );
      },
      (err: Error) => {
        if (!this.destroyed) this.destroy(handle[kClosing] ? undefined : err);
      },
    );
  }

  override destroy(error?: Error, ...rest: unknown[]): this {
    this.#io.abort();
    return (Readable.prototype.destroy as (this: Readable, e?: Error, ...r: unknown[]) => this).call(
      this,
      error,
      ...rest,
    );
  }

  override _destroy(err: Error | null, cb: Callback): void {
    this.fd = null;
    closeTarget(this.#target, this.#onHandleClose, false, err, cb);
  }

  get autoClose(): boolean {
    return state(this).autoDestroy;
  }
  set autoClose(v: boolean) {
    state(this).autoDestroy = v;
  }

  /** Destroys the stream (closing the file); `cb` runs once it has closed. */
  close(cb?: (err?: Error | null) => void): void {
    if (typeof cb === 'function') finished(this, cb);
    this.destroy();
  }
}

/**
 * node:fs's WriteStream over the ring: writes at `start` and on, or at the
 * current position when no `start` is given; chunks queued while a write is
 * in flight go out as one writev.
 */
export class WriteStream extends Writable {
  fd: number | null = null;
  declare path: string | Buffer;
  declare flags: string | number | undefined;
  declare mode: number | string | undefined;
  flush: boolean;
  start: number | undefined;
  pos: number | undefined;
  bytesWritten = 0;
  readonly #target: Target;
  readonly #io = new AbortController();
  readonly #onHandleClose = () => this.close();

  constructor(path: PathArg | FileHandle | undefined, options?: WriteStreamOptions | BufferEncoding) {
    const o = { ...optionsObject<WriteStreamOptions>(options) };
    const encoding = encodingOf(o);
    const target = targetOf(path, o.fd);
    const start = startOf(o.start);
    validateSignal(o.signal);
    if (o.flush !== undefined && o.flush !== null && typeof o.flush !== 'boolean')
      throw new InvalidArgTypeError('options.flush', 'of type boolean', o.flush);
    const { encoding: _, ...rest } = baseOptions(o);
    super({ ...rest, decodeStrings: true });
    if (encoding) this.setDefaultEncoding(encoding);
    this.#target = target;
    adoptTarget(this, target, o, 'w', this.#onHandleClose);
    this.flush = !!o.flush;
    this.start = start;
    this.pos = start;
    watchSignal(this, o.signal);
  }

  get pending(): boolean {
    return this.fd === null;
  }

  override _construct(cb: Callback): void {
    openTarget(this, this.#target, this.#io.signal, 'w', cb);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: Callback): void {
    this.#writeAll([chunk]).then(() => cb(), cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: Callback): void {
    this.#writeAll(chunks.map((c) => c.chunk)).then(() => cb(), cb);
  }

  /**
   * Writes every byte of `bufs`, at most IOV_MAX buffers per writev, going on
   * after short writes. Retries a write that moved nothing (or EAGAIN, on a
   * non-blocking descriptor) five times, as node does, then fails.
   */
  async #writeAll(bufs: Buffer[]): Promise<void> {
    const handle = this.#target.handle!;
    let i = 0;
    let skip = 0; // bytes of bufs[i] already written
    let retries = 0;
    while (i < bufs.length) {
      if (bufs[i]!.length === skip) {
        i++;
        skip = 0;
        continue;
      }
      const batch = bufs.slice(i, i + kIovMax);
      if (skip) batch[0] = batch[0]!.subarray(skip);
      let n: number;
      try {
        n = await handle[kStreamWrite](batch, this.pos ?? -1, this.#io.signal);
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'EAGAIN') throw err;
        n = 0;
      }
      if (n === 0) {
        if (++retries > 5) throw new SystemFailureError('write failed');
        continue;
      }
      retries = 0;
      this.bytesWritten += n;
      if (this.pos !== undefined) this.pos += n;
      for (let left = n; left > 0;) {
        const rest = bufs[i]!.length - skip;
        if (left < rest) {
          skip += left;
          break;
        }
        left -= rest;
        i++;
        skip = 0;
      }
    }
  }

  override destroy(error?: Error, ...rest: unknown[]): this {
    this.#io.abort();
    return (Writable.prototype.destroy as (this: Writable, e?: Error, ...r: unknown[]) => this).call(
      this,
      error,
      ...rest,
    );
  }

  override _destroy(err: Error | null, cb: Callback): void {
    this.fd = null;
    closeTarget(this.#target, this.#onHandleClose, this.flush, err, cb);
  }

  /** Ends the stream, then closes the file (even with autoClose false); `cb` runs once it has closed. */
  close(cb?: (err?: Error | null) => void): void {
    if (typeof cb === 'function') {
      if (this.closed) {
        process.nextTick(cb);
        return;
      }
      this.on('close', cb);
    }
    if (!this.autoClose) this.on('finish', () => this.destroy());
    this.end();
  }

  /** node's alias of end(). */
  destroySoon(): this {
    return this.end();
  }

  get autoClose(): boolean {
    return state(this).autoDestroy;
  }
  set autoClose(v: boolean) {
    state(this).autoDestroy = v;
  }
}

/**
 * A byte ReadableStream over `handle` from its current position: each pull
 * is one read into the reader's view (or a 64 KiB one a default reader
 * gets), and cancel() cancels a read in flight. The handle stays open.
 */
export function webStreamOf(handle: FileHandle): ReadableStream<Uint8Array> {
  const io = new AbortController();
  return new ReadableStream({
    type: 'bytes',
    autoAllocateChunkSize: kReadHighWaterMark,
    async pull(controller) {
      const req = controller.byobRequest!;
      const view = req.view!;
      let n: number;
      try {
        n = await handle[kStreamRead](view, -1, io.signal);
      } catch (err) {
        if (!io.signal.aborted) controller.error(err);
        return;
      }
      if (io.signal.aborted) return;
      if (n === 0) {
        controller.close();
        req.respond(0);
      } else {
        req.respond(n);
      }
    },
    cancel() {
      io.abort();
    },
  }) as ReadableStream<Uint8Array>;
}

/**
 * A ReadStream of `path` (or of a FileHandle, or `options.fd`): node:fs's
 * createReadStream through the ring. Where the drop-ins are node's (see
 * fallback.ts), node:fs's own stream, unless a uring FileHandle is given.
 */
export function createReadStream(
  path: PathArg | FileHandle | undefined,
  options?: ReadStreamOptions | BufferEncoding,
): ReadStream {
  if (mayUseNode() && !ringHandleGiven(path, options) && useNode()) {
    return nodeFs.createReadStream(
      path as nodeFs.PathLike,
      options as Parameters<typeof nodeFs.createReadStream>[1],
    ) as unknown as ReadStream;
  }
  return new ReadStream(path, options);
}

/** A WriteStream to `path` (or to a FileHandle, or `options.fd`): node:fs's createWriteStream through the ring (or node's own, as createReadStream). */
export function createWriteStream(
  path: PathArg | FileHandle | undefined,
  options?: WriteStreamOptions | BufferEncoding,
): WriteStream {
  if (mayUseNode() && !ringHandleGiven(path, options) && useNode()) {
    return nodeFs.createWriteStream(
      path as nodeFs.PathLike,
      options as Parameters<typeof nodeFs.createWriteStream>[1],
    ) as unknown as WriteStream;
  }
  return new WriteStream(path, options);
}

/** A uring FileHandle (made while a ring was at hand) can only be read by our streams. */
function ringHandleGiven(path: unknown, options: unknown): boolean {
  return (
    path instanceof FileHandle ||
    (options !== null && typeof options === 'object' && (options as { fd?: unknown }).fd instanceof FileHandle)
  );
}
