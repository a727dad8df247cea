// The life of one operation, from the runtime's side: its `state`.
//
//   Idle -> Queued (JS backlog) -> Submitted (holds a slot; SQEs in the ring)
//     -> Settled: the caller has its outcome, CQEs are still owed
//     -> Released: every CQE the kernel owes has arrived; the slot is free.
//
// Settling and releasing are separate on purpose: an op can settle before
// its last CQE (aborted, the runtime closed, a multishot consumer gone), but
// it keeps every buffer, path and struct it handed the kernel referenced
// (`keep`) until that CQE, because the kernel may still be writing into
// them. An op that produced a file descriptor after its caller gave up has
// that descriptor closed. An op that settles at its last CQE (the usual
// case) goes from Submitted to Released within that CQE.
//
// Who moves it (each transition in one place):
//   Queued     Runtime.submit, when the op waits for room
//   Submitted  Runtime.#start (the one place that starts ops), after its
//              SQEs are written; `slot` and `owed` are valid from here on
//   Settled    markSettled(), by the op when its caller has the outcome or
//              gave up (from Submitted; from Idle, Queued or Linked it is
//              Released at once: nothing is owed)
//   Released   Runtime.#completion when `owed` reaches 0; #withdraw
//   Idle       #withdraw of an op whose caller still waits: as if never
//              submitted (the caller then abandons it)
//   Linked     a link() member (ops/link.ts): its SQE is in a LinkOp's
//              chain, which holds the slot; Released at its CQE
//
// Aborts never lose what the kernel did: an op the kernel has not seen yet
// (in the backlog, or its SQE not yet published) is withdrawn and rejects
// with an AbortError at once; a PromiseOp the kernel may have seen is
// cancelled there and settles from its CQE: cancelled, it rejects with the
// AbortError; completed first, it resolves with its result (completion wins
// the race: bytes read from a pipe or socket are the caller's).
import { OutOfRangeError, UringTimeoutError, systemError, type SystemErrorInfo } from '../errors.js';
import type { Sqe } from '../ring/sqe.js';
import { Timespec } from '../ring/structs.js';
import { IOSQE_IO_HARDLINK, IOSQE_IO_LINK } from '../ring/uapi.js';
import { MAX_LINKS } from '../ring/user-data.js';
import { ECANCELED, EINTR, ETIME } from '../errno.js';

export interface OpOptions {
  signal?: AbortSignal | undefined;
  /** Milliseconds before the kernel cancels the op (a linked timeout). */
  timeout?: number | undefined;
}

/**
 * Where an op is in its life (see the top of this file). The numbers are
 * inlined (a const enum): the runtime compares them on every CQE.
 */
export const enum OpState {
  /** Not submitted (or withdrawn before the kernel saw it); the caller waits. */
  Idle = 0,
  /** In the runtime's backlog, waiting for room in the ring. */
  Queued = 1,
  /** Holds a slot, its SQEs are in the ring, and the caller waits. */
  Submitted = 2,
  /** Holds a slot, the caller has its outcome (or gave up): CQEs still owed go to lateComplete. */
  Settled = 3,
  /** Holds nothing and is owed nothing: done, or given up before it started. */
  Released = 4,
  /** A link() member: its SQE is in a LinkOp's chain, which holds the slot. */
  Linked = 5,
}

export abstract class Op {
  // Only `state`, `slot` and `owed` are written for every op; the other
  // fields' defaults live on the prototype (see the static block) and
  // become own properties only on the ops that set them. Initializers in
  // this base class run for every subclass (ReadOp, SendBatchOp, CloseOp,
  // ...), so their stores see many hidden classes and go megamorphic: with
  // eleven per-instance fields that was 5.6% of an HTTP server's CPU profile.
  /** Where the op is in its life; only OpState.Submitted and Settled hold a slot. */
  state: OpState = OpState.Idle;
  /** Slot in the op table while the op holds one (Submitted, Settled). */
  slot = -1;
  /** CQEs still owed by the kernel; the slot is released at 0. */
  owed = 0;
  /** The result (every result, for a multishot op) is a new file descriptor, to be closed if nobody takes it. */
  declare resultIsFd: boolean;
  /** Multishot: the main SQE posts CQEs with F_MORE until a last one without. */
  declare multishot: boolean;
  declare signal: AbortSignal | undefined;
  declare timeoutTs: Timespec | undefined;
  declare timeoutMs: number;
  /** SQEs of the op's own chain (a ChainOp); 1 for every other op. */
  declare links: number;
  /**
   * A weak op does not keep the process alive while in flight (a server or
   * socket after unref()). Change it through Runtime.setWeak.
   */
  declare weak: boolean;
  /** Set by the runtime: removes the abort listener. */
  declare detachSignal: (() => void) | undefined;
  /**
   * Whether an abort of this op, once its SQE is in the kernel, settles it
   * from its CQE (true: a completion that beat the cancel wins, see
   * PromiseOp) or at once (false: the CQEs still owed are the runtime's to
   * swallow).
   */
  declare settlesFromCqe: boolean;
  /** Set by the runtime when an op that settles from its CQE is aborted: what a failed CQE then settles with. */
  declare cancelError: Error | undefined;
  /**
   * Set by the runtime for ops it may withdraw: the ring index of the op's
   * first SQE, and how many flushes of the SQ had happened when it was
   * written. While no flush has happened since, the kernel has not seen the
   * SQE (its tail does not cover it) and it can be rewritten as a NOP.
   */
  declare sqeIndex: number;
  declare sqeEpoch: number;

  static {
    const p = Op.prototype as unknown as Record<string, unknown>;
    p.resultIsFd = false;
    p.multishot = false;
    p.signal = undefined;
    p.timeoutTs = undefined;
    p.timeoutMs = 0;
    p.links = 1;
    p.weak = false;
    p.detachSignal = undefined;
    p.settlesFromCqe = false;
    p.cancelError = undefined;
    p.sqeIndex = -1;
    p.sqeEpoch = -1;
  }

  /**
   * The caller has its outcome, or gave up: Settled if the op holds a slot
   * (its CQEs still come), else Released. False, changing nothing, if it
   * had settled already. Every settle and abandon goes through here.
   */
  protected markSettled(): boolean {
    const s = this.state;
    if (s === OpState.Submitted) this.state = OpState.Settled;
    else if (s === OpState.Settled || s === OpState.Released) return false;
    else this.state = OpState.Released;
    return true;
  }

  /** SQEs this op needs in one batch (2 with a linked timeout). */
  get sqeCount(): number {
    return this.timeoutTs ? 2 : 1;
  }

  /** Writes the op's SQE (all but the user data, which the runtime sets). */
  abstract prep(sqe: Sqe): void;
  /** A CQE for the main SQE (`link`: which SQE of a ChainOp's chain; 0 otherwise). */
  abstract complete(res: number, flags: number, link: number): void;
  /** The CQE of the linked timeout (-ETIME when it fired). */
  auxComplete(_res: number): void {}
  /**
   * A main CQE that arrived after the caller gave up (Settled): nothing
   * to settle, but an op can still look at what the kernel did (RwOp: was
   * its buffer transferred away meanwhile).
   */
  lateComplete(_res: number, _link: number): void {}
  /** The caller gave up (abort, close): settle now with `err` (markSettled). */
  abstract abandon(err: Error): void;
}

// One shared executor: `new Promise(capture)` hands over its resolve and
// reject in capturedResolve/capturedReject (read them right after) without
// allocating a closure per promise. The ops use it, and so do the sockets.
// `any`: one executor serves every PromiseOp<T>, whatever its T.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export let capturedResolve: (v?: any) => void = () => {};
export let capturedReject: (e: unknown) => void = () => {};
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function capture(res: (v?: any) => void, rej: (e: unknown) => void): void {
  capturedResolve = res;
  capturedReject = rej;
}

/**
 * Rejects with `err` from inside an async function, two turns later, after
 * re-taking its stack. V8's async stack traces walk from the async function
 * that is running through the promises waiting on it, so once the op's
 * promise has adopted this one (that takes a turn: the first await only
 * lets the adoption job run), the stack names every async caller awaiting
 * the op. It is what an `async` wrapper with try/catch/recaptureStack gives,
 * paid only on failure instead of an extra async function per op.
 */
export async function rejectAtCaller(err: unknown): Promise<never> {
  await undefined;
  await undefined;
  if (err instanceof Error) Error.captureStackTrace(err, rejectAtCaller);
  throw err;
}

/**
 * An op settled by one CQE into a Promise. Subclasses give the SQE (`prep`),
 * the syscall name and path for errors, and optionally map the result.
 */
export abstract class PromiseOp<T = number> extends Op {
  readonly promise: Promise<T>;
  #resolve: (v: T) => void;
  #reject: (e: unknown) => void;
  // As in Op: rarely-set state defaults on the prototype.
  /** With a timeout: the main CQE, held until the timeout's CQE says why it ended. */
  declare private timed: { res: number; flags: number; seen: boolean; timedOut: boolean } | undefined;
  /**
   * Set by op functions that return `promise` itself (no async wrapper of
   * their own): a failure then reaches the caller through rejectAtCaller,
   * with a stack that shows the caller.
   */
  declare stackAtCaller: boolean;
  /** Called once when the op settles (before its promise's reactions run). */
  declare onSettle: (() => void) | undefined;

  static {
    const p = PromiseOp.prototype as unknown as Record<string, unknown>;
    p.timed = undefined;
    p.stackAtCaller = false;
    p.onSettle = undefined;
    // An abort in flight settles from the CQE: a read that took bytes
    // before the cancel reached it resolves with them (completion wins).
    p.settlesFromCqe = true;
  }

  constructor() {
    super();
    this.promise = new Promise<T>(capture);
    this.#resolve = capturedResolve;
    this.#reject = capturedReject;
  }

  #timedState(): { res: number; flags: number; seen: boolean; timedOut: boolean } {
    return (this.timed ??= { res: 0, flags: 0, seen: false, timedOut: false });
  }

  abstract get syscall(): string;
  /** Extra fields for the system error (path, dest, address, port). */
  errorInfo(): SystemErrorInfo | undefined {
    return undefined;
  }
  /** Maps the CQE's (non-negative) result to the promise's value. */
  result(res: number, _flags: number): T {
    return res as T;
  }

  complete(res: number, flags: number): void {
    if (this.timeoutTs) {
      // Settle once both CQEs are in: only the timeout's own CQE tells a
      // cancellation by the timer apart from any other -ECANCELED.
      const t = this.#timedState();
      t.res = res;
      t.flags = flags;
      t.seen = true;
      if (this.owed <= 1) this.#settleTimed();
      return;
    }
    this.settleWith(res, flags);
  }

  override auxComplete(res: number): void {
    const t = this.#timedState();
    t.timedOut = res === -ETIME;
    if (t.seen) this.#settleTimed();
  }

  #settleTimed(): void {
    const t = this.#timedState();
    const res = t.res;
    if (t.timedOut && (res === -ECANCELED || res === -EINTR || res === -ETIME) && this.cancelError === undefined) {
      this.fail(new UringTimeoutError(this.syscall, this.timeoutMs));
    } else {
      this.settleWith(res, t.flags);
    }
  }

  /**
   * The op's outcome from its (mapped) result. Aborted in flight, a
   * failure is the AbortError (-ECANCELED, -EINTR, or whatever the kernel
   * said after the caller gave up), and a result is the result: the kernel
   * finished before the cancel reached it, and what it did (bytes taken
   * from a pipe or socket, a descriptor opened) is the caller's.
   */
  protected settleWith(res: number, flags: number): void {
    if (res < 0) this.fail(this.cancelError ?? systemError(res, this.syscall, this.errorInfo()));
    else this.succeed(this.result(res, flags));
  }

  protected succeed(v: T): void {
    if (!this.markSettled()) return;
    this.detachSignal?.();
    this.onSettle?.();
    this.#resolve(v);
  }

  protected fail(e: unknown): void {
    if (!this.markSettled()) return;
    this.detachSignal?.();
    this.onSettle?.();
    if (this.stackAtCaller) this.#resolve(rejectAtCaller(e) as T);
    else this.#reject(e);
  }

  abandon(err: Error): void {
    // settleWith or fail moves the state (markSettled), once.
    const t = this.timed;
    if (t && t.seen && t.res >= 0) {
      // The kernel already finished the op; only the linked timeout's CQE
      // was outstanding. Too late to abort: settle with the result, or a
      // file descriptor it made would reach nobody (the runtime closes fds
      // only for main CQEs that arrive after the caller gave up).
      this.settleWith(t.res, t.flags);
      return;
    }
    // Aborted, then the runtime closed before the CQE came: still the abort.
    this.fail(this.cancelError ?? err);
  }
}

/**
 * One op that is a whole linked chain of `links` SQEs: written into the ring
 * together (each with the op's slot and its place in the chain in the user
 * data), one table slot, one object, and one outcome. The runtime owes it a
 * CQE per SQE and frees the slot after the last one; the chain's buffers and
 * paths, reachable from the op, stay referenced until then.
 *
 * A chain costs one slot and one start; its links are cancelled together.
 * link() (ops/link.ts) makes one of ops that each settle on their own.
 * With `link` 'none' the SQEs are not linked at all: a group of
 * independent SQEs the kernel runs in any order (readMany), with the same
 * one slot, one start and one outcome. The CQEs may arrive in any order: `linkResult` gets each
 * with its index, `chainDone` runs after the last, unless the op was
 * abandoned first (abort, runtime close, prep failure): then `chainFailed`
 * runs, once, and the CQEs still owed are swallowed by the runtime.
 */
export type ChainLink = 'hard' | 'soft' | 'none';

export abstract class ChainOp extends Op {
  /** IOSQE_IO_HARDLINK, IOSQE_IO_LINK or 0, on every SQE but the last. */
  readonly chainFlags: number;

  /**
   * `links` SQEs (1 .. MAX_LINKS), linked by `link`: 'hard'
   * (IOSQE_IO_HARDLINK: the chain runs on after a failure), 'soft'
   * (IOSQE_IO_LINK: a failure cancels the rest) or 'none' (independent).
   */
  constructor(links: number, link: ChainLink) {
    super();
    if (!Number.isInteger(links) || links < 1 || links > MAX_LINKS)
      throw new OutOfRangeError('links', `an integer >= 1 && <= ${MAX_LINKS}`, links);
    this.links = links;
    this.chainFlags = link === 'hard' ? IOSQE_IO_HARDLINK : link === 'soft' ? IOSQE_IO_LINK : 0;
  }

  /** Writes SQE `link` of the chain (all but its link flag and user data, which the runtime sets). */
  abstract prepLink(sqe: Sqe, link: number): void;
  /**
   * Whether SQE `link`'s result is a new fd (an open inside link()): its
   * CQE is then tagged so that a thread ending before it reaps the CQE has
   * the fd closed (the chain's slot is not tagged as a whole: its other
   * results are byte counts).
   */
  linkResultIsFd(_link: number): boolean {
    return false;
  }
  /**
   * How many of the chain's other CQEs, from this CQE of SQE `link` on,
   * the kernel will never post: a chain whose SQEs carry
   * IOSQE_CQE_SKIP_SUCCESS says which did not come and which will not,
   * once a CQE tells. Called before the CQE is handed over (complete or
   * lateComplete); the runtime no longer waits for them. 0 by default.
   */
  unposted(_link: number, _res: number): number {
    return 0;
  }
  /** The CQE of SQE `link`. */
  abstract linkResult(link: number, res: number, flags: number): void;
  /** Every CQE is in (the caller still waits). */
  abstract chainDone(): void;
  /** The caller gave up, or the chain could not start: the one outcome instead of chainDone. */
  abstract chainFailed(err: Error): void;

  prep(sqe: Sqe): void {
    this.prepLink(sqe, 0);
  }

  complete(res: number, flags: number, link: number): void {
    this.linkResult(link, res, flags);
    // The runtime counts `owed` down after this call: 1 is the last CQE.
    if (this.owed === 1 && this.markSettled()) {
      this.detachSignal?.();
      this.chainDone();
    }
  }

  abandon(err: Error): void {
    if (!this.markSettled()) return;
    this.detachSignal?.();
    this.chainFailed(err);
  }
}

/** A multishot op (poll, accept, recv) as a queue of results consumed by an async iterator. */
export abstract class MultishotOp<T> extends Op implements AsyncIterableIterator<T> {
  override multishot = true;
  readonly #queue: T[] = [];
  #error: unknown = undefined;
  #done = false;
  #waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  /** Called when the consumer stops early (break / return): the runtime cancels the op. */
  onReturn: (() => void) | undefined = undefined;

  abstract get syscall(): string;
  errorInfo(): SystemErrorInfo | undefined {
    return undefined;
  }
  abstract result(res: number, flags: number): T;

  complete(res: number, flags: number): void {
    const more = (flags & 2) !== 0; // IORING_CQE_F_MORE
    // Settled: the consumer is gone (return(), abort, close); the CQEs still
    // come here, not to lateComplete, until the last one.
    const gone = this.state === OpState.Settled;
    if (res >= 0) {
      if (!gone) this.#push(this.result(res, flags));
    } else if (!gone && res !== -ECANCELED) {
      this.#error = systemError(res, this.syscall, this.errorInfo());
    }
    if (!more) this.#finish();
  }

  abandon(err: Error): void {
    if (!this.markSettled()) return;
    if (!this.#done) this.#error ??= err;
    // Abandoned before it started (the runtime closed while it waited in
    // the backlog), it gets no final CQE to detach the abort listener.
    this.detachSignal?.();
    this.#wake();
  }

  #push(v: T): void {
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = undefined;
      w.resolve({ value: v, done: false });
    } else {
      this.#queue.push(v);
    }
  }

  #finish(): void {
    this.#done = true;
    this.detachSignal?.();
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiter;
    if (!w) return;
    this.#waiter = undefined;
    if (this.#error !== undefined) {
      const e = this.#error;
      this.#error = undefined;
      this.#done = true;
      w.reject(e);
    } else if (this.#done || this.#gone()) {
      w.resolve({ value: undefined, done: true });
    }
  }

  /** The consumer stopped or the op was given up: no more results for it. */
  #gone(): boolean {
    const s = this.state;
    return s === OpState.Settled || s === OpState.Released;
  }

  /** Results received and not yet consumed. */
  get buffered(): number {
    return this.#queue.length;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#queue.length > 0) return Promise.resolve({ value: this.#queue.shift()!, done: false });
    if (this.#error !== undefined) {
      const e = this.#error;
      this.#error = undefined;
      this.#done = true;
      return Promise.reject(e);
    }
    if (this.#done || this.#gone()) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<T>> {
    // Settled first: a cancel that onReturn sends then finds it given up.
    if (this.markSettled() && !this.#done) this.onReturn?.();
    this.#queue.length = 0;
    this.#wake();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
