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
import { MAX_RW } from '../ops/rw.js';
import { validateBuffer } from '../ops/common.js';

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
  const buf = Buffer.allocUnsafeSlow(size + 1);
  let total = 0;
  for (;;) {
    checkAborted(checked);
    const n = await read(fd, buf, {
      ...options,
      offset: total,
      length: Math.min(buf.length - total, MAX_RW),
      position: -1,
    });
    if (n === 0) break;
    total += n;
    if (total === buf.length) return readChunks(fd, [buf], total, options, checked);
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
  const fd = await openat(path, constants.O_RDONLY, 0o666, options);
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
