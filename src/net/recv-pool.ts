// The provided-buffer ring that every socket of a runtime receives into.
//
// Multishot recv asks the kernel to pick a buffer from this group for each
// receive, so no socket owns a buffer while it waits for data (a thousand
// idle connections cost nothing).
//
// Where the kernel supports it (6.12+), the ring is incremental
// (IOU_PBUF_RING_INC): the kernel fills each buffer front to back, one
// receive after another from whichever sockets, and says with
// IORING_CQE_F_BUF_MORE that it will go on filling the same buffer. The
// received bytes are handed to the reader as they lie, a Buffer over their
// part of the slab: no copy. Once the kernel has filled a slab it is done
// with it; the slab leaves the ring (the chunks cut from it keep it alive
// for as long as the readers hold them, as node's pooled Buffers do) and a
// fresh one takes its buffer id. The kernel never writes into a part of a
// slab that a reader has been given. The memory in use is sequential: the
// slab being filled, and what readers still hold. A reader holds a view of
// memory the kernel is still filling, so slabs are marked untransferable:
// postMessage/structuredClone copy them instead of detaching them (a
// detached slab could be freed under the kernel).
//
// Without incremental rings, the bytes of each CQE are copied out into
// slabs of our own and the ring buffer goes straight back to the kernel.
//
// Either way a slow reader never holds the shared ring: it holds only its
// chunks, and those are bounded by the socket's pause threshold.
import { markAsUntransferable } from 'node:worker_threads';
import { native } from '../native.js';
import { InvalidArgValueError, systemError } from '../errors.js';
import { validateBoolean, validateInteger, validateObject } from '../validate.js';
import { BufRing } from '../ring/buf-ring.js';
import * as U from '../ring/uapi.js';
import { validateRuntime, type Runtime } from '../runtime/runtime.js';
import { EEXIST, EINVAL } from '../errno.js';

export interface RecvPoolOptions {
  /**
   * Buffers in the ring (a power of two; default 64). With 64 KiB each, 4
   * MiB: what the kernel can place in one batch of receives before the pool
   * runs dry (-ENOBUFS: a re-arm, nothing lost). 256 (16 MiB, the copying
   * pool's size) made the slow-reader test's RSS peak 16 MiB higher.
   */
  count?: number;
  /** Bytes per buffer (default 64 KiB): the most one receive returns. */
  size?: number;
  /** Use an incremental ring (no copy) where the kernel has them (default true). */
  incremental?: boolean;
}

const SLAB_SIZE = 64 * 1024;
const FIRST_BGID = 0x4e00; // groups below are left to the application's own buffer rings
const F_BUF_MORE = U.IORING_CQE_F_BUF_MORE;

function registerRing(runtime: Runtime, count: number, incremental: boolean): BufRing {
  for (let bgid = FIRST_BGID; ; bgid++) {
    try {
      return new BufRing(runtime.ring, count, bgid, { incremental });
    } catch (err) {
      if ((err as { errno?: number }).errno !== -EEXIST || bgid > FIRST_BGID + 256) throw err;
    }
  }
}

/** A slab for the incremental ring: not zeroed (the kernel writes before anyone reads), never detached. */
function newSlab(size: number): Buffer<ArrayBuffer> {
  const slab = Buffer.allocUnsafeSlow(size);
  markAsUntransferable(slab.buffer);
  return slab;
}

export class RecvPool {
  readonly ring: BufRing;
  readonly size: number;
  readonly count: number;
  /** The kernel fills buffers part by part and the chunks are views of them (no copy). */
  readonly incremental: boolean;
  /** Buffer id -> the slab in the ring under that id. */
  readonly #bufs: Buffer[] = [];
  /** Incremental: buffer id -> its slab's ArrayBuffer (reading .buffer per chunk showed in profiles). */
  readonly #abs: ArrayBuffer[] = [];
  /** Incremental: buffer id -> where in #abs[bid] the kernel writes next. */
  readonly #next: number[] = [];
  /** Receives the kernel could not place for want of a buffer (each costs a re-arm). */
  enobufs = 0;
  /** Slabs filled and replaced (incremental), for tests. */
  refills = 0;
  // Copying: chunks are cut from 64 KiB slabs, as node cuts small Buffers
  // from its 8 KiB pool: Buffer.allocUnsafe of 4 KiB and more allocates an
  // ArrayBuffer each (measured 850 ns, against 195 ns for a slab view with
  // its copy).
  #slab: Buffer = Buffer.alloc(0);
  #slabOff = 0;

  constructor(runtime: Runtime, options: RecvPoolOptions = {}) {
    const count = options.count ?? 64;
    const size = options.size ?? SLAB_SIZE;
    let ring: BufRing | undefined;
    if (options.incremental ?? true) {
      try {
        ring = registerRing(runtime, count, true);
      } catch (err) {
        if ((err as { errno?: number }).errno !== -EINVAL) throw err; // before 6.12: no IOU_PBUF_RING_INC
      }
    }
    this.incremental = ring !== undefined;
    ring ??= registerRing(runtime, count, false);
    this.ring = ring;
    this.size = size;
    this.count = count;
    if (this.incremental) {
      // Slabs of their own (not zeroed: the kernel writes before anyone reads).
      for (let bid = 0; bid < count; bid++) {
        const slab = newSlab(size);
        this.#bufs.push(slab);
        this.#abs.push(slab.buffer);
        this.#next.push(slab.byteOffset);
        ring.add(slab, bid, bid);
      }
    } else {
      // One mapping, reused: every buffer goes back as soon as it is copied out.
      const mem = native().alignedAlloc(count * size);
      if (typeof mem === 'number') throw systemError(mem, 'mmap');
      for (let bid = 0; bid < count; bid++) {
        const view = Buffer.from(mem, bid * size, size);
        this.#bufs.push(view);
        ring.add(view, bid, bid);
      }
    }
    ring.advance(count);
  }

  get bgid(): number {
    return this.ring.bgid;
  }

  /**
   * The `len` (> 0) bytes a receive CQE with `flags` placed in buffer
   * `bid`, as a Buffer that is the reader's to keep; the buffer goes back to
   * (or is replaced in) the ring as the kernel allows.
   */
  take(bid: number, len: number, flags: number): Buffer {
    if (this.incremental) {
      const off = this.#next[bid]!;
      // (Buffer.from of an ArrayBuffer measured faster than subarray.)
      const chunk = Buffer.from(this.#abs[bid]!, off, len);
      if (flags & F_BUF_MORE) this.#next[bid] = off + len;
      else this.#refill(bid);
      return chunk;
    }
    const buf = this.#bufs[bid]!;
    let out: Buffer;
    if (len > SLAB_SIZE >> 2) {
      out = Buffer.allocUnsafe(len);
      buf.copy(out, 0, 0, len);
    } else {
      let off = this.#slabOff;
      if (off + len > this.#slab.length) {
        this.#slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
        off = 0;
      }
      buf.copy(this.#slab, off, 0, len);
      out = this.#slab.subarray(off, off + len);
      this.#slabOff = (off + len + 7) & ~7;
    }
    this.ring.recycle(bid);
    return out;
  }

  /** The kernel filled slab `bid`: it leaves the ring to its chunks' readers, a new one takes its id. */
  #refill(bid: number): void {
    const slab = newSlab(this.size);
    this.#bufs[bid] = slab;
    this.#abs[bid] = slab.buffer;
    this.#next[bid] = slab.byteOffset;
    this.refills++;
    this.ring.add(slab, bid);
    this.ring.advance(1);
  }
}

const pools = new WeakMap<Runtime, RecvPool>();
const configured = new WeakMap<Runtime, RecvPoolOptions>();

/** The runtime's receive pool, created on first use. */
export function recvPool(runtime: Runtime): RecvPool {
  let pool = pools.get(runtime);
  if (!pool) {
    pool = new RecvPool(runtime, configured.get(runtime));
    pools.set(runtime, pool);
  }
  return pool;
}

/** Sizes the runtime's receive pool; only before its first socket reads. Returns false if too late. */
export function configureRecvPool(runtime: Runtime, options: RecvPoolOptions): boolean {
  validateRuntime(runtime, 'runtime');
  validateObject(options, 'options');
  // Checked now: the pool is made (and these used) at the first socket's first read.
  const { count, size, incremental } = options;
  if (count !== undefined) {
    validateInteger(count, 'options.count', 1, 32768);
    if ((count & (count - 1)) !== 0) throw new InvalidArgValueError('options.count', count, 'must be a power of two');
  }
  if (size !== undefined) validateInteger(size, 'options.size', 1, 0x7fffffff);
  if (incremental !== undefined) validateBoolean(incremental, 'options.incremental');
  if (pools.has(runtime)) return false;
  configured.set(runtime, options);
  return true;
}
