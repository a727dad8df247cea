// Direct descriptors: one sparse registered file table per runtime, and the
// slots in it handed out from JavaScript.
//
// A linked chain openat -> read -> close has to name the descriptor of the
// file it opens when its SQEs are written, before the open has run. A direct
// descriptor makes that possible: the open installs the file in a slot of
// the ring's registered file table (IORING_OP_OPENAT with file_index), the
// read names the slot (IOSQE_FIXED_FILE, fd = slot), the close empties it
// (IORING_OP_CLOSE with file_index). Slots are picked here rather than by
// the kernel (IORING_FILE_INDEX_ALLOC), because the read must know the slot
// before the open has chosen one.
//
// This module owns the runtime's file table: anything else wanting direct
// descriptors on that runtime takes its slots from here, or a slot could be
// handed out twice (an open into an occupied slot replaces its file).
import type { Runtime } from '../runtime/runtime.js';

/** Sizes tried for the table, largest first: the kernel refuses tables above RLIMIT_NOFILE (EMFILE). */
const SIZES = [4096, 1024, 256, 64];

/** The direct-descriptor slots of one runtime's ring. */
export class DirectSlots {
  /** Slots in the table; 0 when the ring has no table of ours (see `unavailable`). */
  readonly size: number;
  /** Why there is no table (e.g. the ring already had files registered), or undefined. */
  readonly unavailable: Error | undefined;
  readonly #free: Int32Array;
  #top: number;
  readonly #waiters: (() => void)[] = [];

  constructor(size: number, unavailable?: Error) {
    this.size = size;
    this.unavailable = unavailable;
    this.#free = new Int32Array(size);
    // Low slots first: a small table stays dense.
    for (let i = 0; i < size; i++) this.#free[i] = size - 1 - i;
    this.#top = size;
  }

  /** Free slots now. */
  get available(): number {
    return this.#top;
  }

  /** A free slot, or -1 when all are in use (then `whenFree`). */
  alloc(): number {
    return this.#top === 0 ? -1 : this.#free[--this.#top]!;
  }

  /**
   * Gives a slot back. Call only once the kernel is done with it: after the
   * CQE of the close that emptied it (or of an open that failed, leaving it
   * empty).
   */
  release(slot: number): void {
    this.#free[this.#top++] = slot;
    if (this.#waiters.length === 0) return;
    // Every waiter gets to try: one woken alone might no longer want the
    // slot (its batch failed), leaving another waiting with slots free.
    const waiters = this.#waiters.splice(0);
    for (const fn of waiters) fn();
  }

  /** Calls `fn` once, the next time a slot is released (then `alloc` again; call `whenFree` again if it fails). */
  whenFree(fn: () => void): void {
    this.#waiters.push(fn);
  }
}

const tables = new WeakMap<Runtime, DirectSlots>();

/**
 * The direct-descriptor slots of `runtime`, registering a sparse file table
 * on its ring the first time (4096 slots, fewer if the kernel refuses). If
 * the ring cannot have one (its files are already registered by someone
 * else, or io_uring_register fails), the result has `size` 0 and says why in
 * `unavailable`; callers then use regular descriptors.
 */
export function directSlots(runtime: Runtime): DirectSlots {
  let t = tables.get(runtime);
  if (t !== undefined) return t;
  let last: Error | undefined;
  for (const n of SIZES) {
    try {
      runtime.ring.registerFilesSparse(n);
      t = new DirectSlots(n);
      break;
    } catch (err) {
      last = err as Error;
      // EBUSY: a table is already registered; no smaller size will help.
      if ((err as { code?: string }).code === 'EBUSY') break;
    }
  }
  t ??= new DirectSlots(0, last);
  tables.set(runtime, t);
  return t;
}
