// Whole-file reads and writes over a descriptor, correct where simple loops
// are not: files whose size is 0 or wrong (/proc, FIFOs, files growing or
// shrinking while read) are read to end of file; short reads and writes go on
// from where they stopped; nothing moves more than the kernel's per-call
// limit (MAX_RW_COUNT, just under 2 GiB) at once.
import { Buffer, constants as bufferConstants } from 'node:buffer';
import { constants } from 'node:fs';
import { isAnyArrayBuffer } from 'node:util/types';
import { UringError } from '../errors.js';
import { fstatx, read, write, type RunOptions } from '../ops/index.js';
import { InvalidArgTypeError } from '../errors.js';

/** The most one read or write moves (Linux MAX_RW_COUNT). */
export const MAX_RW = 0x7ffff000;
/** node:fs refuses to read files larger than this into one Buffer. */
export const kIoMaxLength = 2 ** 31 - 1;
const kChunk = 64 * 1024;

export type WriteData =
  | string
  | ArrayBufferView
  | Iterable<string | ArrayBufferView>
  | AsyncIterable<string | ArrayBufferView>;

class FileTooLargeError extends UringError {
  constructor(size: number) {
    super('ERR_FS_FILE_TOO_LARGE', `File size (${size}) is greater than 2 GiB`);
    this.name = 'RangeError';
  }
}

/** Reads `fd` from its current position to end of file. */
export async function readAll(fd: number, options?: RunOptions): Promise<Buffer> {
  options?.signal?.throwIfAborted();
  const st = await fstatx(fd, options);
  const regular = (st.mode & constants.S_IFMT) === constants.S_IFREG;
  const size = regular ? Number(st.size) : 0;
  if (size > kIoMaxLength) throw new FileTooLargeError(size);
  if (size === 0) return readChunks(fd, [], 0, options);
  // One byte more than the size: a read that fills it means the file grew.
  const buf = Buffer.allocUnsafeSlow(size + 1);
  let total = 0;
  for (;;) {
    const n = await read(fd, buf, { ...options, offset: total, length: Math.min(buf.length - total, MAX_RW), position: -1 });
    if (n === 0) break;
    total += n;
    if (total === buf.length) return readChunks(fd, [buf], total, options);
  }
  return total === buf.length - 1 ? buf.subarray(0, total) : Buffer.from(buf.subarray(0, total));
}

async function readChunks(fd: number, chunks: Buffer[], total: number, options?: RunOptions): Promise<Buffer> {
  for (;;) {
    const chunk = Buffer.allocUnsafe(kChunk);
    const n = await read(fd, chunk, { ...options, position: -1 });
    if (n === 0) break;
    chunks.push(n === kChunk ? chunk : chunk.subarray(0, n));
    total += n;
    if (total > bufferConstants.MAX_LENGTH) throw new FileTooLargeError(total);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

/** Writes all of `buf` at the current position, going on after short writes. */
export async function writeBuffer(fd: number, buf: ArrayBufferView, options?: RunOptions): Promise<void> {
  let off = 0;
  const len = buf.byteLength;
  while (off < len) {
    options?.signal?.throwIfAborted();
    off += await write(fd, buf, { ...options, offset: off, length: Math.min(len - off, MAX_RW), position: -1 });
  }
}

function toBytes(chunk: unknown, encoding: BufferEncoding): ArrayBufferView {
  if (typeof chunk === 'string') return Buffer.from(chunk, encoding);
  if (ArrayBuffer.isView(chunk)) return chunk;
  if (isAnyArrayBuffer(chunk)) return new Uint8Array(chunk);
  throw new InvalidArgTypeError('data', 'of type string or an instance of Buffer, TypedArray, DataView, or an iterable of them', chunk);
}

/** Writes a string, a buffer, or every chunk of an (async) iterable. */
export async function writeAll(fd: number, data: WriteData, encoding: BufferEncoding, options?: RunOptions): Promise<void> {
  if (typeof data === 'string' || ArrayBuffer.isView(data)) return writeBuffer(fd, toBytes(data, encoding), options);
  if (data !== null && typeof data === 'object' && (Symbol.asyncIterator in data || Symbol.iterator in data)) {
    for await (const chunk of data as AsyncIterable<unknown>) await writeBuffer(fd, toBytes(chunk, encoding), options);
    return;
  }
  throw new InvalidArgTypeError('data', 'of type string or an instance of Buffer, TypedArray, DataView, or an iterable of them', data);
}
