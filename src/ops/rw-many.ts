// readMany / writeMany: many positioned reads (or writes) on one descriptor
// behind one promise.
//
// Each read is its own SQE, unlinked, so the kernel runs them side by side
// and in any order; they go to the kernel in the same io_uring_enter. Up to
// MAX_LINKS of them make one op (a ChainOp with link 'none': one table slot,
// one start, one report when its last CQE is in), so a batch of 32 costs the
// runtime one object, one slot and one promise instead of 32 of each. That
// is the point: on a file in the page cache a read costs the kernel about
// 1.5 µs, and a promise per read, its resolution and the caller's
// resumption cost about half as much again (bench/README-fs.md).
//
// The promise settles when every CQE of the batch is in, so no buffer is in
// the kernel's hands once it has (except after an abort, which settles at
// once: the ops still hold the buffers until their last CQE).
import { InvalidArgTypeError, InvalidArgValueError, OutOfRangeError, recaptureStack, systemError } from '../errors.js';
import { viewAddress } from '../ring/structs.js';
import { IORING_OP_READ, IORING_OP_WRITE } from '../ring/uapi.js';
import type { Sqe } from '../ring/sqe.js';
import { ChainOp, OpState, rejectAtCaller } from '../runtime/op.js';
import { MAX_LINKS } from '../runtime/op-table.js';
import { runtimeOf } from '../runtime/runtime.js';
import {
  bufferAddress,
  detachedBuffer,
  mayHaveMoved,
  validateFd,
  validateOptions,
  viewDetached,
  type RunOptions,
} from './common.js';
import { MAX_RW } from './rw.js';

/** `positions` as reads and writes take them: numbers, bigints, or a typed array of them. */
export type Positions = readonly (number | bigint)[] | Float64Array | BigInt64Array | BigUint64Array;

// Each entry's address, length and offset, checked by the call and read by
// the SQEs it writes before it returns: module-level scratch, so a batch
// allocates no arrays of its own. A group that has to wait in the backlog
// (the ring was full) gets a copy of its part (Batch.keep) before the call
// returns and the scratch is reused.
let scratchAddr = new Float64Array(256);
let scratchLen = new Float64Array(256);
let scratchOff = new Float64Array(256);
let scratchBusy = false;
const SCRATCH_MAX = 4096;

/**
 * The address of every typed array a batch has used, by view: a batch reads
 * the same buffers again and again, and the view's own address saves the
 * `.buffer` lookup (a call into V8's runtime) that the per-ArrayBuffer cache
 * needs. Right while the view's buffer is not detached (its bytes never
 * move once their address has been taken, and only fixed-length buffers
 * pass bufferAddress); a detached typed array reads byteLength 0, which is
 * checked every time. DataViews, which throw on a detached buffer instead,
 * are not kept.
 */
const viewAddresses = new WeakMap<object, number>();

/** The shared state of one readMany/writeMany call; its groups report here. */
class Batch {
  readonly promise: Promise<number[]>;
  // Resolved with rejectAtCaller's promise on failure: the error then names
  // the caller in its stack, without an async wrapper per batch.
  #resolve!: (v: number[] | Promise<never>) => void;
  /** Bytes moved by each read or write, or -errno, in the caller's order. */
  readonly results: number[];
  /** Where the SQEs written now take their fields from (the scratch, or arrays of this batch's own). */
  addr: Float64Array;
  len: Float64Array;
  off: Float64Array;
  /** True once the call has returned: an SQE written now is a backlogged group's (its buffer may have been detached since). */
  late = false;
  /** The first entry whose buffer was found transferred away at its CQE (common.ts), or -1. */
  detachedAt = -1;
  #groups = 0;
  #settled = false;

  constructor(
    readonly fd: number,
    readonly opcode: number,
    /** Kept referenced until every group's last CQE (the groups hold the batch). */
    readonly buffers: readonly ArrayBufferView[],
    readonly syscall: string,
    addr: Float64Array,
    len: Float64Array,
    off: Float64Array,
  ) {
    this.promise = new Promise((res) => {
      this.#resolve = res;
    });
    // Every entry is written by its CQE (an abandoned batch rejects instead).
    this.results = new Array<number>(buffers.length);
    this.addr = addr;
    this.len = len;
    this.off = off;
  }

  /** The address of buffer `i`, asked again if its SQE is written after the call returned. */
  address(i: number): number {
    return this.late ? viewAddress(this.buffers[i]!, `buffers[${i}]`) : this.addr[i]!;
  }

  /** The call is returning with groups still in the backlog: they keep their own copy of the scratch. */
  keep(): void {
    const n = this.buffers.length;
    this.addr = this.addr.slice(0, n);
    this.len = this.len.slice(0, n);
    this.off = this.off.slice(0, n);
  }

  added(): void {
    this.#groups++;
  }

  groupDone(): void {
    if (--this.#groups > 0 || this.#settled) return;
    this.#settled = true;
    const r = this.results;
    const d = this.detachedAt;
    if (d >= 0) {
      this.#resolve(rejectAtCaller(detachedBuffer(this.syscall, r[d]!)));
      return;
    }
    for (let i = 0; i < r.length; i++) {
      if (r[i]! < 0) {
        this.#resolve(rejectAtCaller(systemError(r[i]!, this.syscall)));
        return;
      }
    }
    this.#resolve(r);
  }

  /** A group was given up (abort, runtime closed, refused at prep): the whole call fails with it, once. */
  groupFailed(err: Error): void {
    this.#groups--;
    if (this.#settled) return;
    this.#settled = true;
    this.#resolve(rejectAtCaller(err));
  }
}

/** Reads or writes `count` entries of a batch from `from` on: unlinked SQEs, one op. */
class Group extends ChainOp {
  constructor(
    readonly batch: Batch,
    readonly from: number,
    count: number,
  ) {
    super(count, 'none');
  }
  prepLink(sqe: Sqe, link: number): void {
    const b = this.batch;
    const i = this.from + link;
    sqe.prepRw(b.opcode, b.fd, b.address(i), b.len[i]!, b.off[i]!);
  }
  linkResult(link: number, res: number): void {
    const b = this.batch;
    const i = this.from + link;
    b.results[i] = res;
    if (viewDetached(b.buffers[i]!) && b.detachedAt < 0) b.detachedAt = i;
  }
  /** The batch was given up (abort) before this CQE: a transfer meanwhile is still reported. */
  override lateComplete(res: number, link: number): void {
    if (mayHaveMoved(res) && viewDetached(this.batch.buffers[this.from + link]!))
      detachedBuffer(this.batch.syscall, res);
  }
  chainDone(): void {
    this.batch.groupDone();
  }
  chainFailed(err: Error): void {
    this.batch.groupFailed(err);
  }
}

function checkPosition(p: unknown, i: number): number {
  if (typeof p === 'number') {
    if (Number.isInteger(p) && p >= 0 && p <= Number.MAX_SAFE_INTEGER) return p;
  } else if (typeof p === 'bigint') {
    if (p >= 0n && p <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(p);
  } else {
    throw new InvalidArgTypeError(`positions[${i}]`, 'of type number or bigint', p);
  }
  throw new OutOfRangeError(`positions[${i}]`, `an integer >= 0 && <= ${Number.MAX_SAFE_INTEGER}`, p);
}

function many(
  fd: number,
  buffers: readonly ArrayBufferView[],
  positions: Positions,
  options: RunOptions | undefined,
  opcode: number,
  syscall: string,
): Promise<number[]> {
  validateFd(fd);
  if (!Array.isArray(buffers)) throw new InvalidArgTypeError('buffers', 'an instance of Array', buffers);
  if (!Array.isArray(positions) && !ArrayBuffer.isView(positions))
    throw new InvalidArgTypeError('positions', 'an instance of Array or a typed array', positions);
  const n = buffers.length;
  if (positions.length !== n) throw new OutOfRangeError('positions.length', `${n} (one per buffer)`, positions.length);
  validateOptions(options);
  if (options?.timeout !== undefined) {
    // A linked timeout covers one SQE, not a batch of unlinked ones.
    throw new InvalidArgValueError(
      'options.timeout',
      options.timeout,
      'is not supported for a batch: use signal: AbortSignal.timeout(ms)',
    );
  }
  const rt = runtimeOf(options?.runtime);
  if (n === 0) return Promise.resolve([]);
  // Arrays of its own for a batch larger than the scratch should grow to,
  // or for a call nested in another's submit: a full SQ makes submit enter
  // the kernel and, when the kernel is busy, drain completions, and a
  // socket's completion can run its 'data' listeners, which may call this.
  const wasBusy = scratchBusy;
  const own = wasBusy || n > SCRATCH_MAX;
  if (!own && scratchAddr.length < n) {
    const size = Math.max(n, scratchAddr.length * 2);
    scratchAddr = new Float64Array(size);
    scratchLen = new Float64Array(size);
    scratchOff = new Float64Array(size);
  }
  const addr = own ? new Float64Array(n) : scratchAddr;
  const len = own ? new Float64Array(n) : scratchLen;
  const off = own ? new Float64Array(n) : scratchOff;
  // The buffers as given now: the caller may change its array once the call
  // has returned, and what the kernel writes into must stay referenced.
  const held = new Array<ArrayBufferView>(n);
  for (let i = 0; i < n; i++) {
    const buf = buffers[i]!;
    held[i] = buf;
    let a = viewAddresses.get(buf);
    // A typed array seen before: it reads byteLength 0 only once detached.
    if (a === undefined || buf.byteLength === 0) {
      a = bufferAddress(buf, `buffers[${i}]`);
      if (!(buf instanceof DataView)) viewAddresses.set(buf, a);
    }
    addr[i] = a;
    len[i] = Math.min(buf.byteLength, MAX_RW);
    off[i] = checkPosition(positions[i], i);
  }
  const batch = new Batch(fd, opcode, held, syscall, addr, len, off);
  // A group per MAX_LINKS SQEs (and never more than the ring takes in one submit).
  const per = Math.min(MAX_LINKS, rt.ring.sqEntries);
  const signal = options?.signal;
  let waiting = false;
  scratchBusy = true;
  try {
    for (let from = 0; from < n; from += per) {
      const g = new Group(batch, from, Math.min(per, n - from));
      if (signal !== undefined) g.signal = signal;
      batch.added();
      rt.submit(g);
      // In the backlog, to be written later.
      if (g.state === OpState.Queued) waiting = true;
    }
  } finally {
    scratchBusy = wasBusy;
  }
  if (waiting && !own) batch.keep();
  batch.late = true;
  return batch.promise;
}

/**
 * Reads into each of `buffers` (its whole length) from the matching offset
 * in `positions`, all at once: unlinked SQEs submitted together, which the
 * kernel runs in any order. Resolves with the bytes read into each, in
 * order (fewer than a buffer's length at end of file, as read() gives),
 * once every read is done; rejects with the first failed read's system
 * error (by index), or an AbortError at once when `signal` aborts.
 *
 * One promise for the whole batch: for many small reads this costs a
 * fraction of what a promise per read() does (bench/fs-read.ts).
 *
 * Do not transfer any of `buffers` (postMessage, structuredClone with
 * `transfer`) until the promise settles, nor after an abort: the memory
 * would leave with the transfer and may be freed while the kernel writes
 * into it. A batch that finds a buffer detached rejects with
 * ERR_URING_BUFFER_DETACHED.
 *
 * @param fd A file descriptor.
 * @param buffers Where each read goes (Buffer, TypedArray or DataView).
 * @param positions The file offset of each read (>= 0; no "current position": the reads run in parallel).
 * @param options `signal`, `runtime` (no `timeout`: use `signal: AbortSignal.timeout(ms)`).
 * @example
 * ```ts
 * const bufs = Array.from({ length: 32 }, () => Buffer.alloc(4096));
 * const n = await readMany(fd, bufs, offsets); // n[i] bytes in bufs[i]
 * ```
 */
export function readMany(
  fd: number,
  buffers: readonly ArrayBufferView[],
  positions: Positions,
  options?: RunOptions,
): Promise<number[]> {
  try {
    return many(fd, buffers, positions, options, IORING_OP_READ, 'read');
  } catch (err) {
    return Promise.reject(recaptureStack(err as Error, readMany));
  }
}

/**
 * Writes each of `buffers` whole at the matching offset in `positions`, as
 * readMany reads: all at once, in any order, one promise. Resolves with the
 * bytes written from each (a short write is not continued, as with write()).
 * Writes whose ranges overlap land in no defined order.
 */
export function writeMany(
  fd: number,
  buffers: readonly ArrayBufferView[],
  positions: Positions,
  options?: RunOptions,
): Promise<number[]> {
  try {
    return many(fd, buffers, positions, options, IORING_OP_WRITE, 'write');
  } catch (err) {
    return Promise.reject(recaptureStack(err as Error, writeMany));
  }
}
