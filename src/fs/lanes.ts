// A batch's lanes: each file in flight has one, with the read buffer the
// kernel reads that file into, bufferSize + 1 bytes on a cache line, made
// when first needed. The buffers outlive their batch: once a batch has no
// files left to start, each lane's buffer goes to a pool the next batch on
// the same runtime takes from, weakly held.
import { Buffer } from 'node:buffer';
import { markAsUntransferable } from 'node:worker_threads';
import { native } from '../native.js';
import type { Runtime } from '../runtime/runtime.js';

/**
 * Read buffers start on a cache line: measured here, 64 KiB reads into a
 * 16-byte-aligned buffer ran 10% slower than into a 64-byte- or
 * page-aligned one, and page alignment was no faster than 64 bytes.
 */
const ALIGN = 64;

/**
 * Lane buffers of finished batches, per runtime and size, for the next
 * batch: allocating 64 of 64 KiB cost more than reading 100 small files.
 * Held weakly, so they cost no memory beyond the next garbage collection;
 * only buffers whose chains' every CQE has arrived are put here.
 */
type Pool = { ref: WeakRef<Buffer>; addr: number }[];
const pools = new WeakMap<Runtime, Map<number, Pool>>();
const POOL_MAX = 256;

/** The pool of lane buffers of `size` bytes: untransferable ones (keyed -size) apart from the others. */
function poolOf(runtime: Runtime, size: number, untransferable: boolean): Pool {
  let bySize = pools.get(runtime);
  if (bySize === undefined) pools.set(runtime, (bySize = new Map()));
  const key = untransferable ? -size : size;
  let pool = bySize.get(key);
  if (pool === undefined) bySize.set(key, (pool = []));
  return pool;
}

/** `count` lanes with buffers of `size` bytes, and which of them are free. */
export class Lanes {
  /** Each lane's read buffer (undefined until needed, or once handed off) and its address. */
  readonly buf: (Buffer | undefined)[];
  readonly addr: Float64Array;
  readonly #free: number[] = [];

  constructor(
    readonly runtime: Runtime,
    count: number,
    readonly size: number,
    /**
     * forEachFile hands out views of its lane buffers, which the kernel
     * reads the lane's next file into (by an address taken once). A caller
     * that transferred one (postMessage, structuredClone) would take the
     * memory with it, to be freed under the kernel: these buffers are
     * marked untransferable, so a transfer copies them (node 20) or throws
     * (node 21+) and never detaches them. readFiles' lane buffers reach the
     * caller only as a result the kernel is done with (handed off), so they
     * stay transferable, in a pool of their own.
     */
    readonly untransferable: boolean,
  ) {
    this.buf = new Array(count).fill(undefined);
    this.addr = new Float64Array(count);
    for (let i = count - 1; i >= 0; i--) this.#free.push(i);
  }

  get anyFree(): boolean {
    return this.#free.length > 0;
  }

  /** A free lane (there is one: `anyFree`), with a buffer. */
  take(): number {
    const lane = this.#free.pop()!;
    if (this.buf[lane] === undefined) this.#newBuffer(lane);
    return lane;
  }

  /** `lane` is free again (the kernel done with its buffer). */
  release(lane: number): void {
    this.#free.push(lane);
  }

  /** Lane `lane`'s buffer leaves with a result: the lane gets a new one when next taken. */
  handOff(lane: number): Buffer {
    const buf = this.buf[lane]!;
    this.buf[lane] = undefined;
    return buf;
  }

  /** Lane `lane`'s buffer (the kernel done with it) to the pool, for the next batch. */
  giveBack(lane: number): void {
    const buf = this.buf[lane];
    if (buf === undefined) return;
    this.buf[lane] = undefined;
    const pool = poolOf(this.runtime, buf.length, this.untransferable);
    if (pool.length < POOL_MAX) pool.push({ ref: new WeakRef(buf), addr: this.addr[lane]! });
  }

  #newBuffer(lane: number): void {
    const size = this.size;
    const pool = poolOf(this.runtime, size, this.untransferable);
    while (pool.length > 0) {
      const kept = pool.pop()!;
      const buf = kept.ref.deref();
      if (buf === undefined) continue;
      this.buf[lane] = buf;
      this.addr[lane] = kept.addr;
      return;
    }
    const raw = Buffer.allocUnsafeSlow(size + ALIGN - 1);
    if (this.untransferable) markAsUntransferable(raw.buffer);
    const addr = native().address(raw);
    const start = (ALIGN - (addr % ALIGN)) % ALIGN;
    this.buf[lane] = raw.subarray(start, start + size);
    this.addr[lane] = addr + start;
  }
}
