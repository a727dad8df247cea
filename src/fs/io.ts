// Whole-file reads and writes over a descriptor, correct where simple loops
// are not: files whose size is 0 or wrong (/proc, FIFOs, files growing or
// shrinking while read) are read to end of file; short reads and writes go on
// from where they stopped; nothing moves more than the kernel's per-call
// limit (MAX_RW_COUNT, just under 2 GiB) at once.
import { Buffer, constants as bufferConstants } from 'node:buffer';
import { constants } from 'node:fs';
import { AbortError, FileTooLargeError, InvalidArgTypeError } from '../errors.js';
import { close, fstatx, openat, read, write, type RunOptions } from '../ops/index.js';
import { restorePosition, shortAtCurrentPosition } from '../ops/position.js';
import { validateBuffer } from '../ops/common.js';
import { CloseOp, OpenatOp } from '../ops/open.js';
import { MAX_RW, ReadOp } from '../ops/rw.js';
import { StatxOp } from '../ops/statx.js';
import { AT_EMPTY_PATH, AT_FDCWD } from '../ring/uapi.js';
import type { Runtime } from '../runtime/runtime.js';

/** The most one read or write moves (Linux MAX_RW_COUNT): the ops' own limit. */
export { MAX_RW };
/** node:fs refuses to read files larger than this into one Buffer. */
export const kIoMaxLength = 2 ** 31 - 1;
const kChunk = 64 * 1024;
/**
 * With a signal, writes go in pieces of this size (node's writeFile chunk),
 * the signal looked at before each: an abort soon after the call (the next
 * tick) stops a large write as it stops node's, which a single write done
 * within the ring's submit would not give it time to.
 */
const kAbortableChunk = 512 * 1024;

export type WriteData =
  string | ArrayBufferView | Iterable<string | ArrayBufferView> | AsyncIterable<string | ArrayBufferView>;

/** Rejects as node:fs/promises does when `signal` is aborted: an AbortError whose cause is the reason. */
export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
}

/**
 * Reads `fd` from its current position to end of file. `options.signal`
 * cancels the ops in the kernel; `checked`, a signal only looked at before
 * each op (node's way: FileHandle.readFile).
 */
export async function readAll(fd: number, options?: RunOptions, checked?: AbortSignal): Promise<Buffer> {
  checkAborted(options?.signal);
  checkAborted(checked);
  const st = await fstatx(fd, options);
  if (checked) {
    // node's readFile spans event-loop turns (each step a threadpool round
    // trip), so an abort from the next setImmediate always stops it; the
    // ring's would be done within this turn. With a signal, wait for it.
    await new Promise(setImmediate);
    checkAborted(checked);
  }
  const regular = (st.mode & constants.S_IFMT) === constants.S_IFREG;
  const size = regular ? Number(st.size) : 0;
  if (size > kIoMaxLength) throw new FileTooLargeError(size);
  if (size === 0) return readChunks(fd, [], 0, options, checked);
  // One byte more than the size: a read that fills it means the file grew.
  return readOn(fd, Buffer.allocUnsafeSlow(size + 1), 0, options, checked);
}

const O_CLOEXEC = 0o2000000;
const STATX_TYPE_SIZE = 0x0001 | 0x0200;

/**
 * readFile(path) without a signal, for uring/fs/promises: open, fstat, one
 * read of the file's size plus a byte, close. A regular file's read that
 * comes back short of that ended at the end of the file, so no read is
 * spent finding the end (readAll's loop, for a descriptor it is handed,
 * does that read: five round trips through JavaScript, here four). The
 * ops' own promises are awaited here, not the op functions' async wrappers
 * (a Promise and a turn each); the caller re-takes the stack of a failure.
 * A file of size 0 (/proc, FIFOs) or one that grew is read on to its end.
 */
export async function readFileWhole(runtime: Runtime, path: string, flags: number): Promise<Buffer> {
  const open = new OpenatOp(AT_FDCWD, path, flags | O_CLOEXEC, 0o666, true);
  runtime.submit(open);
  const fd = await open.promise;
  try {
    const st = new StatxOp(fd, '', AT_EMPTY_PATH, STATX_TYPE_SIZE, 'fstat');
    runtime.submit(st);
    const stats = await st.promise;
    const regular = (stats.mode & constants.S_IFMT) === constants.S_IFREG;
    const size = regular ? Number(stats.size) : 0;
    // No size to go by (/proc, FIFOs): in chunks to the end, without readAll's second fstat.
    if (size === 0) return await readChunks(fd, [], 0, { runtime });
    if (size >= kIoMaxLength) return await readAll(fd, { runtime });
    // One byte more than the size: a read that fills it means the file grew.
    const buf = Buffer.allocUnsafeSlow(size + 1);
    const rd = new ReadOp(fd, buf, -1, buf, 0, size + 1);
    runtime.submit(rd);
    const n = await rd.promise;
    // A regular file's read short of what was asked ended at its end: no read to find it.
    if (n === size) return buf.subarray(0, n);
    return await readOn(fd, buf, n, { runtime });
  } finally {
    const c = new CloseOp(fd);
    runtime.submit(c);
    await c.promise;
  }
}

/**
 * The rest of a file whose first `total` bytes are in `buf` (its size plus
 * a byte): read on to the end; past the buffer (the file grew), in chunks.
 * `checked` as readAll's.
 */
async function readOn(
  fd: number,
  buf: Buffer,
  total: number,
  options?: RunOptions,
  checked?: AbortSignal,
): Promise<Buffer> {
  for (;;) {
    if (total === buf.length) return readChunks(fd, [buf], total, options, checked);
    checkAborted(checked);
    const n = await read(fd, buf, {
      ...options,
      offset: total,
      length: Math.min(buf.length - total, MAX_RW),
      position: -1,
    });
    if (n === 0) break;
    total += n;
  }
  return total === buf.length - 1 ? buf.subarray(0, total) : Buffer.from(buf.subarray(0, total));
}

async function readChunks(
  fd: number,
  chunks: Buffer[],
  total: number,
  options?: RunOptions,
  checked?: AbortSignal,
): Promise<Buffer> {
  for (;;) {
    checkAborted(checked);
    const chunk = Buffer.allocUnsafe(kChunk);
    const n = await read(fd, chunk, { ...options, position: -1 });
    if (n === 0) break;
    chunks.push(n === kChunk ? chunk : chunk.subarray(0, n));
    total += n;
    if (total > bufferConstants.MAX_LENGTH) throw new FileTooLargeError(total);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

/** Opens `path`, reads it to end of file and closes it, with regular descriptors. */
export async function readWhole(path: string, options: RunOptions): Promise<Buffer> {
  const fd = await openat(path, constants.O_RDONLY, 0o666, { ...options, own: true });
  try {
    return await readAll(fd, options);
  } finally {
    await close(fd, { runtime: options.runtime });
  }
}

/**
 * Writes all of `buf`, going on after short writes: from `position` when
 * given, else at the file's current position (put right after a short write
 * there: see ops/position.ts, so that the next write fails as write(2)'s
 * would instead of landing over this one). Resolves with the bytes written.
 */
export async function writeBuffer(
  fd: number,
  buf: ArrayBufferView,
  options?: RunOptions,
  position?: number,
): Promise<number> {
  let off = 0;
  const len = buf.byteLength;
  while (off < len) {
    checkAborted(options?.signal);
    const at = position === undefined ? -1 : position + off;
    const length = Math.min(len - off, options?.signal ? kAbortableChunk : MAX_RW);
    const n = await write(fd, buf, { ...options, offset: off, length, position: at });
    if (shortAtCurrentPosition(at, n, length)) await restorePosition(fd, n, options);
    off += n;
  }
  return len;
}

/** A chunk of an iterable as node writes it: a view as is, anything else through Buffer.from (which rejects what it cannot take). */
function toBytes(chunk: unknown, encoding: BufferEncoding): ArrayBufferView {
  if (ArrayBuffer.isView(chunk)) return chunk;
  return Buffer.from(chunk as string, encoding);
}

/** node's isCustomIterable: what writeFile writes chunk by chunk. */
export function isCustomIterable(data: unknown): data is Iterable<unknown> | AsyncIterable<unknown> {
  if (data === null || data === undefined || typeof data === 'string' || ArrayBuffer.isView(data)) return false;
  const o = data as { [Symbol.iterator]?: unknown; [Symbol.asyncIterator]?: unknown };
  return typeof o[Symbol.iterator] === 'function' || typeof o[Symbol.asyncIterator] === 'function';
}

/**
 * Writes a string, a buffer, or every chunk of an (async) iterable, from
 * `position` when given (see writeBuffer), else at the current position.
 */
export async function writeAll(
  fd: number,
  data: WriteData,
  encoding: BufferEncoding,
  options?: RunOptions,
  position?: number,
): Promise<void> {
  checkAborted(options?.signal);
  if (typeof data === 'string' || ArrayBuffer.isView(data)) {
    if (typeof data !== 'string') validateBuffer(data, 'data');
    await writeBuffer(fd, toBytes(data, encoding), options, position);
    return;
  }
  if (isCustomIterable(data)) {
    let at = position;
    for await (const chunk of data as AsyncIterable<unknown>) {
      checkAborted(options?.signal);
      const n = await writeBuffer(fd, toBytes(chunk, encoding), options, at);
      if (at !== undefined) at += n;
    }
    return;
  }
  throw new InvalidArgTypeError('data', 'of type string or an instance of Buffer, TypedArray, or DataView', data);
}
