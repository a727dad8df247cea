// read, write, readv, writev on a file descriptor.
import { InvalidArgTypeError, OutOfRangeError, recaptureStack } from '../errors.js';
import { Iovecs, viewAddress } from '../ring/structs.js';
import * as U from '../ring/uapi.js';
import type { Sqe } from '../ring/sqe.js';
import { PromiseOp } from '../runtime/op.js';
import {
  bufferAddress,
  detachedBuffer,
  mayHaveMoved,
  run,
  validateBuffer,
  validateFd,
  viewDetached,
  type RunOptions,
} from './common.js';

/** Offsets are numbers or bigints; -1 (or null) means the file's current position. */
export type Position = number | bigint | null;

export interface RwOptions extends RunOptions {
  /** Where in `buffer` to start (default 0). */
  offset?: number;
  /** How many bytes (default: the rest of the buffer from `offset`). */
  length?: number;
  /** The file offset; null or -1 for the current position (default). */
  position?: Position;
}

export const MAX_RW = 0x7ffff000; // what the kernel moves in one read/write (MAX_RW_COUNT)

function checkOffset(buf: ArrayBufferView, offset: number): number {
  if (!Number.isInteger(offset) || offset < 0 || offset > buf.byteLength)
    throw new OutOfRangeError('offset', `>= 0 && <= ${buf.byteLength}`, offset);
  return offset;
}

function checkLength(buf: ArrayBufferView, offset: number, length: number | undefined): number {
  const len = length ?? buf.byteLength - offset;
  if (!Number.isInteger(len) || len < 0 || offset + len > buf.byteLength)
    throw new OutOfRangeError('length', `>= 0 && <= ${buf.byteLength - offset}`, length);
  return Math.min(len, MAX_RW);
}

const MAX_POSITION = 2n ** 63n - 1n;

/**
 * A file position for the SQE's 64-bit offset: -1 (or null) for the current
 * position, else an offset the kernel's signed loff_t can hold. Anything past
 * that is refused, as node's fs.read refuses it: written as is, 2n ** 64n
 * would wrap to offset 0.
 */
export function toPosition(p: Position | undefined): number | bigint {
  if (p === null || p === undefined) return -1;
  if (typeof p === 'bigint') {
    if (p < -1n || p > MAX_POSITION) throw new OutOfRangeError('position', `>= -1 && <= ${MAX_POSITION}`, p);
    return p;
  }
  if (typeof p !== 'number') throw new InvalidArgTypeError('position', 'of type number or bigint', p);
  if (!Number.isInteger(p)) throw new OutOfRangeError('position', 'an integer', p);
  if (p < -1 || p > Number.MAX_SAFE_INTEGER)
    throw new OutOfRangeError('position', `>= -1 && <= ${Number.MAX_SAFE_INTEGER}`, p);
  return p;
}
const pos = toPosition;

/** A target's length, for RwOp's default (read()/write() check the buffer before they get here). */
function byteLengthOf(target: unknown): number {
  validateBuffer(target, 'target');
  return target.byteLength;
}

/**
 * False when `t`'s buffer is certainly not detached. A typed array reads
 * length 0 once detached, and asking it is far cheaper than `.buffer` (a
 * call into V8's runtime, measured at about 40 ns) or even `byteLength` and
 * `instanceof DataView` (node 20, a Buffer: about 9 and 4 ns, against 1 ns
 * for `length`: this runs twice per op). A DataView has no `length` (and
 * throws on a detached buffer instead), and an empty view could be either,
 * so those ask the buffer.
 */
function mayBeDetached(t: ArrayBufferView): boolean {
  const n = (t as { length?: unknown }).length;
  if (n !== 0 && n !== undefined) return false;
  return t.buffer.byteLength === 0;
}

/**
 * A read or write of `length` bytes of `target` from byte `start`. The
 * bytes are not given as a view of their own: making one per op cost as
 * much as the rest of the op's setup. The address of `target` comes from
 * the caller's argument check (bufferAddress), or, without one, from
 * viewAddress when the SQE is written; either way a buffer detached in
 * between is caught there (its byteLength reads 0) and refused.
 */
export abstract class RwOp<T = number> extends PromiseOp<T> {
  readonly #target: ArrayBufferView;
  readonly #start: number;
  readonly #length: number;
  readonly #address: number;
  // Own fields (PromiseOp keeps their defaults on its prototype): read()
  // and FileHandle.read set them on every op, and a property added after
  // construction costs a map transition and often an out-of-object
  // property store per op.
  override stackAtCaller = false;
  override onSettle: (() => void) | undefined = undefined;
  constructor(
    readonly fd: number,
    target: ArrayBufferView,
    readonly position: number | bigint,
    /** What the op holds until its last CQE (the caller's buffer). */
    readonly keep: ArrayBufferView,
    start = 0,
    length = byteLengthOf(target),
    /** `target`'s address if the caller has it (bufferAddress), else -1. */
    address = -1,
  ) {
    super();
    this.#target = target;
    this.#start = start;
    this.#length = length;
    this.#address = address;
  }
  /** The bytes the kernel is told to fill (or send), as a Uint8Array over the caller's buffer. */
  get view(): Uint8Array {
    const t = this.#target;
    if (t instanceof Uint8Array && this.#start === 0 && this.#length === t.byteLength) return t;
    return new Uint8Array(t.buffer, t.byteOffset + this.#start, this.#length);
  }
  protected prepOp(sqe: Sqe, opcode: number): void {
    const t = this.#target;
    let a = this.#address;
    // An op can wait in the backlog: its buffer may have been detached since.
    if (a < 0 || mayBeDetached(t)) a = viewAddress(t);
    sqe.prepRw(opcode, this.fd, a + this.#start, this.#length, this.position);
  }
  /**
   * The buffer transferred away while the kernel had it (common.ts): fail
   * with ERR_URING_BUFFER_DETACHED rather than report bytes that went
   * elsewhere. A non-empty view reads byteLength 0 only once detached, so
   * for a typed array this costs one load per op.
   */
  protected override settleWith(res: number, flags: number): void {
    if (this.#length !== 0 && mayBeDetached(this.#target)) this.fail(detachedBuffer(this.syscall, res));
    else super.settleWith(res, flags);
  }
  /** Abandoned (aborted) before its CQE: nobody to fail, but the transfer is still reported. */
  override lateComplete(res: number): void {
    if (this.#length !== 0 && mayHaveMoved(res) && mayBeDetached(this.#target)) detachedBuffer(this.syscall, res);
  }
}

export class ReadOp extends RwOp<number> {
  get syscall(): string {
    return 'read';
  }
  prep(sqe: Sqe): void {
    this.prepOp(sqe, U.IORING_OP_READ);
  }
}

/**
 * A read that settles with `{ bytesRead, buffer }` itself (FileHandle.read's
 * result, node's shape), so no second promise maps the byte count.
 */
export class ReadResultOp<T extends ArrayBufferView> extends RwOp<{ bytesRead: number; buffer: T }> {
  get syscall(): string {
    return 'read';
  }
  prep(sqe: Sqe): void {
    this.prepOp(sqe, U.IORING_OP_READ);
  }
  override result(res: number): { bytesRead: number; buffer: T } {
    return { bytesRead: res, buffer: this.keep as T };
  }
}

export class WriteOp extends RwOp<number> {
  get syscall(): string {
    return 'write';
  }
  prep(sqe: Sqe): void {
    this.prepOp(sqe, U.IORING_OP_WRITE);
  }
}

/** The op for read/write(fd, buffer, options), arguments checked (throws). */
function rwOp<O extends RwOp<number>>(
  Kind: new (
    fd: number,
    t: ArrayBufferView,
    p: number | bigint,
    k: ArrayBufferView,
    s: number,
    l: number,
    a: number,
  ) => O,
  fd: number,
  buffer: ArrayBufferView,
  options: RwOptions | undefined,
): O {
  validateFd(fd);
  const address = bufferAddress(buffer);
  let off = 0;
  let length: number | undefined;
  let position: Position | undefined;
  if (options !== undefined && options !== null) {
    if (options.offset !== undefined) off = checkOffset(buffer, options.offset);
    length = options.length;
    position = options.position;
  }
  return new Kind(fd, buffer, pos(position), buffer, off, checkLength(buffer, off, length), address);
}

/**
 * Reads into `buffer`; resolves with the number of bytes read (0 at end of
 * file). Not an async function, for speed: the promise is the op's own;
 * bad arguments still reject, and errors still carry the caller's stack.
 *
 * Do not transfer `buffer.buffer` (postMessage, structuredClone with
 * `transfer`, ArrayBuffer.prototype.transfer) until the promise settles, nor
 * after an abort: its memory would leave with the transfer and may be freed
 * while the kernel writes into it. A read that finds its buffer detached
 * when it completes rejects with ERR_URING_BUFFER_DETACHED (and warns once).
 */
export function read(fd: number, buffer: ArrayBufferView, options?: RwOptions): Promise<number> {
  let op: ReadOp;
  try {
    op = rwOp(ReadOp, fd, buffer, options);
    op.stackAtCaller = true;
    run(op, options);
  } catch (err) {
    return Promise.reject(recaptureStack(err as Error, read));
  }
  return op.promise;
}

export function readOp(fd: number, buffer: ArrayBufferView, options?: RwOptions): ReadOp {
  return run(rwOp(ReadOp, fd, buffer, options), options);
}

/** Writes from `buffer`; resolves with the number of bytes written. As read(), not an async function. */
export function write(fd: number, buffer: ArrayBufferView, options?: RwOptions): Promise<number> {
  let op: WriteOp;
  try {
    op = rwOp(WriteOp, fd, buffer, options);
    op.stackAtCaller = true;
    run(op, options);
  } catch (err) {
    return Promise.reject(recaptureStack(err as Error, write));
  }
  return op.promise;
}

export function writeOp(fd: number, buffer: ArrayBufferView, options?: RwOptions): WriteOp {
  return run(rwOp(WriteOp, fd, buffer, options), options);
}

export class VectorOp extends PromiseOp<number> {
  constructor(
    readonly fd: number,
    readonly iov: Iovecs,
    readonly position: number | bigint,
    readonly writing: boolean,
  ) {
    super();
  }
  get syscall(): string {
    return this.writing ? 'writev' : 'readv';
  }
  prep(sqe: Sqe): void {
    if (this.writing) sqe.prepWritev(this.fd, this.iov, this.position);
    else sqe.prepReadv(this.fd, this.iov, this.position);
  }
  /** As RwOp's: a buffer transferred away while the kernel had it fails the op. */
  protected override settleWith(res: number, flags: number): void {
    if (this.#anyDetached()) this.fail(detachedBuffer(this.syscall, res));
    else super.settleWith(res, flags);
  }
  override lateComplete(res: number): void {
    if (mayHaveMoved(res) && this.#anyDetached()) detachedBuffer(this.syscall, res);
  }
  #anyDetached(): boolean {
    for (const v of this.iov.views) if (viewDetached(v)) return true;
    return false;
  }
}

function vector(
  fd: number,
  buffers: readonly ArrayBufferView[],
  position: Position | undefined,
  writing: boolean,
  options?: RunOptions,
): Promise<number> {
  validateFd(fd);
  if (!Array.isArray(buffers)) throw new InvalidArgTypeError('buffers', 'an ArrayBufferView[]', buffers);
  for (let i = 0; i < buffers.length; i++) validateBuffer(buffers[i], `buffers[${i}]`); // holes too
  return run(new VectorOp(fd, new Iovecs(buffers), pos(position), writing), options).promise;
}

/**
 * Scatter read into `buffers` in order; resolves with the total bytes read.
 * As with read(), transferring any of the buffers before the promise
 * settles lets the kernel write into freed memory; a readv that sees it
 * rejects with ERR_URING_BUFFER_DETACHED.
 */
export async function readv(
  fd: number,
  buffers: readonly ArrayBufferView[],
  position?: Position,
  options?: RunOptions,
): Promise<number> {
  try {
    return await vector(fd, buffers, position, false, options);
  } catch (err) {
    throw recaptureStack(err as Error, readv);
  }
}

/** Gather write from `buffers` in order; resolves with the total bytes written. */
export async function writev(
  fd: number,
  buffers: readonly ArrayBufferView[],
  position?: Position,
  options?: RunOptions,
): Promise<number> {
  try {
    return await vector(fd, buffers, position, true, options);
  } catch (err) {
    throw recaptureStack(err as Error, writev);
  }
}
