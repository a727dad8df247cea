// The ring: setup (map the queues, wire the views) and the queue arithmetic
// (get an SQE, submit, peek and wait for CQEs), synchronous like liburing.
//
// Memory shared with the kernel is reached through typed arrays over the
// mapped ArrayBuffers. Indexes the kernel also touches are named kHead/kTail/
// kFlags (word offsets into those views); our own state lives in #fields.
// Ring indexes are free-running u32 counters: differences are taken `>>> 0`,
// slots are `index & mask`.
import { readFileSync } from 'node:fs';
import {
  InvalidArgTypeError,
  OutOfRangeError,
  UringClosedError,
  UringUnavailableError,
  systemError,
} from '../errors.js';
import { validateFunction, validateInteger } from '../validate.js';
import { native, type SetupParams, type SetupResult } from '../native.js';
import { disabledBy } from '../opt-out.js';
import { BufRing, type BufRingOptions } from './buf-ring.js';
import { Cqe } from './cqe.js';
import { RingCredentials } from './credentials.js';
import { probeRing, type Probe } from './probe.js';
import * as R from './register.js';
import { Sqe, type SqeMemory } from './sqe.js';
import * as U from './uapi.js';
import { AUX_BIT, FD_RESULTS_BIT } from './user-data.js';
import { EAGAIN, EBADF, EBUSY, EINTR, EINVAL, EMFILE, ENFILE, ENOMEM, ENOSYS, EPERM, ETIME } from '../errno.js';

export interface RingOptions {
  /** IORING_SETUP_* flags. */
  flags?: number;
  /** CQ size (sets IORING_SETUP_CQSIZE); default twice the SQ size. */
  cqEntries?: number;
  /** SQPOLL: the kernel thread's idle time in ms before it sleeps. */
  sqThreadIdle?: number;
  /** SQPOLL with IORING_SETUP_SQ_AFF: the CPU the kernel thread runs on. */
  sqThreadCpu?: number;
  /** Share the kernel's async worker pool with this ring (IORING_SETUP_ATTACH_WQ). */
  attachWq?: Ring;
  /**
   * Register the ring fd with itself so io_uring_enter skips the fd lookup
   * (IORING_REGISTER_RING_FDS). Default true where the kernel supports it.
   */
  registerRingFd?: boolean;
}

/** The most SQ entries the kernel accepts (IORING_MAX_ENTRIES). */
export const MAX_ENTRIES = 32768;
/** The most CQ entries the kernel accepts (IORING_MAX_CQ_ENTRIES). */
export const MAX_CQ_ENTRIES = 2 * MAX_ENTRIES;

export class Ring {
  /** The ring's file descriptor. */
  readonly fd: number;
  /** IORING_SETUP_* flags in effect (including NO_SQARRAY when added). */
  readonly flags: number;
  /** IORING_FEAT_* bits the kernel reported. */
  readonly features: number;
  readonly sqEntries: number;
  readonly cqEntries: number;

  readonly #handle: object;
  readonly #sq: Uint32Array; // SQ ring words
  readonly #cq: Uint32Array; // CQ ring words
  readonly #cqi: Int32Array; // CQ ring words, signed (cqe.res)
  readonly #kSqHead: number;
  readonly #kSqTail: number;
  readonly #kSqFlags: number;
  readonly #kCqHead: number;
  readonly #kCqTail: number;
  readonly #kCqOverflow: number;
  readonly #cqes: number; // word offset of the CQE array
  readonly #cqeWords: number; // 4, or 8 with CQE32
  readonly #sqMask: number;
  readonly #cqMask: number;
  readonly #mem: SqeMemory;
  /** The SQE array as 8-byte words, for zeroing an SQE in 8 stores (16 with SQE128). */
  readonly #sqe64: Float64Array;
  readonly #sqeObjs: Sqe[];
  #sqeHead = 0; // SQEs up to here have been published to the kernel (ktail)
  #sqHeadCache = 0; // the kernel's khead as last read: refreshed only when the SQ looks full
  #sqeTail = 0; // SQEs up to here have been handed out by getSqe
  #cqHead = 0; // our copy of khead: only we move it
  #enterFd: number; // the fd, or the registered index with ENTER_REGISTERED_RING
  #enterFlags = 0;
  #closed = false;
  /** Whether this ring keeps credentials (SQPOLL, personalities): process.setuid & co. refuse while it does (credentials.ts). */
  readonly #creds: RingCredentials;
  /** Buffers registered with IORING_REGISTER_BUFFERS: the kernel pins their pages. */
  registeredBuffers: readonly ArrayBufferView[] = [];

  constructor(entries = 256, options: RingOptions = {}) {
    if (!Number.isInteger(entries)) throw new InvalidArgTypeError('entries', 'an integer', entries);
    if (entries < 1 || entries > MAX_ENTRIES)
      throw new OutOfRangeError('entries', `>= 1 && <= ${MAX_ENTRIES}`, entries);
    if (options === null || typeof options !== 'object')
      throw new InvalidArgTypeError('options', 'of type object', options);
    const params: SetupParams = { flags: options.flags ?? 0 };
    if (!Number.isInteger(params.flags) || params.flags! < 0)
      throw new InvalidArgTypeError('options.flags', 'a non-negative integer', options.flags);
    if (options.cqEntries !== undefined) {
      if (!Number.isInteger(options.cqEntries) || options.cqEntries < entries || options.cqEntries > MAX_CQ_ENTRIES) {
        throw new OutOfRangeError(
          'options.cqEntries',
          `>= entries (${entries}) && <= ${MAX_CQ_ENTRIES}`,
          options.cqEntries,
        );
      }
      params.cqEntries = options.cqEntries;
      params.flags! |= U.IORING_SETUP_CQSIZE;
    }
    if (options.sqThreadIdle !== undefined) params.sqThreadIdle = options.sqThreadIdle;
    if (options.sqThreadCpu !== undefined) {
      params.sqThreadCpu = options.sqThreadCpu;
      params.flags! |= U.IORING_SETUP_SQ_AFF;
    }
    if (options.attachWq !== undefined) {
      if (!(options.attachWq instanceof Ring))
        throw new InvalidArgTypeError('options.attachWq', 'an instance of Ring', options.attachWq);
      params.wqFd = options.attachWq.fd;
      params.flags! |= U.IORING_SETUP_ATTACH_WQ;
    }

    const r = setupWithFallback(entries, params);
    this.#handle = r.handle;
    this.fd = r.fd;
    this.#creds = new RingCredentials(r.fd, (r.flags & U.IORING_SETUP_SQPOLL) !== 0);
    this.flags = r.flags;
    this.features = r.features;
    this.sqEntries = r.sqEntries;
    this.cqEntries = r.cqEntries;
    this.#sq = new Uint32Array(r.sqRing);
    this.#cq = new Uint32Array(r.cqRing);
    this.#cqi = new Int32Array(r.cqRing);
    this.#kSqHead = r.sqOff.head >> 2;
    this.#kSqTail = r.sqOff.tail >> 2;
    this.#kSqFlags = r.sqOff.flags >> 2;
    this.#kCqHead = r.cqOff.head >> 2;
    this.#kCqTail = r.cqOff.tail >> 2;
    this.#kCqOverflow = r.cqOff.overflow >> 2;
    this.#cqes = r.cqOff.cqes >> 2;
    this.#cqeWords = r.flags & U.IORING_SETUP_CQE32 ? 8 : 4;
    this.#sqMask = this.#sq[r.sqOff.ringMask >> 2]!;
    this.#cqMask = this.#cq[r.cqOff.ringMask >> 2]!;
    this.#sqeHead = this.#sqeTail = this.#sq[this.#kSqTail]!;
    this.#cqHead = this.#cq[this.#kCqHead]!;
    if (!(r.flags & U.IORING_SETUP_NO_SQARRAY)) {
      // Map SQ slot i to SQE i once, so submitting never touches the array.
      const array = r.sqOff.array >> 2;
      for (let i = 0; i < r.sqEntries; i++) this.#sq[array + i] = i;
    }
    const sqes = r.sqes;
    this.#mem = {
      u8: new Uint8Array(sqes),
      u16: new Uint16Array(sqes),
      u32: new Uint32Array(sqes),
      i32: new Int32Array(sqes),
      pins: new Array<unknown>(r.sqEntries).fill(undefined),
      wordsPerSqe: r.flags & U.IORING_SETUP_SQE128 ? 32 : 16,
    };
    this.#sqe64 = new Float64Array(sqes);
    this.#sqeObjs = Array.from({ length: r.sqEntries }, (_, i) => new Sqe(this.#mem, i));
    this.#sqHeadCache = this.#sq[this.#kSqHead]!;
    this.#enterFd = r.fd;
    if (options.registerRingFd !== false && r.features & U.IORING_FEAT_REG_REG_RING) this.#registerRingFd();
  }

  /** Registers the ring fd with itself: enter then skips the per-call fd lookup. */
  #registerRingFd(): void {
    // struct io_uring_rsrc_update { u32 offset; u32 resv; u64 data } with
    // offset -1: let the kernel pick the slot and write it back.
    const upd = new Uint32Array(4);
    upd[0] = 0xffffffff;
    upd[2] = this.fd;
    const ret = native().register(this.fd, U.IORING_REGISTER_RING_FDS, upd, 1);
    if (ret === 1) {
      this.#enterFd = upd[0]!;
      this.#enterFlags = U.IORING_ENTER_REGISTERED_RING;
      // The thread's table of registered rings holds its own reference to the
      // ring: unless unregistered, a closed (or collected) ring and its SQPOLL
      // thread would live until this thread exits, using one of the table's
      // 16 slots. The native teardown unregisters it, whichever way it runs
      // (close, finalizer, environment cleanup) — exactly once, since an
      // index unregistered twice could by then belong to another ring.
      native().ringRegistered(this.#handle, this.#enterFd);
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Declares that CQEs whose user data has bit 63 set carry new fds (the
   * runtime tags open and accept ops so): when the ring goes away, however
   * it does (close(), the thread ending), the fds of those never consumed
   * through forEachCqe are closed instead of leaked.
   */
  ownFdResults(): void {
    if (!this.#closed) native().ringOwnsFdResults(this.#handle);
  }

  // ------------------------------------------------------------------ SQ

  /**
   * The next free SQE, zeroed, or null when the SQ is full (submit first).
   * Never overwrites an SQE the kernel has not consumed.
   */
  getSqe(): Sqe | null {
    const idx = this.getSqeIndex();
    return idx < 0 ? null : this.#sqeObjs[idx]!;
  }

  /**
   * getSqe without the wrapper object: the zeroed slot's index, or -1 when
   * full. For hot paths that write fields through `sqeMemory` themselves.
   */
  getSqeIndex(): number {
    if (this.#closed) throw new UringClosedError();
    const tail = this.#sqeTail;
    if ((tail - this.#sqHeadCache) >>> 0 >= this.sqEntries) {
      // Looks full: see how far the kernel has got. Acquire: with SQPOLL the
      // kernel thread moves khead concurrently, and a slot is free only once
      // the kernel has finished reading it.
      this.#sqHeadCache = Atomics.load(this.#sq, this.#kSqHead);
      if ((tail - this.#sqHeadCache) >>> 0 >= this.sqEntries) return -1;
    }
    const idx = tail & this.#sqMask;
    this.#sqeTail = (tail + 1) >>> 0;
    // +0.0 is all zero bits: half the stores of a Uint32Array loop, and
    // unrolled for the common 64-byte SQE (measured ~2x cheaper than the
    // loop, several times cheaper than TypedArray.prototype.fill).
    const f = this.#sqe64;
    const words = this.#mem.wordsPerSqe >> 1;
    const w = idx * words;
    f[w] = 0;
    f[w + 1] = 0;
    f[w + 2] = 0;
    f[w + 3] = 0;
    f[w + 4] = 0;
    f[w + 5] = 0;
    f[w + 6] = 0;
    f[w + 7] = 0;
    for (let i = w + 8, end = w + words; i < end; i++) f[i] = 0; // the rest of a 128-byte SQE
    this.#mem.pins[idx] = undefined;
    return idx;
  }

  /** The SQE views and slot pins, for code that writes SQEs by index. */
  get sqeMemory(): SqeMemory {
    return this.#mem;
  }

  /**
   * The Sqe at a slot index returned by getSqeIndex. One Sqe object per slot,
   * made once: like liburing's SQE pointers, it is valid until the slot is
   * reused, after the kernel has consumed it.
   */
  sqeAt(index: number): Sqe {
    // (The runtime's hot path passes getSqeIndex()'s result: the check is two compares.)
    if (typeof index !== 'number' || !(index >= 0 && index < this.sqEntries && Number.isInteger(index)))
      validateInteger(index, 'index', 0, this.sqEntries - 1);
    return this.#sqeObjs[index]!;
  }

  /** SQEs handed out and not yet consumed by the kernel (io_uring_sq_ready). */
  get sqReady(): number {
    // After close the views are detached (Atomics would throw a bare
    // TypeError): the counters read as an empty ring instead.
    if (this.#closed) return 0;
    return (this.#sqeTail - Atomics.load(this.#sq, this.#kSqHead)) >>> 0;
  }

  /** Free SQ slots (io_uring_sq_space_left). */
  get sqSpaceLeft(): number {
    return this.sqEntries - this.sqReady;
  }

  /**
   * Publishes the SQEs handed out since the last flush by moving the kernel's
   * tail; returns how many the kernel has yet to consume.
   */
  flushSq(): number {
    if (this.#closed) throw new UringClosedError();
    const tail = this.#sqeTail;
    if (this.#sqeHead !== tail) {
      this.#sqeHead = tail;
      // An SQPOLL thread may take the SQEs (CLOSEs among them) as soon as it sees the tail.
      if (this.flags & U.IORING_SETUP_SQPOLL) native().fdsSubmitted();
      // Release: the SQE contents written above must be visible before the
      // kernel (or the SQPOLL thread) can see the new tail.
      Atomics.store(this.#sq, this.#kSqTail, tail);
    }
    return (tail - Atomics.load(this.#sq, this.#kSqHead)) >>> 0;
  }

  /**
   * io_uring_enter on this ring, raw: returns the result or -errno, never
   * throws. For the runtime, which handles EINTR/EBUSY/EAGAIN itself.
   */
  enter(toSubmit: number, minComplete: number, flags: number, timeoutNs?: number): number {
    if (this.#closed) return -EBADF;
    return native().enter(this.#enterFd, toSubmit, minComplete, flags | this.#enterFlags, timeoutNs);
  }

  /** Whether the kernel wants an enter to flush completions (overflow, task work). */
  get cqNeedsFlush(): boolean {
    if (this.#closed) return false;
    return (Atomics.load(this.#sq, this.#kSqFlags) & (U.IORING_SQ_CQ_OVERFLOW | U.IORING_SQ_TASKRUN)) !== 0;
  }

  /** The SQ ring's flags word (IORING_SQ_NEED_WAKEUP, _CQ_OVERFLOW, _TASKRUN). */
  get sqFlags(): number {
    if (this.#closed) return 0;
    return Atomics.load(this.#sq, this.#kSqFlags);
  }

  /**
   * Submits the pending SQEs and optionally waits for `waitNr` completions.
   * Returns the number of SQEs submitted. Throws a system error (code EBUSY
   * or EAGAIN included) on failure; EINTR is retried.
   */
  submit(waitNr = 0): number {
    for (;;) {
      const ret = this.submitRaw(waitNr);
      if (ret >= 0) return ret;
      if (ret !== -EINTR) throw systemError(ret, 'io_uring_enter');
    }
  }

  /** io_uring_submit_and_wait. */
  submitAndWait(waitNr: number): number {
    return this.submit(waitNr);
  }

  /** submit() returning -errno instead of throwing (no retry on EINTR). */
  submitRaw(waitNr = 0): number {
    if (this.#closed) throw new UringClosedError();
    const submitted = this.flushSq();
    let flags = 0;
    let needEnter = waitNr > 0;
    if (this.flags & U.IORING_SETUP_SQPOLL) {
      // The kernel thread picks SQEs up by itself unless it went to sleep.
      // Atomics give the full barrier needed between the tail store and
      // this flags load, so a sleeping thread is never missed.
      if (submitted > 0 && Atomics.load(this.#sq, this.#kSqFlags) & U.IORING_SQ_NEED_WAKEUP) {
        flags |= U.IORING_ENTER_SQ_WAKEUP;
        needEnter = true;
      }
    } else if (submitted > 0) {
      needEnter = true;
    }
    if (waitNr > 0 || this.cqNeedsFlush || this.flags & U.IORING_SETUP_IOPOLL) {
      flags |= U.IORING_ENTER_GETEVENTS;
      needEnter = true;
    }
    if (!needEnter) return submitted;
    return this.enter(submitted, waitNr, flags);
  }

  // ------------------------------------------------------------------ CQ

  /** CQEs ready to be read (io_uring_cq_ready). */
  get cqReady(): number {
    if (this.#closed) return 0;
    // Acquire: CQE contents are valid once we have seen the tail covering them.
    return (Atomics.load(this.#cq, this.#kCqTail) - this.#cqHead) >>> 0;
  }

  /** CQEs the kernel dropped because the CQ was full (only without IORING_FEAT_NODROP). */
  get cqOverflow(): number {
    if (this.#closed) return 0;
    return Atomics.load(this.#cq, this.#kCqOverflow);
  }

  /**
   * The next CQE without consuming it, or null. Costs no system call unless
   * the kernel flagged overflowed CQEs or pending task work to flush.
   */
  peekCqe(): Cqe | null {
    if (this.#closed) throw new UringClosedError();
    if (this.cqReady === 0) {
      if (!this.cqNeedsFlush) return null;
      this.enter(0, 0, U.IORING_ENTER_GETEVENTS);
      if (this.cqReady === 0) return null;
    }
    return this.#cqeAt(this.#cqHead);
  }

  #cqeAt(head: number): Cqe {
    const o = this.#cqes + (head & this.#cqMask) * this.#cqeWords;
    const c = this.#cq;
    return new Cqe(c[o]!, c[o + 1]!, this.#cqi[o + 2]!, c[o + 3]!);
  }

  /** Up to `max` ready CQEs, oldest first, without consuming them (then cqAdvance(n)). */
  peekBatchCqe(max = this.cqEntries): Cqe[] {
    validateInteger(max, 'max', 0);
    if (this.#closed) throw new UringClosedError();
    let ready = this.cqReady;
    if (ready === 0 && this.cqNeedsFlush) {
      this.enter(0, 0, U.IORING_ENTER_GETEVENTS);
      ready = this.cqReady;
    }
    const n = Math.min(ready, max);
    const out = new Array<Cqe>(n);
    for (let i = 0; i < n; i++) out[i] = this.#cqeAt((this.#cqHead + i) >>> 0);
    return out;
  }

  /** Blocks until a CQE is available and returns it (not consumed: call cqeSeen). */
  waitCqe(): Cqe {
    for (;;) {
      const cqe = this.peekCqe();
      if (cqe) return cqe;
      const ret = this.enter(0, 1, U.IORING_ENTER_GETEVENTS);
      if (ret < 0 && ret !== -EINTR && ret !== -EAGAIN && ret !== -EBUSY) throw systemError(ret, 'io_uring_enter');
    }
  }

  /** As waitCqe, but returns null after `ms` milliseconds without a CQE. */
  waitCqeTimeout(ms: number): Cqe | null {
    if (typeof ms !== 'number' || !(ms >= 0)) throw new OutOfRangeError('ms', '>= 0', ms);
    const deadline = performance.now() + ms;
    for (;;) {
      const cqe = this.peekCqe();
      if (cqe) return cqe;
      const left = deadline - performance.now();
      if (left <= 0) return null;
      const ret = this.enter(0, 1, U.IORING_ENTER_GETEVENTS, Math.ceil(left * 1e6));
      if (ret === -ETIME) {
        return this.peekCqe();
      }
      if (ret < 0 && ret !== -EINTR && ret !== -EAGAIN && ret !== -EBUSY) throw systemError(ret, 'io_uring_enter');
    }
  }

  /** Marks one CQE consumed (io_uring_cqe_seen); CQEs are consumed in order. */
  cqeSeen(_cqe?: Cqe): void {
    this.cqAdvance(1);
  }

  /** Marks `n` CQEs consumed. */
  cqAdvance(n: number): void {
    // Past the tail the head would count CQEs the kernel has not written
    // (and forEachCqe would spin on a head it can never reach).
    validateInteger(n, 'n', 0);
    if (n === 0 || this.#closed) return; // after close there is no CQ left to advance
    if (n > this.cqReady) validateInteger(n, 'n', 0, this.cqReady);
    this.#cqHead = (this.#cqHead + n) >>> 0;
    // Release: our reads of those CQEs are done before the kernel may reuse the slots.
    Atomics.store(this.#cq, this.#kCqHead, this.#cqHead);
  }

  /**
   * Consumes every ready CQE, calling `fn(userDataLo, userDataHi, res, flags)`
   * for each, without allocating. The head moves before each call, so `fn`
   * may submit, peek or drain again. Returns how many were consumed.
   */
  forEachCqe(fn: (lo: number, hi: number, res: number, flags: number) => void): number {
    validateFunction(fn, 'fn');
    if (this.#closed) return 0;
    const c = this.#cq;
    const ci = this.#cqi;
    let n = 0;
    for (;;) {
      const tail = Atomics.load(c, this.#kCqTail);
      if (tail === this.#cqHead) break;
      try {
        // A signed distance: a nested drain inside fn may already have
        // consumed past this batch's tail.
        while (((tail - this.#cqHead) | 0) > 0) {
          const o = this.#cqes + (this.#cqHead & this.#cqMask) * this.#cqeWords;
          const lo = c[o]!,
            hi = c[o + 1]!,
            res = ci[o + 2]!,
            flags = c[o + 3]!;
          // Our head moves before the call, so a nested drain starts after
          // this CQE; the kernel's copy is published once per batch below.
          this.#cqHead = (this.#cqHead + 1) >>> 0;
          n++;
          // A tagged fd result (ownFdResults) is published as consumed
          // before fn takes the fd: were the thread to end inside fn
          // (worker.terminate()), teardown must not close it a second time.
          // And the fd becomes the thread's in the same native call (see
          // ringTakeFd): the thread ending just after the publish must not
          // leak it either. Whoever hands it on as a raw descriptor
          // disowns it (OpenatOp).
          if (hi >= FD_RESULTS_BIT) {
            if (res >= 0 && !(lo & AUX_BIT)) native().ringTakeFd(this.#handle, this.#cqHead, res);
            else Atomics.store(c, this.#kCqHead, this.#cqHead);
          }
          fn(lo, hi, res, flags);
          if (this.#closed) return n;
        }
      } finally {
        // Release: our reads of these CQEs are done before the kernel may reuse the slots.
        if (!this.#closed) Atomics.store(c, this.#kCqHead, this.#cqHead);
      }
    }
    return n;
  }

  // ------------------------------------------------------------------ misc

  /** io_uring_register, raw: the result or -errno. */
  registerRaw(op: number, arg: ArrayBufferView | ArrayBuffer | number | null, nr: number): number {
    if (this.#closed) throw new UringClosedError();
    const ret = native().register(this.fd, op, arg, nr);
    if (ret >= 0) this.#creds.registered(op);
    return ret;
  }

  /** io_uring_register, throwing a system error on failure. */
  register(op: number, arg: ArrayBufferView | ArrayBuffer | number | null, nr: number): number {
    const ret = this.registerRaw(op, arg, nr);
    if (ret < 0) throw systemError(ret, 'io_uring_register');
    return ret;
  }

  /** Registers files as direct descriptors 0..n-1 (io_uring_register_files). */
  registerFiles(fds: readonly number[] | Int32Array): void {
    R.registerFiles(this, fds);
  }
  /** Registers `nr` empty direct-descriptor slots (io_uring_register_files_sparse). */
  registerFilesSparse(nr: number): void {
    R.registerFilesSparse(this, nr);
  }
  /** io_uring_register_files_update; returns how many slots were updated. */
  registerFilesUpdate(offset: number, fds: readonly number[] | Int32Array): number {
    return R.registerFilesUpdate(this, offset, fds);
  }
  unregisterFiles(): void {
    R.unregisterFiles(this);
  }
  /** io_uring_register_buffers: for the *_fixed preps; kept referenced until unregistered. */
  registerBuffers(buffers: readonly ArrayBufferView[]): void {
    R.registerBuffers(this, buffers);
  }
  unregisterBuffers(): void {
    R.unregisterBuffers(this);
  }
  /** io_uring_register_eventfd (or _async: only completions that went async). */
  registerEventfd(fd: number, async = false): void {
    R.registerEventfd(this, fd, async);
  }
  unregisterEventfd(): void {
    R.unregisterEventfd(this);
  }
  /** io_uring_setup_buf_ring: a provided-buffer ring for group `bgid`. */
  setupBufRing(entries: number, bgid: number, options?: BufRingOptions): BufRing {
    return new BufRing(this, entries, bgid, options);
  }
  /** io_uring_get_probe_ring: which opcodes the kernel supports. */
  probe(): Probe {
    return probeRing(this);
  }

  /**
   * Unmaps the ring and closes its fd. What is still in flight is cancelled
   * and waited for (up to a second) first. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // The native side also unregisters the ring's self-registration (see
    // #registerRingFd), so that happens however the ring goes away.
    native().close(this.#handle);
    // After the fd is closed: until then the ring could still act with the credentials it keeps.
    this.#creds.release();
    this.#mem.pins.fill(undefined);
    this.registeredBuffers = [];
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * io_uring_setup, adding IORING_SETUP_NO_SQARRAY where the kernel has it (one
 * less indirection per submission) and turning "io_uring is not here" into
 * one clear ERR_URING_UNAVAILABLE.
 */
function setupWithFallback(entries: number, params: SetupParams): SetupResult {
  // The opt-out comes first: not even the addon is asked (a seccomp profile
  // may kill the process on io_uring_setup).
  const off = disabledBy();
  if (off !== undefined) {
    throw new UringUnavailableError(
      0,
      `io_uring is disabled by ${off}: uring makes no io_uring system call, and uring/fs, uring/fs/promises and uring/net use node's own modules. Unset URING_DISABLE (or call setUringDisabled(false)) to use io_uring`,
    );
  }
  let bin;
  try {
    bin = native();
  } catch (err) {
    const e = new UringUnavailableError(
      0,
      `The uring native addon could not be loaded (${(err as Error).message}). Run "npm rebuild uring" (it needs g++, make and python3)`,
    );
    (e as Error).cause = err;
    throw e;
  }
  const requested = params.flags ?? 0;
  let r = bin.setup(entries, { ...params, flags: requested | U.IORING_SETUP_NO_SQARRAY });
  if (r === -EINVAL) r = bin.setup(entries, params);
  if (typeof r === 'number') throw setupError(r, entries, requested);
  return r;
}

/** The two ways to go on without io_uring, added to the "not here" messages. */
const HOW_TO_DO_WITHOUT =
  "; or set URING_FALLBACK=node to have uring/fs, uring/fs/promises and uring/net use node's own modules where io_uring is unavailable, or URING_DISABLE=1 never to try io_uring (where a seccomp profile kills on io_uring_setup)";

function setupError(res: number, entries: number, flags: number): Error {
  const errno = -res;
  switch (errno) {
    case ENOSYS:
      return new UringUnavailableError(
        res,
        `io_uring is not available: this kernel has no io_uring_setup system call (ENOSYS). It needs Linux 5.1 or later built with CONFIG_IO_URING=y${HOW_TO_DO_WITHOUT}`,
      );
    case EPERM: {
      const sysctl = readSysctl();
      if (sysctl === '2') {
        return new UringUnavailableError(
          res,
          `io_uring is disabled on this machine: kernel.io_uring_disabled = 2 (EPERM). Enable it with "sysctl -w kernel.io_uring_disabled=0" (as root)${HOW_TO_DO_WITHOUT}`,
        );
      }
      if (sysctl === '1') {
        return new UringUnavailableError(
          res,
          `io_uring is restricted on this machine: kernel.io_uring_disabled = 1 allows only the group in kernel.io_uring_group (EPERM). Add this user to that group, or set "sysctl -w kernel.io_uring_disabled=0" (as root)${HOW_TO_DO_WITHOUT}`,
        );
      }
      return new UringUnavailableError(
        res,
        `io_uring is blocked for this process (EPERM), most likely by a seccomp profile: Docker's and many container runtimes' default profiles deny io_uring_setup. Run with a profile that allows io_uring_setup, io_uring_enter and io_uring_register${HOW_TO_DO_WITHOUT}`,
      );
    }
    case ENOMEM:
      return new UringUnavailableError(
        res,
        `io_uring could not allocate a ring of ${entries} entries (ENOMEM): the locked-memory limit is too low. Raise it ("ulimit -l", or LimitMEMLOCK= for a service) or use fewer entries`,
      );
    case EMFILE:
    case ENFILE:
      return systemError(res, 'io_uring_setup');
    case EINVAL:
      return Object.assign(systemError(res, 'io_uring_setup'), {
        message: `EINVAL: invalid argument, io_uring_setup: this kernel rejects setup flags 0x${flags.toString(16)} with ${entries} entries (some flags need others, e.g. DEFER_TASKRUN needs SINGLE_ISSUER)`,
      });
    default:
      return systemError(res, 'io_uring_setup');
  }
}

function readSysctl(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/io_uring_disabled', 'utf8').trim();
  } catch {
    return undefined;
  }
}
