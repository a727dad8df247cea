// A provided-buffer ring (IORING_REGISTER_PBUF_RING): a ring of buffer
// descriptors in page-aligned memory we share with the kernel. The kernel
// takes a buffer for each receive (the CQE says which, by id); the
// application hands it back with add() + advance() when done with its data.
import { InvalidArgTypeError, OutOfRangeError, systemError } from '../errors.js';
import { validateObject } from '../validate.js';
import { native } from '../native.js';
import type { Ring } from './ring.js';
import { addressOf, putU64 } from './structs.js';
import { validateRing } from './register.js';
import {
  IORING_REGISTER_PBUF_RING,
  IORING_REGISTER_PBUF_STATUS,
  IORING_UNREGISTER_PBUF_RING,
  IOU_PBUF_RING_INC,
} from './uapi.js';

export interface BufRingOptions {
  /** IOU_PBUF_RING_INC: buffers may be consumed a part at a time. */
  incremental?: boolean;
}

export class BufRing {
  readonly ring: Ring;
  readonly bgid: number;
  readonly entries: number;
  readonly mask: number;
  readonly #mem: ArrayBuffer;
  readonly #u32: Uint32Array;
  readonly #u16: Uint16Array;
  #tail = 0;
  #registered = true;
  /** buffer id -> the buffer the kernel may write into; referenced while in the ring. */
  readonly #bufs: (Uint8Array | undefined)[];
  /** buffer id -> its address, so recycle() needs no native call. */
  readonly #addrs: Float64Array;

  /** io_uring_setup_buf_ring: `entries` must be a power of two up to 32768. */
  constructor(ring: Ring, entries: number, bgid: number, options: BufRingOptions = {}) {
    validateRing(ring);
    validateObject(options, 'options');
    if (!Number.isInteger(entries) || entries < 1 || entries > 32768 || (entries & (entries - 1)) !== 0) {
      throw new OutOfRangeError('entries', 'a power of two from 1 to 32768', entries);
    }
    if (!Number.isInteger(bgid) || bgid < 0 || bgid > 0xffff)
      throw new OutOfRangeError('bgid', '>= 0 && <= 65535', bgid);
    const page = native().pageSize;
    const size = Math.ceil((entries * 16) / page) * page;
    const mem = native().alignedAlloc(size);
    if (typeof mem === 'number') throw systemError(mem, 'mmap');
    this.#mem = mem;
    this.#u32 = new Uint32Array(mem);
    this.#u16 = new Uint16Array(mem);
    // struct io_uring_buf_reg { u64 ring_addr; u32 ring_entries; u16 bgid; u16 flags; u32 min_left?; u32 resv[5]; }
    const reg = new Uint32Array(10);
    putU64(reg, 0, addressOf(mem, 'ring'));
    reg[2] = entries;
    reg[3] = bgid | ((options.incremental ? IOU_PBUF_RING_INC : 0) << 16);
    ring.register(IORING_REGISTER_PBUF_RING, reg, 1);
    this.ring = ring;
    this.bgid = bgid;
    this.entries = entries;
    this.mask = entries - 1;
    this.#bufs = new Array(entries).fill(undefined);
    this.#addrs = new Float64Array(entries);
  }

  /**
   * io_uring_buf_ring_add: puts `buf` in the ring as id `bid`, `offset`
   * places after the tail. Not visible to the kernel until advance().
   */
  add(buf: Uint8Array, bid: number, offset = 0): void {
    if (!(buf instanceof Uint8Array)) throw new InvalidArgTypeError('buf', 'an instance of Uint8Array', buf);
    if (!Number.isInteger(bid) || bid < 0 || bid >= this.entries)
      throw new OutOfRangeError('bid', `>= 0 && < ${this.entries}`, bid);
    const addr = addressOf(buf);
    this.#bufs[bid] = buf;
    this.#addrs[bid] = addr;
    this.#put(addr, buf.byteLength, bid, offset);
  }

  #put(addr: number, len: number, bid: number, offset: number): void {
    const slot = ((this.#tail + offset) & this.mask) * 4;
    putU64(this.#u32, slot, addr);
    this.#u32[slot + 2] = len;
    // bid is the low half of the 4th word; the high half of entry 0 is the tail.
    this.#u16[slot * 2 + 6] = bid;
  }

  /**
   * Hands buffer `bid` (added before, and since consumed by the kernel) back
   * to the kernel: add() + advance(1), without looking up its address again.
   */
  recycle(bid: number): void {
    const buf = this.#bufs[bid];
    if (!buf) throw new OutOfRangeError('bid', 'the id of a buffer added to this ring', bid);
    this.#put(this.#addrs[bid]!, buf.byteLength, bid, 0);
    this.advance(1);
  }

  /** io_uring_buf_ring_advance: makes `count` added buffers visible to the kernel. */
  advance(count: number): void {
    this.#tail = (this.#tail + count) & 0xffff;
    // Release: the entries written by add() must be visible before the tail.
    Atomics.store(this.#u16, 7, this.#tail);
  }

  /** The buffer with id `bid` (as the CQE's bufferId names it). */
  buffer(bid: number): Uint8Array {
    const b = this.#bufs[bid];
    if (!b) throw new OutOfRangeError('bid', 'the id of a buffer added to this ring', bid);
    return b;
  }

  /** IORING_REGISTER_PBUF_STATUS: the kernel's head (how many buffers it has consumed). */
  head(): number {
    const st = new Uint32Array(10);
    st[0] = this.bgid;
    this.ring.register(IORING_REGISTER_PBUF_STATUS, st, 1);
    return st[1]!;
  }

  /** Buffers the kernel can still pick. */
  available(): number {
    return (this.#tail - this.head()) & 0xffff;
  }

  /** io_uring_free_buf_ring: unregisters; the memory is freed once unreferenced. */
  close(): void {
    if (!this.#registered) return;
    this.#registered = false;
    if (!this.ring.closed) {
      const reg = new Uint32Array(10);
      reg[3] = this.bgid;
      this.ring.registerRaw(IORING_UNREGISTER_PBUF_RING, reg, 1);
    }
    this.#bufs.fill(undefined);
  }

  /** The shared memory (kept referenced by this object while registered). */
  get memory(): ArrayBuffer {
    return this.#mem;
  }
}
