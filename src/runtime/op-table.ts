// The op table: which op each in-flight user data belongs to.
//
// User data (its layout: ring/user-data.ts) names a slot here and the
// slot's generation. A slot's generation moves on every release, so a late
// or duplicated CQE for an op that has finished can never reach the op now
// using the slot. The generation's top bit (FD_RESULTS_BIT) says every
// result of the op is a new fd: the native teardown closes those the
// runtime never reaped (Ring.ownFdResults).
import { validateInteger } from '../validate.js';
import { FD_RESULTS_BIT, GEN_MASK, INTERNAL_LO, SLOT_MASK } from '../ring/user-data.js';

export {
  SLOT_MASK,
  AUX_BIT,
  LINK_SHIFT,
  LINK_MASK,
  MAX_LINKS,
  INTERNAL_LO,
  FD_RESULTS_BIT,
} from '../ring/user-data.js';

export class OpTable<T extends object> {
  /** Slots the table has now; it grows up to maxCapacity as ops need them. */
  #capacity: number;
  readonly maxCapacity: number;
  #gen: Uint32Array;
  readonly #ops: (T | undefined)[];
  #free: Int32Array;
  #freeTop: number;

  /**
   * `capacity` slots now, doubling on demand up to `maxCapacity` (default:
   * no growth). The runtime lets its table grow to every slot user data can
   * name: long-lived ops (a multishot recv per idle connection) hold a slot
   * each for as long as they live, and must not be capped by the ring's size.
   */
  constructor(capacity: number, maxCapacity = capacity) {
    validateInteger(capacity, 'capacity', 1, SLOT_MASK);
    validateInteger(maxCapacity, 'maxCapacity', capacity, SLOT_MASK);
    this.#capacity = capacity;
    this.maxCapacity = maxCapacity;
    this.#gen = new Uint32Array(capacity);
    this.#ops = new Array<T | undefined>(capacity).fill(undefined);
    this.#free = new Int32Array(capacity);
    // Hand out low slots first: they stay warm in cache.
    for (let i = 0; i < capacity; i++) this.#free[i] = capacity - 1 - i;
    this.#freeTop = capacity;
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** Slots in use. */
  get size(): number {
    return this.#capacity - this.#freeTop;
  }

  /** Takes a free slot for `op` (whose results are all new fds if `fdResults`); -1 when the table is full. */
  alloc(op: T, fdResults = false): number {
    if (this.#freeTop === 0 && !this.#grow()) return -1;
    const slot = this.#free[--this.#freeTop]!;
    this.#ops[slot] = op;
    if (fdResults) this.#gen[slot] = (this.#gen[slot]! | FD_RESULTS_BIT) >>> 0;
    return slot;
  }

  /** Doubles the table (up to maxCapacity); false when it cannot grow. */
  #grow(): boolean {
    const old = this.#capacity;
    if (old >= this.maxCapacity) return false;
    const cap = Math.min(old * 2, this.maxCapacity);
    const gen = new Uint32Array(cap);
    gen.set(this.#gen);
    this.#gen = gen;
    for (let i = old; i < cap; i++) this.#ops.push(undefined);
    // Every slot was taken (the free stack was empty): the new ones are all
    // that is free, lowest on top.
    const free = new Int32Array(cap);
    for (let i = 0; i < cap - old; i++) free[i] = cap - 1 - i;
    this.#free = free;
    this.#freeTop = cap - old;
    this.#capacity = cap;
    return true;
  }

  /** The generation user data must carry for `slot` now. */
  generation(slot: number): number {
    return this.#gen[slot]!;
  }

  /** The op a CQE's user data names, or undefined if it is stale or internal. */
  lookup(lo: number, hi: number): T | undefined {
    if (lo === INTERNAL_LO) return undefined;
    const slot = lo & SLOT_MASK;
    // The fd tag is the SQE's own (a chain tags only its members that make
    // fds): only the generation must match.
    if (slot >= this.#capacity || ((this.#gen[slot]! ^ hi) & GEN_MASK) !== 0) return undefined;
    return this.#ops[slot];
  }

  /** Frees a slot; its generation moves on so stale user data no longer matches. */
  release(slot: number): void {
    if (this.#ops[slot] === undefined) return;
    this.#ops[slot] = undefined;
    this.#gen[slot] = (this.#gen[slot]! + 1) & GEN_MASK; // the fd tag goes with the op
    this.#free[this.#freeTop++] = slot;
  }

  /** Every op in the table (for close). */
  *entries(): IterableIterator<[number, T]> {
    for (let i = 0; i < this.#capacity; i++) {
      const op = this.#ops[i];
      if (op !== undefined) yield [i, op];
    }
  }
}
