// Where readFiles puts small files: places cut from shared chunks, so that a
// 4 KiB file costs no ArrayBuffer of its own (that cost more than reading
// it). Places are taken front to back from the current chunk, each on 8
// bytes; a chunk is never written again once a place in it is handed out,
// and none overlaps another. A new chunk is sized to what the batch may
// still need, so a small batch holds no more.
//
// The allocator also guesses how large the next small file will be, so the
// batch can reserve a place before the read and have the kernel read the
// file straight into it.
import { Buffer } from 'node:buffer';
import { markAsUntransferable } from 'node:worker_threads';
import { native } from '../native.js';

/**
 * Small results are cut from chunks of at most this many bytes (and no
 * more than the batch can still use): a result kept alive keeps its chunk
 * alive, so this bounds what one retained small file can hold. 4 KiB files
 * ran 10-15% more files per CPU-second than with a Buffer each.
 */
const CHUNK_SIZE = 64 * 1024;
/** Files of at most this many bytes go into a chunk; at most this much of a chunk's end goes unused. */
export const SMALL_MAX = 8 * 1024;

function align8(n: number): number {
  return (n + 7) & ~7;
}

export class ChunkAllocator {
  /** The chunk places are cut from, its address (0 if not `addressed`), and where its free part starts. */
  chunk: Buffer | undefined = undefined;
  address = 0;
  #off = 0;
  /**
   * Bytes to reserve for the next file, read there directly (no copy) if
   * it fits: a decaying maximum of recent small files' sizes; 0 (at the
   * start, or nothing learnt): no reservation.
   */
  guess = 0;

  constructor(
    /** Whether the kernel reads into chunks (their addresses are taken); only then is anything learnt. */
    readonly addressed: boolean,
    /** Files of at least this many bytes are not learnt from (they keep a buffer of their own). */
    readonly learnBelow: number,
  ) {}

  /**
   * Reserves `n` bytes of the current chunk (or of a new one, sized for
   * `files` more places of `n` bytes) for the kernel to read into; returns
   * its offset in `chunk`, at `address` + the offset.
   */
  reserve(n: number, files: number): number {
    const off = this.#room(n, files);
    this.#off = off + align8(n);
    return off;
  }

  /**
   * `n` bytes of the current chunk (not yet written), for one result.
   * Results start on 8 bytes, as in node's Buffer pool: a Float64Array
   * over one (at its byteOffset) works.
   */
  alloc(n: number, files: number): Buffer {
    const off = this.reserve(n, files);
    return this.chunk!.subarray(off, off + n);
  }

  /** The first `n` bytes of `src`, copied into the current chunk. */
  cut(src: Buffer, n: number, files: number): Buffer {
    const out = this.alloc(n, files);
    src.copy(out, 0, 0, n);
    return out;
  }

  /** A small file's size, for the next reservations. */
  learn(n: number): void {
    if (!this.addressed || n > SMALL_MAX || n >= this.learnBelow) return;
    // A decaying maximum: same-sized files all fit; among mixed sizes most do.
    const g = this.guess;
    this.guess = n > g - (g >> 3) ? n : g - (g >> 3);
  }

  /**
   * Where `n` bytes fit in the current chunk, starting a new one if they do
   * not: sized to what the batch may still need (`files` more, each taken
   * as `n` bytes).
   */
  #room(n: number, files: number): number {
    const chunk = this.chunk;
    if (chunk !== undefined && this.#off + n <= chunk.length) return this.#off;
    const fresh = Buffer.allocUnsafeSlow(Math.max(n, Math.min(CHUNK_SIZE, files * align8(n))));
    // A chunk is shared by many results: transferring one result would
    // detach the chunk and empty every other result cut from it (and, while
    // a read is in flight, take memory the kernel writes into). Node marks
    // its own Buffer pool the same way.
    markAsUntransferable(fresh.buffer);
    this.chunk = fresh;
    this.address = this.addressed ? native().address(fresh) : 0;
    this.#off = 0;
    return 0;
  }
}
