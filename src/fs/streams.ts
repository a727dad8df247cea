// createReadStream and createWriteStream: node:fs's ReadStream and
// WriteStream, with their options, events and properties, whose every read
// and write is an op on the ring through a FileHandle.
//
// destroy() cancels in the kernel an open, read or write still waiting (a
// FIFO with no writer, a full pipe), then closes the handle. Node waits for
// such an op instead, so its destroy() hangs where this one does not.
import { Buffer } from 'node:buffer';
import * as nodeFs from 'node:fs';
import { Readable, Writable, addAbortSignal, finished, type ReadableOptions, type WritableOptions } from 'node:stream';
import { ReadableStream } from 'node:stream/web';
import { fileURLToPath } from 'node:url';
import { FileClosedError, InvalidArgTypeError, OutOfRangeError, SystemFailureError, systemError } from '../errors.js';
import { EAGAIN, ECANCELED, EINVAL } from '../errno.js';
import { bufferAddress, detachedBuffer, viewDetached } from '../ops/common.js';
import { restorePosition, shortAtCurrentPosition } from '../ops/position.js';
import { viewAddress, Iovecs } from '../ring/structs.js';
import { fstatx, openat } from '../ops/index.js';
import { encodingOf, optionsObject, parseFlags, parseMode, toPath, type PathArg } from './args.js';
import { FileHandle, kClosing, kHold, kRelease, kRuntime, kStreamRead, validateInteger } from './file-handle.js';
import { SplicePairOp, StreamIoOp, givePipe, takePipe, type SplicePipe } from './stream-io.js';
import { spliceSupported } from '../ops/splice.js';
import { native } from '../native.js';
import { mayUseNode, useNode } from './fallback.js';

const kReadHighWaterMark = 64 * 1024;
/**
 * Read-ahead: reads in flight at once, about this many bytes (at least 2,
 * at most kReadAheadMax reads). On tmpfs every read is handed to an io-wq
 * worker, so one read at a time waits a thread hop per chunk.
 */
const kReadAheadBytes = 1 << 20;
const kReadAheadMax = 16;
const STATX_TYPE = 0x0001;
const STATX_SIZE = 0x0200;
const STATX_BLOCKS = 0x0400;
/**
 * Write-behind: bytes a WriteStream takes ahead of the kernel (queued and in
 * flight), or one highWaterMark if more. While one write is in flight the
 * next chunks gather for one writev, and the writer is not held up by the
 * write's thread hop. Not more: chunks held longer survive two scavenges,
 * move to V8's old space and are freed only by full GCs (a 1 GiB copy in
 * 1 MiB chunks with 4 MiB behind took 10-15 mark-compacts, against 1).
 */
const kWriteBehind = 1 << 20;
/** Linux's IOV_MAX: the most buffers one writev takes. */
const kIovMax = 1024;
/**
 * Splice mode (ReadStream #decide): only for at least this many bytes to
 * copy; below, the pipes and the two io-wq hand-offs per step cost more
 * than the copy saved.
 */
const kSpliceMin = 256 * 1024;
/** Splice steps in flight at once (each a pipe of up to 1 MiB). */
const kSplicePipes = 2;
const kPage = 4096;
const F_GETFL = 3;
const O_APPEND = 0o2000;
const SEEK_SET = 0;
const SEEK_CUR = 1;
/** The WriteStream's side of splice mode (ReadStream #decide). */
const kWhenConstructed = Symbol('kWhenConstructed');
const kSpliceBegin = Symbol('kSpliceBegin');
const kSpliceBusy = Symbol('kSpliceBusy');
const kSpliceWritten = Symbol('kSpliceWritten');
const kSpliceEnd = Symbol('kSpliceEnd');

/** Splice mode's states (ReadStream #splice). */
const SPLICE_UNDECIDED = 0;
const SPLICE_WAITING = 1;
const SPLICE_ON = 2;
const SPLICE_OFF = 3;

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

/**
 * A stream's _construct: opens its path unless it was given a descriptor or
 * handle (or was destroyed first), then 'open' and 'ready', as node's.
 * Returns the AbortController of the open in flight (destroy() aborts it:
 * a FIFO's open waits for the other end), or null when nothing was opened.
 * Only then: aborting makes a DOMException, whose stack trace was 8% of
 * the CPU of copying small files had every stream's destroy() made one.
 */
function openTarget(
  stream: ReadStream | WriteStream,
  t: Target,
  defFlags: string,
  cb: Callback,
): AbortController | null {
  if (t.handle || stream.destroyed) {
    cb();
    return null;
  }
  let flags: number;
  let mode: number;
  try {
    flags = parseFlags(stream.flags, defFlags);
    mode = parseMode(stream.mode, 0o666);
  } catch (err) {
    cb(err as Error);
    return null;
  }
  const io = new AbortController();
  openat(t.openPath!, flags, mode, { signal: io.signal, own: true }).then(
    (fd) => {
      const handle = new FileHandle(fd);
      t.handle = handle;
      stream.fd = fd;
      cb();
      stream.emit('open', fd);
      stream.emit('ready');
    },
    // Aborted by destroy() (the only one with `io`): the stream ends with
    // destroy()'s error, or none. Passed on, this one would come out with
    // it as an AggregateError (node's streams join a construct error with
    // the destroy's), or as an 'error' after a plain destroy().
    (err: Error) => cb(io.signal.aborted && err.name === 'AbortError' ? undefined : err),
  );
  return io;
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
 * What kind of file `handle` is (statx through the ring), for read-ahead
 * and write-behind: 'file' for a regular file with data in blocks, 'empty'
 * for a regular file without (a new file, or one /proc or sysfs makes anew
 * on every read: reads at offsets of those are not what reading it in
 * turn gives), 'other' for the rest (pipes, FIFOs, ttys, devices) and on
 * failure.
 */
function fileKind(handle: FileHandle, then: (kind: 'file' | 'empty' | 'other', size: number) => void): void {
  const fd = handle[kHold]();
  if (fd < 0) {
    then('other', -1);
    return;
  }
  fstatx(fd, { runtime: handle[kRuntime], mask: STATX_TYPE | STATX_SIZE | STATX_BLOCKS }).then(
    (st) => {
      handle[kRelease]();
      if ((st.mode & 0o170000) !== 0o100000) then('other', -1);
      else if (st.size > 0n && st.blocks > 0n) then('file', Number(st.size));
      else then('empty', -1);
    },
    () => {
      handle[kRelease]();
      then('other', -1);
    },
  );
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
  /** The open in flight (openTarget). */
  #io: AbortController | null = null;
  readonly #onHandleClose = () => this.close();
  /** Reads in flight or done and not yet pushed, in file order. */
  readonly #queue: StreamIoOp[] = [];
  /** How many reads may be in flight (read-ahead), when reading at known offsets. */
  #depth: number;
  /** The offset of the next read to start, or -1 to read at the file's current position. */
  #next: number;
  /** A path opened here without `start`: read from offset 0 if it is a regular file (#checkType). */
  #probing: boolean;
  /** The size _read asked for. */
  #chunk = kReadHighWaterMark;
  /** _read was called and no chunk pushed since. */
  #wanted = false;
  /** A #deliver is queued (a microtask). */
  #soon = false;
  readonly #deliverSoon = (): void => {
    this.#soon = false;
    if (!this.destroyed) this.#deliver();
  };
  /** No more reads to start (end reached, or end of file). */
  #ended = false;
  #handleClosed = false;
  /** The handle the reads in flight hold. */
  #ioHandle: FileHandle | null = null;
  /** The file's size when opened (a regular file with data), else -1. */
  #size = -1;
  // Splice mode (#decide): the WriteStream the bytes go to, the pipes not
  // in use, the steps in flight, and where the splicing started and stands.
  #splice = SPLICE_UNDECIDED;
  #dest: WriteStream | null = null;
  #spliceHandle: FileHandle | null = null;
  #pipes: SplicePipe[] = [];
  #spliceOps = 0;
  #srcBase = 0;
  #dstBase = 0;
  #dstFd = -1;
  /** The source offset of the next step, and where the steps stop. */
  #spliceAt = 0;
  #spliceLimit = 0;
  /** The end of the bytes copied, once a step came back short (end of file) or failed. */
  #cut = Infinity;
  #readError: Error | null = null;
  #writeError: Error | null = null;
  /**
   * Where the destination's bytes stop being whole after a failed write
   * (ENOSPC): steps after the failed one may have written past it.
   */
  #dstCut = Infinity;
  /** Bytes the steps wrote (counted in the destination's bytesWritten). */
  #spliceWrote = 0;
  #spliceRetries = 0;

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
    // Node reads a path it opened without `start` at the current position,
    // which is 0: reading at known offsets reads the same bytes, and lets
    // several reads be in flight. A descriptor or handle given is read at
    // its own position, in turn.
    this.#probing = start === undefined && !target.handle;
    this.#next = start !== undefined ? start : this.#probing ? 0 : -1;
    const hwm = this.readableHighWaterMark || kReadHighWaterMark;
    this.#depth = Math.max(2, Math.min(kReadAheadMax, Math.floor(kReadAheadBytes / hwm)));
    watchSignal(this, o.signal);
  }

  /** True until the file is open. */
  get pending(): boolean {
    return this.fd === null;
  }

  override _construct(cb: Callback): void {
    this.#io = openTarget(this, this.#target, 'r', (err) => {
      this.#io = null;
      if (err || this.destroyed || this.#next < 0) cb(err);
      else this.#checkType(cb);
    });
  }

  /**
   * Read-ahead only for a regular file with data (fileKind): anything else
   * is read one chunk at a time, and one opened here without `start` at
   * its own position, as node does.
   */
  #checkType(cb: Callback): void {
    fileKind(this.#target.handle!, (kind, size) => {
      if (kind !== 'file') {
        this.#depth = 1;
        if (this.#probing) this.#next = -1;
      }
      this.#size = size;
      this.#probing = false;
      cb();
    });
  }

  override _read(n: number): void {
    // A highWaterMark of 0 asks for 0 bytes: read a default chunk (node 20 ends the stream at once).
    this.#chunk = n > 0 ? n : kReadHighWaterMark;
    this.#wanted = true;
    if (this.#splice === SPLICE_UNDECIDED) this.#decide();
    // Splicing pushes nothing: the steps go on by themselves, and reading
    // resumes where they stop (#endSplice).
    if (this.#splice !== SPLICE_OFF) return;
    this.#readOn();
  }

  /** Starts reads, and pushes what is read (or the end). */
  #readOn(): void {
    // A chunk read ahead is pushed a microtask later, not from inside
    // _read: a push there lands in the same read() call, which would hand
    // the caller (an async iterator, read()) two chunks as one where node's
    // gives one.
    this.#fill();
    const q = this.#queue;
    if (q.length === 0) {
      // Nothing more to read (end, or the handle closed): as node, at once.
      if (this.#ended || this.#handleClosed) this.#deliver();
    } else if (q[0]!.done && !this.#soon) {
      this.#soon = true;
      queueMicrotask(this.#deliverSoon);
    }
  }

  /**
   * Starts reads until `#depth` are in flight or waiting to be pushed (one
   * at the current position: those must run in turn), each of the size the
   * stream asked for, none past `end`.
   */
  #fill(): void {
    const depth = this.#next < 0 ? 1 : this.#depth;
    while (!this.#ended && !this.destroyed && this.#queue.length < depth) {
      const room = this.#next >= 0 ? this.end - this.#next + 1 : this.end - this.bytesRead + 1;
      let len = Math.min(this.#chunk, room);
      if (len <= 0) {
        this.#ended = true;
        break;
      }
      // Read-ahead within the size the file had when opened, and one read
      // past it, which finds the end (or what was appended since): a 4 KiB
      // file is two reads, not a read-ahead's worth of 64 KiB buffers.
      const size = this.#size;
      if (size >= 0 && this.#next >= 0) {
        if (this.#next > size && this.#queue.length > 0) break;
        if (this.#next < size) len = Math.min(len, size - this.#next);
      }
      const handle = this.#target.handle!;
      const fd = handle[kHold]();
      if (fd < 0) {
        // The caller closed the handle: node's FileHandle says so at once
        // ('close'), and its streams stop without an error; ours says so
        // once closed, so stop here rather than fail on the closing handle.
        this.#ended = this.#handleClosed = true;
        break;
      }
      this.#ioHandle = handle;
      const buf = Buffer.allocUnsafe(len);
      const op = new StreamIoOp(this, fd, false, buf, null, viewAddress(buf), len, this.#next);
      if (this.#next >= 0) this.#next += len;
      this.#queue.push(op);
      handle[kRuntime].submit(op);
    }
  }

  /** Pushes the next chunk, in file order, if the stream wants one and its read is done. */
  #deliver(): void {
    const q = this.#queue;
    while (this.#wanted && q.length > 0 && q[0]!.done) {
      const op = q.shift()!;
      const res = op.res;
      if (res < 0) {
        this.#dropAll();
        const closing = this.#ioHandle?.[kClosing];
        this.destroy(closing ? undefined : (op.lost ?? systemError(res, 'read')));
        return;
      }
      if (res === 0) {
        this.#ended = true;
        this.#dropAll();
        this.#wanted = false;
        this.push(null);
        return;
      }
      if (this.pos !== undefined) this.pos += res;
      this.bytesRead += res;
      // Data past the size at open: the file grows; read ahead as far as it goes.
      if (this.#size >= 0 && op.pos + res > this.#size) this.#size = -1;
      const buf = op.buf!;
      const len = op.len;
      if (res < len) {
        // A short read (a pipe, a file that changed): the reads after it
        // were made at the wrong offsets. Go on from where this one ended.
        this.#dropAll();
        if (this.#next >= 0) this.#next = op.pos + res;
      }
      this.#wanted = false;
      // A short read (a pipe, the end of the file) keeps a copy, not the whole buffer, alive.
      this.push(res === len ? buf : res > len >>> 1 ? buf.subarray(0, res) : Buffer.from(buf.subarray(0, res)));
    }
    if (this.#wanted && q.length === 0) {
      if (this.#handleClosed) {
        this.#wanted = false;
        this.destroy();
      } else if (this.#ended) {
        this.#wanted = false;
        this.push(null);
      }
    }
  }

  /**
   * Splice mode, decided at the first _read: when the stream is piped (pipe()
   * or pipeline()) into one of our WriteStreams and nothing else reads it
   * (no other 'data' listener, no 'readable' listener, no encoding), from a
   * regular file at known offsets, at least kSpliceMin bytes, to a regular
   * file not opened for appending, on a kernel with IORING_OP_PIPE, and the
   * WriteStream has nothing of its own to write yet: the bytes go from file
   * to file through pipes in the kernel (stream-io.ts), up to the size the
   * file had when opened (or `end`), and never become chunks, as no code
   * could have seen them. bytesRead, and the destination's bytesWritten,
   * grow as the steps complete. Anything that could see a chunk stops it
   * at the next step (another 'data' or 'readable' listener, unpipe(), a
   * second destination, pause()), and so does the destination being written
   * to, ended or destroyed: once the steps in flight are done, the stream
   * reads on from where they stopped, as it would have. Whatever is past
   * the size at open (a file still growing) and the end of the file are
   * read as always, so 'end' comes from a read that returned 0.
   */
  #decide(): void {
    this.#splice = SPLICE_OFF;
    if (this.#next < 0 || this.#depth < 2 || this.bytesRead !== 0 || this.#size < 0) return;
    const limit = Math.min(this.#size, this.end + 1);
    if (limit - this.#next < kSpliceMin) return;
    const dest = this.#spliceDest();
    const handle = this.#target.handle;
    if (dest === null || handle === null || !spliceSupported(handle[kRuntime])) return;
    this.#splice = SPLICE_WAITING;
    this.#dest = dest;
    this.#spliceLimit = limit;
    const rt = handle[kRuntime];
    dest[kWhenConstructed](() => {
      const pipes: Promise<SplicePipe>[] = [];
      for (let i = 0; i < kSplicePipes; i++) pipes.push(takePipe(rt));
      Promise.allSettled(pipes).then((got) => {
        const ok: SplicePipe[] = [];
        for (const g of got) if (g.status === 'fulfilled') ok.push(g.value);
        this.#beginSplice(ok);
      });
    });
  }

  /** The one WriteStream of ours this stream is piped into and nothing else reads from it, or null. */
  #spliceDest(): WriteStream | null {
    const st = (this as unknown as { _readableState: { pipes?: unknown[] } })._readableState;
    if (
      st.pipes === undefined ||
      st.pipes.length !== 1 ||
      this.readableFlowing !== true ||
      this.readableEncoding !== null ||
      this.readableObjectMode ||
      this.listenerCount('data') !== 1 ||
      this.listenerCount('readable') !== 0
    )
      return null;
    const d = st.pipes[0];
    return d instanceof WriteStream ? d : null;
  }

  #beginSplice(pipes: SplicePipe[]): void {
    const dest = this.#dest!;
    const handle = this.#target.handle;
    const at =
      pipes.length === kSplicePipes && handle !== null && !this.destroyed && this.#spliceDest() === dest
        ? dest[kSpliceBegin]()
        : null;
    if (at === null) {
      for (const p of pipes) givePipe(p, true);
      this.#dest = null;
      this.#splice = SPLICE_OFF;
      if (!this.destroyed && this.#wanted) this.#readOn();
      return;
    }
    this.#splice = SPLICE_ON;
    this.#spliceHandle = handle;
    this.#pipes = pipes;
    this.#dstFd = at.fd;
    this.#dstBase = at.pos;
    this.#srcBase = this.#spliceAt = this.#next;
    this.#spliceFill();
  }

  /** Starts a step on every pipe not in use, unless splicing must stop; ends it when none is in flight. */
  #spliceFill(): void {
    const dest = this.#dest!;
    const stop =
      this.destroyed ||
      this.#cut !== Infinity ||
      this.#readError !== null ||
      this.#writeError !== null ||
      this.#spliceDest() !== dest ||
      dest[kSpliceBusy]();
    while (!stop && this.#pipes.length > 0 && this.#spliceAt < this.#spliceLimit) {
      const handle = this.#spliceHandle!;
      const fd = handle[kHold]();
      if (fd < 0) break;
      const p = this.#pipes.pop()!;
      // Steps at page boundaries: a pipe holds whole pages, so a step
      // across one more page than the pipe has slots would come back short.
      const len = Math.min(p.size - (this.#spliceAt % kPage), this.#spliceLimit - this.#spliceAt);
      this.#spliceAt += len;
      this.#spliceStep(fd, this.#spliceAt - len, p, len);
    }
    if (this.#spliceOps === 0) this.#endSplice();
  }

  /** Splices `len` bytes from source offset `at` through `p` to where they go in the destination. */
  #spliceStep(fd: number, at: number, p: SplicePipe, len: number): void {
    const dst = this.#dstBase + (at - this.#srcBase);
    this.#spliceOps++;
    this.#spliceHandle![kRuntime].submit(new SplicePairOp(this, fd, at, p, this.#dstFd, dst, len, false));
  }

  /** A splice step's CQEs (SpliceSink). */
  spliceDone(op: SplicePairOp): void {
    this.#spliceOps--;
    const handle = this.#spliceHandle!;
    if (!op.drain) handle[kRelease]();
    const read = op.read;
    const wrote = op.wrote;
    if (!op.drain && op.lost === undefined && (read === -EINVAL || wrote === -EINVAL) && wrote <= 0) {
      // A file system without splice on one side: the kernel refuses before
      // writing a byte. Node's streams would copy such files, so this one
      // does too: the step's bytes (read into the pipe or not) are copied
      // the usual way, from the step's start, once the steps in flight end.
      this.#cut = Math.min(this.#cut, op.offIn);
      givePipe(op.pipe, read <= 0);
      this.#spliceFill();
      return;
    }
    if (wrote > 0) {
      this.#spliceRetries = 0;
      this.#spliceWrote += wrote;
      this.#dest![kSpliceWritten](wrote);
    }
    if (!op.drain) {
      if (read > 0) {
        this.bytesRead += read;
        if (this.pos !== undefined) this.pos += read;
      }
      if (read <= 0) {
        // The end of the file (or a file that shrank), or a failed read:
        // nothing is copied past it. Steps after it at offsets past the
        // end read nothing.
        this.#cut = Math.min(this.#cut, op.offIn);
        if (read < 0) this.#readError ??= op.lost ?? systemError(read, 'read');
      } else if (read < op.len) {
        // Short: the rest of the step once the pipe is drained.
        op.restAt = op.offIn + read;
        op.restLen = op.len - read;
      }
    }
    // Left in the pipe: the first splice was short (the link cancelled the
    // second), or the second was. Moved on by a splice of its own; a write
    // that moves nothing is retried five times, as the stream's own writes.
    const left = read > 0 ? read - Math.max(wrote, 0) : 0;
    let empty = left === 0;
    const writeFailed = op.lost !== undefined || (wrote < 0 && !(wrote === -ECANCELED && read < op.len));
    if (left > 0 && !writeFailed && this.#writeError === null) {
      if (wrote !== 0 || ++this.#spliceRetries <= 5) {
        const off = op.offOut + Math.max(wrote, 0);
        const drain = new SplicePairOp(this, -1, -1, op.pipe, this.#dstFd, off, left, true);
        drain.restAt = op.restAt;
        drain.restLen = op.restLen;
        this.#spliceOps++;
        handle[kRuntime].submit(drain);
        return;
      }
      this.#writeError = new SystemFailureError('write failed');
      this.#dstCut = Math.min(this.#dstCut, op.offOut + Math.max(wrote, 0));
    } else if (writeFailed) {
      this.#writeError ??= op.lost ?? systemError(wrote, 'write');
      this.#dstCut = Math.min(this.#dstCut, op.offOut + Math.max(wrote, 0));
      empty = false;
    }
    if (empty && op.restLen > 0 && this.#writeError === null && this.#readError === null) {
      const fd = handle[kHold]();
      if (fd >= 0) {
        this.#spliceStep(fd, op.restAt, op.pipe, op.restLen);
        return;
      }
      this.#cut = Math.min(this.#cut, op.restAt);
    }
    if (empty) this.#pipes.push(op.pipe);
    else givePipe(op.pipe, false);
    this.#spliceFill();
  }

  /**
   * No step in flight and none to start: the destination writes on from
   * where the steps stopped, and this stream reads on from there (or fails
   * with the read's error).
   */
  #endSplice(): void {
    this.#splice = SPLICE_OFF;
    for (const p of this.#pipes) givePipe(p, true);
    this.#pipes = [];
    const end = Math.min(this.#spliceAt, this.#cut);
    // After a failed write, only the bytes before it count, as with node's
    // writes in turn: those of later steps are taken back (kSpliceEnd).
    const cut = this.#writeError !== null ? this.#dstCut : Infinity;
    const over = cut !== Infinity ? Math.max(0, this.#spliceWrote - (cut - this.#dstBase)) : 0;
    this.#dest![kSpliceEnd](this.#dstBase + (end - this.#srcBase), this.#writeError, cut, over);
    this.#dest = null;
    this.#spliceHandle = null;
    this.#next = end;
    if (this.destroyed) return;
    if (this.#readError !== null) {
      this.destroy(this.#readError);
      return;
    }
    if (this.#wanted) this.#readOn();
  }

  /** Forgets the reads in flight or waiting: their results will not be pushed. */
  #dropAll(): void {
    for (const op of this.#queue) op.dropped = true;
    this.#queue.length = 0;
  }

  /** A read's CQE (StreamIoSink). */
  streamIoDone(op: StreamIoOp): void {
    this.#ioHandle![kRelease]();
    if (op.dropped || this.destroyed) return;
    this.#deliver();
    this.#fill();
  }

  override destroy(error?: Error, ...rest: unknown[]): this {
    const io = this.#io;
    if (io !== null) {
      this.#io = null;
      io.abort();
    }
    // Reads in flight are cancelled (one blocked on a FIFO would wait
    // forever); each holds its buffer and the handle until its CQE, and
    // closing the handle waits for them.
    for (const op of this.#queue) {
      op.dropped = true;
      if (!op.done) this.#ioHandle![kRuntime].cancel(op);
    }
    this.#queue.length = 0;
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
  /** The open in flight (openTarget). */
  #io: AbortController | null = null;
  readonly #onHandleClose = () => this.close();
  /** Chunks taken and not yet handed to the kernel. */
  #queue: Buffer[] = [];
  #queued = 0;
  /** The write in flight (one at a time), its buffers and its bytes. */
  #op: StreamIoOp | null = null;
  #opBufs: Buffer[] | null = null;
  #inflight = 0;
  /** Bytes taken ahead of the kernel (queued and in flight) before a write's callback waits. */
  #budget = 0;
  /** The budget once the target is known to be a regular file. */
  readonly #behind: number;
  /** _destroy's close, waiting for the writes taken to finish. */
  #onDrained: ((err: Error | null) => void) | null = null;
  /** The write callback waiting for room, and _final's waiting for the last write. */
  #heldCb: Callback | null = null;
  #finalCb: Callback | null = null;
  /** The first write failure: every later write and end() get it. */
  #error: Error | null = null;
  #retries = 0;
  /** Putting the file position right after a short write at the current position. */
  #restoring = false;
  /** Where the next write goes, or -1 for the current position. */
  #at: number;
  #ioHandle: FileHandle | null = null;
  /** _construct has called back; and who waits for it (a ReadStream deciding on splice mode). */
  #constructed = false;
  #onConstructed: (() => void)[] = [];
  /** A ReadStream splices into the file (ReadStream #decide): the stream's own writes wait. */
  #splicing = false;
  /** The handle held while splicing, and whether the file position must be set at the end. */
  #spliceHandle: FileHandle | null = null;
  #spliceSeek = false;
  /** The file's size when the splicing began. */
  #spliceSize = 0;

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
    this.#at = start ?? -1;
    this.#behind = Math.max(this.writableHighWaterMark, kWriteBehind);
    watchSignal(this, o.signal);
  }

  get pending(): boolean {
    return this.fd === null;
  }

  override _construct(done: Callback): void {
    const cb = (err?: Error | null) => {
      done(err);
      this.#constructed = true;
      const waiting = this.#onConstructed;
      this.#onConstructed = [];
      for (const f of waiting) f();
    };
    this.#io = openTarget(this, this.#target, 'w', (err) => {
      this.#io = null;
      if (err || this.destroyed) {
        cb(err);
        return;
      }
      // Write-behind only to a regular file (or block device): a write
      // there never waits on a reader, so destroy() can let the writes it
      // took finish. To anything else a write's callback waits for the
      // write, and destroy() cancels one blocked (a full pipe, a FIFO).
      fileKind(this.#target.handle!, (kind) => {
        if (kind !== 'other') this.#budget = this.#behind;
        cb();
      });
    });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: Callback): void {
    this.#accept(chunk);
    this.#ack(cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: Callback): void {
    for (let i = 0; i < chunks.length; i++) this.#accept(chunks[i]!.chunk);
    this.#ack(cb);
  }

  override _final(cb: Callback): void {
    if (this.#error) cb(this.#error);
    else if (this.#op === null && this.#queue.length === 0 && !this.#splicing) cb();
    else this.#finalCb = cb;
  }

  /** Calls `f` once _construct has called back (at once if it has). */
  [kWhenConstructed](f: () => void): void {
    if (this.#constructed) f();
    else this.#onConstructed.push(f);
  }

  /**
   * A ReadStream starts splicing into this file: where the bytes go (the
   * stream's position), or null where it cannot (not a regular file,
   * O_APPEND, something of its own to write, ended, failed, destroyed).
   * The stream's own writes wait until [kSpliceEnd].
   */
  [kSpliceBegin](): { fd: number; pos: number } | null {
    if (!this.#constructed || this.#budget === 0 || this[kSpliceBusy]() || this.#op !== null || this.#restoring)
      return null;
    const handle = this.#target.handle;
    if (handle === null) return null;
    const fd = handle[kHold]();
    if (fd < 0) return null;
    const n = native();
    const fl = n.fcntl(fd, F_GETFL, 0);
    // Writing at the current position: the steps go at offsets from it,
    // and the position is moved past them at the end, where writes would
    // have left it.
    const pos = this.#at >= 0 ? this.#at : n.lseek(fd, 0, SEEK_CUR);
    if (fl < 0 || (fl & O_APPEND) !== 0 || pos < 0) {
      handle[kRelease]();
      return null;
    }
    this.#spliceSeek = this.#at < 0;
    this.#spliceSize = fileSize(fd);
    this.#spliceHandle = handle;
    this.#splicing = true;
    return { fd, pos };
  }

  /** Whether splicing into this stream must stop (or not start): its own writes, end(), a failure, destroy(). */
  [kSpliceBusy](): boolean {
    return (
      this.destroyed ||
      this.writableEnded ||
      this.#error !== null ||
      this.#queue.length > 0 ||
      this.writableLength > 0 ||
      this.writableCorked > 0
    );
  }

  /** Bytes a splice step wrote. */
  [kSpliceWritten](n: number): void {
    this.bytesWritten += n;
    if (this.pos !== undefined) this.pos += n;
  }

  /**
   * The splicing is over: the stream writes on at `end`, or fails with
   * `err`. After a failed write (ENOSPC), steps in flight after it may have
   * written past `cut`, where writes in turn (node's) would have stopped:
   * the file is cut back there (not below its size before the splicing),
   * and those `over` bytes are taken out of bytesWritten.
   */
  [kSpliceEnd](end: number, err: Error | null, cut = Infinity, over = 0): void {
    const handle = this.#spliceHandle!;
    this.#spliceHandle = null;
    this.#splicing = false;
    if (err !== null && cut !== Infinity) {
      const keep = Math.max(cut, this.#spliceSize);
      try {
        if (fileSize(handle.fd) > keep) nodeFs.ftruncateSync(handle.fd, keep);
      } catch {
        // The write's error is the one to report.
      }
      this.bytesWritten -= over;
      if (this.pos !== undefined) this.pos -= over;
    }
    if (this.#spliceSeek) native().lseek(handle.fd, end, SEEK_SET);
    else this.#at = end;
    handle[kRelease]();
    if (err !== null) this.#fail(err);
    else {
      this.#pump();
      this.#progress();
    }
  }

  #accept(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#queue.push(chunk);
    this.#queued += chunk.length;
  }

  /**
   * Write-behind: the chunks are taken (the caller may write more) while
   * what is queued and in flight fits the budget; past it, `cb` waits for
   * writes to complete. A write that fails later fails the stream.
   */
  #ack(cb: Callback): void {
    if (this.#error) {
      cb(this.#error);
      return;
    }
    this.#pump();
    if (this.#error) cb(this.#error);
    else if (this.#queued + this.#inflight <= this.#budget) cb();
    else this.#heldCb = cb;
  }

  /**
   * Starts the next write when none is in flight: everything queued (at
   * most IOV_MAX buffers) in one write or writev. One at a time, so writes
   * at the current position land in order.
   */
  #pump(): void {
    if (this.#op !== null || this.#restoring || this.#splicing || this.#queue.length === 0 || this.#error) return;
    const handle = this.#target.handle;
    if (!handle) return;
    const fd = handle[kHold]();
    if (fd < 0) {
      this.#fail(new FileClosedError('write'));
      return;
    }
    this.#ioHandle = handle;
    const q = this.#queue;
    const bufs = q.length <= kIovMax ? q : q.slice(0, kIovMax);
    if (bufs === q) this.#queue = [];
    else q.splice(0, kIovMax);
    let len = 0;
    for (let i = 0; i < bufs.length; i++) len += bufs[i]!.length;
    let op: StreamIoOp;
    try {
      op =
        bufs.length === 1
          ? new StreamIoOp(this, fd, true, bufs[0]!, null, bufferAddress(bufs[0]!, 'chunk'), len, this.#at)
          : new StreamIoOp(this, fd, true, null, new Iovecs(bufs), 0, len, this.#at);
    } catch (err) {
      handle[kRelease]();
      this.#fail(err as Error);
      return;
    }
    this.#queued -= len;
    this.#inflight = len;
    this.#op = op;
    this.#opBufs = bufs;
    handle[kRuntime].submit(op);
  }

  /** A write's CQE (StreamIoSink). */
  streamIoDone(op: StreamIoOp): void {
    this.#ioHandle![kRelease]();
    const bufs = this.#opBufs!;
    this.#op = null;
    this.#opBufs = null;
    this.#inflight = 0;
    if (op.dropped) {
      this.#release(op.lost ?? null);
      this.#drained();
      return;
    }
    let res = op.res;
    if (res >= 0) {
      for (let i = 0; i < bufs.length; i++) {
        if (viewDetached(bufs[i]!)) {
          this.#fail(detachedBuffer('write', res));
          return;
        }
      }
    }
    // A non-blocking descriptor: retried, as a write that moved nothing.
    if (res === -EAGAIN) res = 0;
    if (res < 0) {
      this.#fail(op.lost ?? systemError(res, 'write'));
      return;
    }
    if (res === 0) {
      // Retried five times, as node does, then fails.
      if (++this.#retries > 5) {
        this.#fail(new SystemFailureError('write failed'));
        return;
      }
    } else {
      this.#retries = 0;
      this.bytesWritten += res;
      if (this.pos !== undefined) this.pos += res;
      if (this.#at >= 0) this.#at += res;
    }
    if (res < op.len) {
      // What is left of this write goes first again.
      let i = 0;
      let left = res;
      while (left >= bufs[i]!.length) left -= bufs[i++]!.length;
      const rest = bufs.slice(i);
      rest[0] = rest[0]!.subarray(left);
      this.#queue = rest.concat(this.#queue);
      this.#queued += op.len - res;
      if (shortAtCurrentPosition(op.pos, res, op.len)) {
        this.#restoring = true;
        restorePosition(op.fd, res, { runtime: this.#ioHandle![kRuntime] }).then(
          () => {
            this.#restoring = false;
            this.#pump();
            this.#progress();
          },
          (err: Error) => {
            this.#restoring = false;
            this.#fail(err);
          },
        );
        return;
      }
    }
    this.#pump();
    this.#progress();
  }

  /** Calls back a held write once there is room, and _final once all is written. */
  #progress(): void {
    const held = this.#heldCb;
    if (held !== null && this.#queued + this.#inflight <= this.#budget) {
      this.#heldCb = null;
      held();
    }
    const final = this.#finalCb;
    if (final !== null && this.#op === null && this.#queue.length === 0 && !this.#restoring && !this.#splicing) {
      this.#finalCb = null;
      final();
    }
    this.#drained();
  }

  /** Destroyed: closes once the writes taken are written (or one failed). */
  #drained(): void {
    const f = this.#onDrained;
    if (
      f === null ||
      this.#op !== null ||
      this.#restoring ||
      this.#splicing ||
      (this.#queue.length > 0 && !this.#error)
    )
      return;
    this.#onDrained = null;
    f(this.#error);
  }

  /** A write failed: the stream fails with `err`, through a callback it waits for, or destroy. */
  #fail(err: Error): void {
    this.#error = err;
    this.#queue = [];
    this.#queued = 0;
    if (this.#heldCb !== null || this.#finalCb !== null) this.#release(err);
    else if (this.autoClose && !this.destroyed) this.destroy(err);
    // Else the next write or end() gets it, as node's would.
    this.#drained();
  }

  /** Calls back whatever waits, with `err`. */
  #release(err: Error | null): void {
    const held = this.#heldCb;
    const final = this.#finalCb;
    this.#heldCb = this.#finalCb = null;
    if (held !== null) held(err);
    if (final !== null) final(err);
  }

  override destroy(error?: Error, ...rest: unknown[]): this {
    const io = this.#io;
    if (io !== null) {
      this.#io = null;
      io.abort();
    }
    // A write in flight to anything but a regular file is cancelled if it
    // still can be (a full pipe); it holds its buffers and the handle until
    // its CQE, and closing waits for it.
    // Writes behind (to a regular file) were promised to the caller: they
    // finish before the file is closed (_destroy).
    const op = this.#op;
    if (op !== null && this.#budget === 0) {
      op.dropped = true;
      if (!op.done) this.#ioHandle![kRuntime].cancel(op);
    }
    return (Writable.prototype.destroy as (this: Writable, e?: Error, ...r: unknown[]) => this).call(
      this,
      error,
      ...rest,
    );
  }

  override _destroy(err: Error | null, cb: Callback): void {
    this.fd = null;
    const close = (e: Error | null) => closeTarget(this.#target, this.#onHandleClose, this.flush, e, cb);
    if (this.#op === null && this.#queue.length === 0 && !this.#restoring && !this.#splicing) close(err);
    else {
      this.#onDrained = (e) => close(err ?? e);
      this.#drained();
    }
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

/** A file's size (0 if fstat fails): a sync fstat, once per splice, on an error path or at its start. */
function fileSize(fd: number): number {
  try {
    return nodeFs.fstatSync(fd).size;
  } catch {
    return 0;
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
