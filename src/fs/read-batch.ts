// One readFiles or forEachFile call on the ring: each file one
// OpenReadCloseOp (ops/open-read-close.ts), a linked openat → read → close
// chain on a direct descriptor.
//
// As many chains are in flight as there are lanes (`concurrency`) and free
// direct slots; a chain that completes starts the next file from inside the
// completion loop, so the SQEs of a whole drained batch go to the kernel in
// the next io_uring_enter.
//
// Each lane has a read buffer of bufferSize + 1 bytes (lanes.ts). A file
// that fills at least half of it keeps it (the lane gets a new one): the
// kernel's copy is the only one. A smaller file is copied out and the
// lane's buffer reused: a file of at most SMALL_MAX bytes into a chunk
// shared with other small results (chunk-allocator.ts), a larger one into a
// Buffer of its exact size. No two results overlap.
//
// Small files are usually not copied at all: once some have been read, each
// new chain reserves a place in the chunk as large as recent small files
// were and reads with readv into that place first and its lane buffer
// after it (bufferSize + 1 bytes in all, so nothing about sizes has to be
// known: no statx). A file that fits is its place; one that does not is
// put together from both parts, as if no place had been reserved.
import { Buffer } from 'node:buffer';
import { abortError, recaptureStack, systemError, UringClosedError } from '../errors.js';
import { native } from '../native.js';
import type { Runtime } from '../runtime/runtime.js';
import type { RunOptions } from '../ops/index.js';
import { CancelDirectOp } from '../ops/cancel-direct.js';
import { OpenReadCloseOp, type OpenReadCloseSink } from '../ops/open-read-close.js';
import { ChunkAllocator, SMALL_MAX } from './chunk-allocator.js';
import { directSlots, type DirectSlots } from './direct.js';
import { readWhole } from './io.js';
import { Lanes } from './lanes.js';
import type { Each, ReadFileSettled } from './read-files.js';
import { TWO32 } from '../u64.js';
import { IORING_FEAT_CQE_SKIP, IOSQE_CQE_SKIP_SUCCESS } from '../ring/uapi.js';

type Data = Buffer | string;

export class ReadBatch implements OpenReadCloseSink {
  readonly promise: Promise<(Data | ReadFileSettled<Data>)[]>;
  #resolve!: (v: (Data | ReadFileSettled<Data>)[]) => void;
  #reject!: (e: unknown) => void;
  readonly #results: (Data | ReadFileSettled<Data>)[];
  readonly #slots: DirectSlots;
  readonly #lanes: Lanes;
  /** What every chain reads: bufferSize + 1 bytes, the one more telling a file that did not fit. */
  readonly readLength: number;
  readonly cqeSkip: number;
  /** Files of at least this many bytes keep their lane's buffer. */
  readonly #handoff: number;
  /** Every path, NUL-terminated, back to back; `#pathOff[i]` is where path i starts. */
  readonly #names: Buffer;
  readonly #pathOff: Float64Array;
  readonly #namesAddr: number;
  readonly #chunks: ChunkAllocator;
  /** Per lane, the chunk and offset of the place its chain reads into first (its `placed` bytes). */
  readonly #placeChunk: (Buffer | undefined)[];
  readonly #placeOff: Float64Array;
  /** Per lane two iovecs (chunk place, lane buffer) for readv, and their address. */
  readonly #iov: Uint32Array;
  readonly #iovAddr: number;
  /** Chains in flight, by lane (for cancellation). */
  readonly #chains: (OpenReadCloseOp | undefined)[];
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
    this.readLength = bufferSize + 1;
    // No CQE for a successful open where the kernel can skip it (two per file).
    this.cqeSkip = runtime.ring.features & IORING_FEAT_CQE_SKIP ? IOSQE_CQE_SKIP_SUCCESS : 0;
    // forEachFile's views of lane buffers reach its caller while the kernel
    // may read the lane's next file into them (lanes.ts).
    this.#lanes = new Lanes(runtime, lanes, this.readLength, each !== undefined && encoding === null);
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
    this.#chains = new Array(lanes).fill(undefined);
    this.#placeChunk = new Array(lanes).fill(undefined);
    this.#placeOff = new Float64Array(lanes);
    this.#iov = new Uint32Array(lanes * 8);
    this.#iovAddr = direct && encoding === null ? native().address(this.#iov) : 0;
    this.#chunks = new ChunkAllocator(this.#iovAddr !== 0, this.#handoff);
    if (signal) {
      const onAbort = () => this.#abort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#removeAbort = () => signal.removeEventListener('abort', onAbort);
    }
    if (direct) this.#pump();
    else this.#fallback(lanes);
  }

  // ---------------------------------------------------------- the ops' sink

  pathAddress(index: number): number {
    return this.#namesAddr + this.#pathOff[index]!;
  }

  iovAddress(lane: number): number {
    return this.#iovAddr + lane * 32;
  }

  laneAddress(lane: number): number {
    return this.#lanes.addr[lane]!;
  }

  /**
   * A chain's three CQEs are all in (or the runtime gave it up). readFiles
   * settles it now. forEachFile, whose callback is the caller's code, settles
   * it from a microtask with every other chain of the same drain: the
   * callback then runs outside the runtime's completion loop (where it could
   * not safely close the runtime or wait for anything), and the chains its
   * lanes start are written before the next io_uring_enter all the same.
   */
  openReadCloseDone(chain: OpenReadCloseOp): void {
    if (this.each === undefined) {
      this.#settle(chain);
      return;
    }
    if (this.#ready.push(chain) === 1) queueMicrotask(this.#deliver);
  }

  // ------------------------------------------------------------ the chains

  /** Starts chains while there are files, free lanes and free direct slots. */
  #pump(): void {
    const n = this.paths.length;
    const rt = this.runtime;
    const lanes = this.#lanes;
    while (!this.#done && this.#next < n && lanes.anyFree) {
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
      const lane = lanes.take();
      const index = this.#next++;
      const chain = new OpenReadCloseOp(this, index, this.paths[index]!, slot, lane);
      this.#chains[lane] = chain;
      const guess = this.#chunks.guess;
      if (guess > 0) this.#reserve(chain, guess);
      rt.submit(chain);
    }
  }

  /** forEachFile's chains finished since the last delivery. */
  #ready: OpenReadCloseOp[] = [];
  readonly #deliver = (): void => {
    const ready = this.#ready;
    this.#ready = [];
    for (const chain of ready) this.#settle(chain);
  };

  /** Records the file, frees its slot and lane, starts the next. */
  #settle(chain: OpenReadCloseOp): void {
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
      else this.#fulfil(chain.index, this.#take(chain, chain.readRes));
    }
    // A lane whose read was abandoned may still be written by the kernel: never reuse it.
    if (!lost) {
      this.#lanes.release(chain.lane);
      // No file left to start here: the buffer can serve the next batch.
      if (this.#done || this.#next >= this.paths.length) this.#lanes.giveBack(chain.lane);
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
  #reserve(chain: OpenReadCloseOp, n: number): void {
    const chunks = this.#chunks;
    const off = chunks.reserve(n, this.paths.length - this.#next + 1);
    const addr = chunks.address + off;
    const lane = chain.lane;
    chain.placed = n;
    this.#placeChunk[lane] = chunks.chunk;
    this.#placeOff[lane] = off;
    const iov = this.#iov;
    const w = lane * 8;
    iov[w] = addr % TWO32;
    iov[w + 1] = Math.floor(addr / TWO32);
    iov[w + 2] = n;
    iov[w + 3] = 0;
    const laneAddr = this.#lanes.addr[lane]!;
    iov[w + 4] = laneAddr % TWO32;
    iov[w + 5] = Math.floor(laneAddr / TWO32);
    iov[w + 6] = this.readLength - n;
    iov[w + 7] = 0;
  }

  // ----------------------------------------------------------- the results

  /** The file's `n` bytes (in its chunk place and/or its lane buffer) as a Buffer no other result overlaps (or a string). */
  #take(chain: OpenReadCloseOp, n: number): Data {
    const lane = chain.lane;
    const buf = this.#lanes.buf[lane]!;
    const chunks = this.#chunks;
    chunks.learn(n);
    const d = chain.placed;
    if (d > 0) {
      const at = this.#placeOff[lane]!;
      const place = this.#placeChunk[lane]!;
      // Buffer.from(arrayBuffer, ...) makes the view directly; subarray goes
      // through the species constructor (about 100 ns more per file). The
      // chunk is an ArrayBuffer of its own (byteOffset 0).
      if (n <= d) return Buffer.from(place.buffer, at, n);
      // Larger than its place: the first d bytes there, the rest at the start of the lane buffer.
      const out = n <= SMALL_MAX ? chunks.alloc(n, this.paths.length - this.#settledCount) : Buffer.allocUnsafeSlow(n);
      place.copy(out, 0, at, at + d);
      buf.copy(out, d, 0, n - d);
      return out;
    }
    if (this.encoding) return buf.toString(this.encoding, 0, n);
    // The file keeps the buffer the kernel read it into; the lane gets a new one.
    if (n >= this.#handoff) return this.#lanes.handOff(lane).subarray(0, n);
    if (n > 0 && n <= SMALL_MAX) return chunks.cut(buf, n, this.paths.length - this.#settledCount);
    const out = Buffer.allocUnsafeSlow(n);
    buf.copy(out, 0, 0, n);
    return out;
  }

  /**
   * forEachFile: the file's bytes where the kernel put them (its lane
   * buffer, read again by the lane's next file once the callback returns),
   * or its text.
   */
  #lane(chain: OpenReadCloseOp): Data {
    const buf = this.#lanes.buf[chain.lane]!;
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
      else if (each.onError) each.onError(recaptureStack(v, each.caller), index, path);
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

  /** A file larger than bufferSize: opened again and read whole. */
  #readRest(index: number, path: string): void {
    const run: RunOptions = { runtime: this.runtime, signal: this.signal };
    readWhole(path, run).then(
      (buf) => this.#record(index, this.encoding ? buf.toString(this.encoding) : buf),
      (err: Error) => this.#record(index, err),
    );
  }

  /** readFiles: file `index` read (the call not done). */
  #fulfil(index: number, v: Data): void {
    this.#results[index] = this.settle ? { status: 'fulfilled', path: this.paths[index]!, value: v } : v;
    this.#settledOne();
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
      if (chain !== undefined) this.runtime.submit(new CancelDirectOp(chain.fileSlot));
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
