// read, write, readv, writev on a file descriptor.
import { recaptureStack } from '../errors.js';
import { Iovecs } from '../ring/structs.js';
import type { Sqe } from '../ring/sqe.js';
import { PromiseOp } from '../runtime/op.js';
import { OutOfRangeError } from '../errors.js';
import { run, validateBuffer, validateFd, type RunOptions } from './common.js';

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

const MAX_RW = 0x7ffff000; // what the kernel moves in one read/write (MAX_RW_COUNT)

function range(buf: ArrayBufferView, offset = 0, length?: number): [number, number] {
  if (!Number.isInteger(offset) || offset < 0 || offset > buf.byteLength) throw new OutOfRangeError('offset', `>= 0 && <= ${buf.byteLength}`, offset);
  const len = length ?? buf.byteLength - offset;
  if (!Number.isInteger(len) || len < 0 || offset + len > buf.byteLength) throw new OutOfRangeError('length', `>= 0 && <= ${buf.byteLength - offset}`, length);
  return [offset, Math.min(len, MAX_RW)];
}

function pos(p: Position | undefined): number | bigint {
  if (p === null || p === undefined) return -1;
  if (typeof p === 'bigint') {
    if (p < -1n) throw new OutOfRangeError('position', '>= -1', p);
    return p;
  }
  if (!Number.isInteger(p) || p < -1) throw new OutOfRangeError('position', 'an integer >= -1', p);
  return p;
}

export class ReadOp extends PromiseOp<number> {
  constructor(readonly fd: number, readonly view: Uint8Array, readonly position: number | bigint, readonly keep: ArrayBufferView) {
    super();
  }
  get syscall(): string {
    return 'read';
  }
  prep(sqe: Sqe): void {
    sqe.prepRead(this.fd, this.view, this.view.byteLength, this.position);
  }
}

export class WriteOp extends PromiseOp<number> {
  constructor(readonly fd: number, readonly view: Uint8Array, readonly position: number | bigint, readonly keep: ArrayBufferView) {
    super();
  }
  get syscall(): string {
    return 'write';
  }
  prep(sqe: Sqe): void {
    sqe.prepWrite(this.fd, this.view, this.view.byteLength, this.position);
  }
}

function bytes(buf: ArrayBufferView, offset: number, len: number): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset + offset, len);
}

/** Reads into `buffer`; resolves with the number of bytes read (0 at end of file). */
export async function read(fd: number, buffer: ArrayBufferView, options?: RwOptions): Promise<number> {
  try {
    return await readOp(fd, buffer, options).promise;
  } catch (err) {
    throw recaptureStack(err as Error, read);
  }
}

export function readOp(fd: number, buffer: ArrayBufferView, options?: RwOptions): ReadOp {
  validateFd(fd);
  validateBuffer(buffer);
  const [off, len] = range(buffer, options?.offset, options?.length);
  return run(new ReadOp(fd, bytes(buffer, off, len), pos(options?.position), buffer), options);
}

/** Writes from `buffer`; resolves with the number of bytes written. */
export async function write(fd: number, buffer: ArrayBufferView, options?: RwOptions): Promise<number> {
  try {
    return await writeOp(fd, buffer, options).promise;
  } catch (err) {
    throw recaptureStack(err as Error, write);
  }
}

export function writeOp(fd: number, buffer: ArrayBufferView, options?: RwOptions): WriteOp {
  validateFd(fd);
  validateBuffer(buffer);
  const [off, len] = range(buffer, options?.offset, options?.length);
  return run(new WriteOp(fd, bytes(buffer, off, len), pos(options?.position), buffer), options);
}

export class VectorOp extends PromiseOp<number> {
  constructor(readonly fd: number, readonly iov: Iovecs, readonly position: number | bigint, readonly writing: boolean) {
    super();
  }
  get syscall(): string {
    return this.writing ? 'writev' : 'readv';
  }
  prep(sqe: Sqe): void {
    if (this.writing) sqe.prepWritev(this.fd, this.iov, this.position);
    else sqe.prepReadv(this.fd, this.iov, this.position);
  }
}

function vector(fd: number, buffers: readonly ArrayBufferView[], position: Position | undefined, writing: boolean, options?: RunOptions): Promise<number> {
  validateFd(fd);
  if (!Array.isArray(buffers)) validateBuffer(buffers, 'buffers');
  buffers.forEach((b, i) => validateBuffer(b, `buffers[${i}]`));
  return run(new VectorOp(fd, new Iovecs(buffers), pos(position), writing), options).promise;
}

/** Scatter read into `buffers` in order; resolves with the total bytes read. */
export async function readv(fd: number, buffers: readonly ArrayBufferView[], position?: Position, options?: RunOptions): Promise<number> {
  try {
    return await vector(fd, buffers, position, false, options);
  } catch (err) {
    throw recaptureStack(err as Error, readv);
  }
}

/** Gather write from `buffers` in order; resolves with the total bytes written. */
export async function writev(fd: number, buffers: readonly ArrayBufferView[], position?: Position, options?: RunOptions): Promise<number> {
  try {
    return await vector(fd, buffers, position, true, options);
  } catch (err) {
    throw recaptureStack(err as Error, writev);
  }
}
