// The runtime: one ring wired into Node's event loop.
//
// - Ops write their SQEs into the ring as soon as they are called; the SQEs
//   of one JavaScript turn go to the kernel in one io_uring_enter, from a
//   process.nextTick callback (which Node runs after the turn's microtasks),
//   or earlier when the SQ fills.
// - Completions are drained right after each submit (file reads served from
//   the page cache complete during the submit itself) and whenever the ring
//   fd (or, with DEFER_TASKRUN, a registered eventfd) polls readable.
// - No more CQEs are owed by short-lived ops than the CQ can hold (an op
//   owes one per SQE: a linked timeout's, every SQE of a ChainOp); the rest
//   wait in a JS backlog, so a burst of reads never overflows the CQ.
//   Long-lived ops (multishot recv, accept, poll: one per idle connection)
//   are not counted: they must not be capped by the ring's size, and when
//   their CQEs do outrun the CQ, the kernel keeps them on its overflow list
//   (IORING_FEAT_NODROP) until #drain flushes it.
// - The op table grows with the ops in flight (up to the 2^24 slots user
//   data can name).
// - The poll handle keeps the process alive only while ops are in flight.
import {
  AbortError,
  InvalidArgTypeError,
  InvalidArgValueError,
  OutOfRangeError,
  UringClosedError,
  UringError,
  abortError,
  systemError,
} from '../errors.js';
import { validateInteger, validateObject } from '../validate.js';
import { native } from '../native.js';
import { Ring, type RingOptions } from '../ring/ring.js';
import * as U from '../ring/uapi.js';
import { Timespec } from '../ring/structs.js';
import { OpState, type ChainOp, type MultishotOp, type Op } from './op.js';
import {
  AUX_BIT,
  FD_RESULTS_BIT,
  INTERNAL_LO,
  MAX_LINKS,
  SLOT_MASK,
  auxLo,
  linkLo,
  linkOf,
} from '../ring/user-data.js';
import { OpTable } from './op-table.js';
import { EAGAIN, EBUSY, EINTR } from '../errno.js';

// The event loop's own setImmediate, taken at load: a program that fakes
// timers (@sinonjs/fake-timers, jest) replaces the global, and would stop
// the ring's flushes with it; node's own I/O waits on no JS timer.
const { setImmediate } = globalThis;

/** Rounds of flush-and-reap in one drain while the kernel holds overflowed CQEs or task work. */
const MAX_OVERFLOW_ROUNDS = 16;

/**
 * Flushes run back to back from process.nextTick before one waits for the
 * event loop (setImmediate). Ops that complete inside io_uring_enter (reads
 * from the page cache) resolve promises whose continuations start more ops,
 * whose flush is another nextTick: without a bound, timers and sockets
 * would never run while a loop of awaited reads lasts.
 */
const MAX_CHAINED_FLUSHES = 64;

export interface RuntimeOptions {
  /** SQ entries (default 256). */
  entries?: number;
  /** CQ entries (default 8 × entries, at least 4096): the most ops in flight. */
  cqEntries?: number;
  /**
   * IORING_SETUP_* flags. Default: SINGLE_ISSUER | COOP_TASKRUN |
   * TASKRUN_FLAG where the kernel accepts them (a runtime belongs to one
   * thread), else none. DEFER_TASKRUN gets TASKRUN_FLAG added (the runtime
   * needs it to see task work an enter left).
   */
  flags?: number;
  /** Options passed through to the Ring. */
  ring?: Omit<RingOptions, 'flags' | 'cqEntries'>;
}

/** What a runtime closes with itself: a socket, server or UDP socket made on it (see Runtime.hold). */
export interface RuntimeResource {
  /** Closes it, its runtime being closed: `err` is what its pending reads and writes fail with. */
  closeWithRuntime(err: Error): void;
}

const DEFAULT_FLAGS = U.IORING_SETUP_SINGLE_ISSUER | U.IORING_SETUP_COOP_TASKRUN | U.IORING_SETUP_TASKRUN_FLAG;

export class Runtime {
  readonly ring: Ring;
  readonly #table: OpTable<Op>;
  /** Ops waiting for room in the ring (more than the CQ can hold in flight). */
  readonly #backlog: Op[] = [];
  #backlogHead = 0;
  /** The most CQEs short-lived ops may owe at once: the CQ's size. */
  readonly #maxInflight: number;
  #inflight = 0; // ops holding a slot
  #owedCqes = 0; // terminal CQEs the short-lived ops holding a slot still owe (see charge())
  #weakInflight = 0; // of those, ops that do not keep the process alive
  #poller: object | undefined;
  #eventfd = -1;
  #refed = false;
  #flushScheduled = false;
  /** Flushes since the event loop last ran (reset by a setImmediate armed at the first). */
  #chained = 0;
  readonly #resetChain = () => {
    this.#chained = 0;
    // An op that ended the runtime's work during the chain left the unref to here (#idle).
    if (this.#inflight === this.#weakInflight) this.#ref(false);
  };
  readonly #flushImmediate = () => {
    this.#chained = 0;
    this.#flush();
  };
  #closed = false;
  /** Sockets, servers and UDP sockets open on this runtime (hold/letGo): close() closes them. */
  readonly #resources = new Set<RuntimeResource>();
  /** A look at the backlog is due next turn (SQPOLL: see #submitNow). */
  #sqWatch = false;
  readonly #sqWatchImmediate = () => {
    this.#sqWatch = false;
    if (this.#backlogHead < this.#backlog.length && !this.#closed) this.#scheduleFlush();
  };
  /**
   * Flushes of the SQ so far. Each publishes every SQE written before it: an
   * op written at the current epoch is not yet visible to the kernel (not
   * even to an SQPOLL thread) and can still be withdrawn.
   */
  #sqEpoch = 0;
  readonly #deferTaskrun: boolean;
  /** The SQ flags that send #drain round again: the CQ overflowed, or (DEFER_TASKRUN) task work is left. */
  readonly #drainAgain: number;
  readonly #onCqe: (lo: number, hi: number, res: number, flags: number) => void;
  readonly #flushTick: () => void;
  /** Counters, for tests and benchmarks. */
  readonly stats = { submits: 0, enters: 0, completions: 0, backlogged: 0 };

  constructor(options: RuntimeOptions = {}) {
    validateObject(options, 'options');
    // Types here (cqEntries is computed from entries); the Ring checks the ranges.
    if (options.entries !== undefined) validateInteger(options.entries, 'options.entries', 1);
    if (options.cqEntries !== undefined) validateInteger(options.cqEntries, 'options.cqEntries', 1);
    if (options.ring !== undefined) validateObject(options.ring, 'options.ring');
    const entries = options.entries ?? 256;
    const cqEntries = options.cqEntries ?? Math.max(4096, entries * 8);
    this.ring = createRing(entries, cqEntries, options);
    this.#deferTaskrun = (this.ring.flags & U.IORING_SETUP_DEFER_TASKRUN) !== 0;
    this.#drainAgain = this.#deferTaskrun ? U.IORING_SQ_CQ_OVERFLOW | U.IORING_SQ_TASKRUN : U.IORING_SQ_CQ_OVERFLOW;
    this.#maxInflight = this.ring.cqEntries;
    // Slots for half the CQ to start with: most ops owe one CQE, and
    // #owedCqes, not the slot count, is what keeps the CQ from overflowing.
    // The table grows when long-lived ops (which #owedCqes does not count)
    // fill it: 100,000 idle connections hold 100,000 multishot recvs.
    this.#table = new OpTable<Op>(Math.max(1, this.ring.cqEntries >> 1), SLOT_MASK);
    this.#onCqe = (lo, hi, res, flags) => this.#completion(lo, hi, res, flags);
    this.#flushTick = () => this.#flush();
    // Ops with resultIsFd carry FD_RESULTS_BIT: an accept or open the
    // thread never reaped (it ended first) has its fd closed, not leaked.
    this.ring.ownFdResults();
    this.#startPoller();
  }

  #startPoller(): void {
    const bin = native();
    let fd = this.ring.fd;
    if (this.#deferTaskrun) {
      // With DEFER_TASKRUN the ring fd does not poll readable while task
      // work is pending (measured: DESIGN.md); a registered eventfd does.
      fd = bin.eventfd();
      if (fd < 0) throw systemError(fd, 'eventfd');
      this.#eventfd = fd;
      this.ring.registerEventfd(fd);
    }
    const p = bin.createPoller(fd, this.#deferTaskrun, () => this.#onReadable());
    if (typeof p === 'number') throw systemError(p, 'uv_poll_init');
    this.#poller = p;
  }

  /** Ops holding a slot in the kernel (submitted, not every CQE in yet). */
  get inflight(): number {
    return this.#inflight;
  }

  /** Ops waiting in the JS backlog. */
  get backlog(): number {
    return this.#backlog.length - this.#backlogHead;
  }

  /**
   * The most SQEs one chain (a ChainOp, link()) can have here: they go to
   * the kernel in one submit (a chain ends where a submit does) and their
   * CQEs must fit the CQ, or it would wait in the backlog forever; and no
   * more than MAX_LINKS fit the user data.
   */
  get maxLinks(): number {
    return Math.min(this.ring.sqEntries, this.#maxInflight, MAX_LINKS);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Starts an op: writes its SQE(s) now if there is room, else queues it.
   * The op settles through its own promise or iterator.
   */
  submit(op: Op): void {
    if (this.#closed) {
      op.abandon(new UringClosedError('The runtime is closed'));
      return;
    }
    const signal = op.signal;
    if (signal) {
      if (signal.aborted) {
        op.abandon(abortError(signal));
        return;
      }
      this.#watchSignal(op, signal);
    }
    if (op.links !== 1 && !this.#chainFits(op)) return;
    if (op.timeoutMs > 0) op.timeoutTs = new Timespec(op.timeoutMs);
    if (op.multishot) (op as MultishotOp<unknown>).onReturn = () => this.#cancelOp(op);
    if (this.#backlogHead < this.#backlog.length || this.#owedCqes >= this.#maxInflight || !this.#start(op)) {
      op.state = OpState.Queued;
      this.#backlog.push(op);
      this.stats.backlogged++;
    }
  }

  /** A ChainOp this runtime can ever start; else it fails now (false). */
  #chainFits(op: Op): boolean {
    if (op.timeoutMs > 0) {
      op.abandon(new InvalidArgValueError('timeout', op.timeoutMs, 'is not supported on a chain'));
      return false;
    }
    const most = this.maxLinks;
    if (op.links > most) {
      op.abandon(
        new OutOfRangeError('links', `<= ${most} (what this runtime's ring can take in one submit)`, op.links),
      );
      return false;
    }
    return true;
  }

  /**
   * The one start path: gives `op` a slot and writes all its SQEs — its own
   * (SQE 0), its linked timeout's (AUX_BIT in the user data), or a
   * ChainOp's whole chain (SQE k with k in the user data, every one but the
   * last linked by the chain's flag), and makes it Submitted. False, with
   * nothing taken, when the CQ budget, the table or the SQ has no room for
   * all of them.
   */
  #start(op: Op): boolean {
    const ring = this.ring;
    const links = op.links;
    const timeoutTs = op.timeoutTs;
    const n = links !== 1 ? links : timeoutTs ? 2 : 1;
    if (this.#owedCqes + charge(op, n) > this.#maxInflight) return false;
    // The slot first: an SQE once taken goes to the kernel whatever is in it.
    const slot = this.#table.alloc(op, op.resultIsFd);
    if (slot < 0) return false;
    let idx = -1;
    if (n === 1) {
      // getSqeIndex says when the SQ is full; asking sqSpaceLeft first would
      // read the kernel's head for every op.
      idx = ring.getSqeIndex();
      if (idx < 0) {
        // The SQ is full: send what is there now rather than wait for the tick.
        this.#submitNow();
        idx = ring.getSqeIndex();
      }
    } else {
      // All or nothing: a chain ends where a submit does.
      if (ring.sqSpaceLeft < n) this.#submitNow();
      if (ring.sqSpaceLeft >= n) idx = ring.getSqeIndex();
    }
    if (idx < 0) {
      this.#table.release(slot);
      return false;
    }
    const gen = this.#table.generation(slot);
    op.slot = slot;
    op.owed = n;
    if (op.signal !== undefined || op.multishot) {
      // Only these can be withdrawn: an own property more per op otherwise (see Op's fields).
      op.sqeIndex = idx;
      op.sqeEpoch = this.#sqEpoch;
    }
    let sqe = ring.sqeAt(idx);
    let taken = 1;
    try {
      if (links === 1) {
        op.prep(sqe);
        sqe.setUserWords(slot, gen);
        if (timeoutTs) {
          sqe.flags |= U.IOSQE_IO_LINK;
          sqe = ring.sqeAt(ring.getSqeIndex()); // there is room: checked above
          taken++;
          sqe.prepLinkTimeout(timeoutTs);
          sqe.setUserWords(auxLo(slot), gen);
        }
      } else {
        const chain = op as ChainOp;
        for (let k = 0; ; k++) {
          chain.prepLink(sqe, k);
          // Tagged SQE by SQE: a member that makes an fd (an open in
          // link()) has it closed by the native teardown if never reaped.
          sqe.setUserWords(linkLo(slot, k), chain.linkResultIsFd(k) ? (gen | FD_RESULTS_BIT) >>> 0 : gen);
          if (k === links - 1) break;
          sqe.flags |= chain.chainFlags;
          sqe = ring.sqeAt(ring.getSqeIndex());
          taken++;
        }
      }
    } catch (err) {
      // Refused while its SQEs were written: a buffer detached while the op
      // waited in the backlog (this runs from a flush then, where a throw
      // would be uncaught). The SQEs taken go to the kernel anyway, as NOPs
      // whose CQEs nobody waits for (none come: see Sqe.neutralize), so the
      // CQ budget need not count them. The op fails with the error.
      // Never Submitted: abandon() takes it from Idle or Queued to Released.
      const mask = ring.sqEntries - 1;
      for (let j = 0; j < taken; j++) ring.sqeAt((idx + j) & mask).neutralize();
      this.#table.release(slot);
      op.owed = 0;
      op.abandon(err as Error);
      this.#scheduleFlush();
      return true;
    }
    op.state = OpState.Submitted;
    this.#owedCqes += charge(op, n);
    this.#inflight++;
    if (op.weak) this.#weakInflight++;
    else if (!this.#refed) this.#ref(true);
    this.#scheduleFlush();
    return true;
  }

  /**
   * Takes back an op whose SQEs the kernel has not been shown yet (no flush
   * of the SQ since they were written): they become NOPs, the op gives up
   * its slot and owes nothing, and it never runs: Idle again if its caller
   * still waits (who then abandons it), else Released. False once the
   * kernel may have seen them: then only a cancel can stop it. `op` holds
   * a slot (Submitted or Settled).
   */
  #withdraw(op: Op): boolean {
    if (op.sqeEpoch !== this.#sqEpoch || op.sqeIndex < 0) return false;
    // Its SQEs are consecutive in the ring: a linked timeout right after
    // the op's own, a ChainOp's links in order. No CQE has come for any.
    const n = op.owed;
    const mask = this.ring.sqEntries - 1;
    for (let k = 0; k < n; k++) this.ring.sqeAt((op.sqeIndex + k) & mask).neutralize();
    this.#table.release(op.slot);
    op.state = op.state === OpState.Settled ? OpState.Released : OpState.Idle;
    op.owed = 0;
    this.#owedCqes -= charge(op, n);
    this.#inflight--;
    if (op.weak) this.#weakInflight--;
    if (this.#inflight === this.#weakInflight) this.#idle();
    return true;
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    if (this.#chained < MAX_CHAINED_FLUSHES) process.nextTick(this.#flushTick);
    else setImmediate(this.#flushImmediate);
  }

  /** End of the JavaScript turn: submit, reap, and refill from the backlog. */
  #flush(): void {
    this.#flushScheduled = false;
    if (this.#closed) return;
    if (this.#chained++ === 0) setImmediate(this.#resetChain);
    // Completions can start more ops (their callers' continuations run as
    // microtasks after this tick); a bounded number of rounds here keeps a
    // stream of instantly-completing ops from starving the event loop.
    for (let round = 0; round < 4; round++) {
      this.#submitNow();
      this.#drain();
      this.#pump();
      if (this.ring.sqReady === 0) break;
    }
  }

  /** Publishes the SQ and enters the kernel, handling EINTR/EAGAIN/EBUSY. */
  #submitNow(): void {
    const ring = this.ring;
    for (let attempt = 0; ; attempt++) {
      this.#sqEpoch++;
      const pending = ring.flushSq();
      if (pending === 0 && !ring.cqNeedsFlush && !this.#deferTaskrun) return;
      let flags = 0;
      if (ring.cqNeedsFlush || this.#deferTaskrun) flags |= U.IORING_ENTER_GETEVENTS;
      if (ring.flags & U.IORING_SETUP_SQPOLL) {
        // The kernel thread takes the SQEs when it runs. Until it has, an
        // op that needs their room waits in the backlog, and no CQE may
        // come to wake the runtime for it (none is owed for withdrawn ops'
        // NOPs or cancels): look at the backlog again next turn.
        if (!this.#sqWatch) {
          this.#sqWatch = true;
          setImmediate(this.#sqWatchImmediate);
        }
        if (!(ring.sqFlags & U.IORING_SQ_NEED_WAKEUP)) return;
        flags |= U.IORING_ENTER_SQ_WAKEUP;
      }
      this.stats.enters++;
      const ret = ring.enter(pending, 0, flags);
      if (ret >= 0) {
        this.stats.submits += ret;
        if (ret >= pending) return;
        continue; // a partial submit: go on with the rest
      }
      if (ret === -EINTR) continue;
      if ((ret === -EAGAIN || ret === -EBUSY) && attempt < 8) {
        // The kernel is short of resources or the CQ is backed up: reap and retry.
        this.#drain();
        continue;
      }
      if (ret === -EAGAIN || ret === -EBUSY) {
        // Still busy: leave the SQEs in the ring and try again next turn.
        setImmediate(() => this.#scheduleFlush());
        return;
      }
      this.#fatal(systemError(ret, 'io_uring_enter'));
      return;
    }
  }

  /**
   * Reaps every ready CQE, and what the kernel kept on its overflow list
   * when long-lived ops' CQEs outran the CQ (each GETEVENTS moves at most a
   * CQ's worth back), and with DEFER_TASKRUN the task work one enter left:
   * bounded rounds, then the next flush goes on.
   */
  #drain(): void {
    const ring = this.ring;
    if (this.#deferTaskrun || ring.cqNeedsFlush) ring.enter(0, 0, U.IORING_ENTER_GETEVENTS);
    this.stats.completions += ring.forEachCqe(this.#onCqe);
    // Without DEFER_TASKRUN, only the overflow bit: looping on
    // IORING_SQ_TASKRUN too would add an enter per drain on a busy server,
    // for work any syscall of the thread runs. With it, task work runs only
    // in our enters, and one runs just a few items (20 on Linux 6.18) and
    // keeps the rest, with no new eventfd signal for them: they would wait
    // for a completion that may never come (see createRing).
    for (let round = 0; ring.sqFlags & this.#drainAgain && !this.#closed; round++) {
      if (round === MAX_OVERFLOW_ROUNDS) {
        this.#scheduleFlush();
        return;
      }
      ring.enter(0, 0, U.IORING_ENTER_GETEVENTS);
      this.stats.completions += ring.forEachCqe(this.#onCqe);
    }
  }

  #completion(lo: number, hi: number, res: number, flags: number): void {
    const op = this.#table.lookup(lo, hi);
    if (op === undefined) return; // internal, or stale (cannot happen with generations)
    if (op.links !== 1) {
      // CQEs of the chain this one says will not come (SQEs with
      // IOSQE_CQE_SKIP_SUCCESS that succeeded): owed no longer, before the
      // op hears of this one (ChainOp counts on `owed` to know its last).
      const k = (op as ChainOp).unposted(linkOf(lo), res);
      if (k !== 0) {
        op.owed -= k;
        this.#owedCqes -= k;
      }
    }
    if (lo & AUX_BIT) {
      op.auxComplete(res);
    } else if (op.state === OpState.Settled && !op.multishot) {
      // The caller is gone. A descriptor it would have been handed is closed.
      if (op.resultIsFd && res >= 0) native().closeFd(res);
      else op.lateComplete(res, linkOf(lo));
    } else {
      op.complete(res, flags, linkOf(lo));
    }
    if (flags & U.IORING_CQE_F_MORE) return;
    // A multishot op's own last CQE was never counted (see charge).
    if (!op.multishot || lo & AUX_BIT) this.#owedCqes--;
    if (--op.owed > 0) return;
    this.#table.release(op.slot);
    op.state = OpState.Released;
    this.#inflight--;
    if (op.weak) this.#weakInflight--;
    if (this.#inflight === this.#weakInflight) this.#idle();
  }

  /**
   * Nothing that keeps the process alive is in flight. Inside a chain of
   * flushes (an awaited op completing in io_uring_enter, whose caller starts
   * the next one a microtask later) the unref waits for the chain's
   * setImmediate, which is pending whenever #chained > 0: a loop of awaited
   * ops then makes no uv_ref/uv_unref pair of native calls per op. The
   * process can exit one event-loop iteration later than it could have.
   */
  #idle(): void {
    if (this.#chained === 0) this.#ref(false);
  }

  /** Starts backlogged ops while there is room. */
  #pump(): void {
    const q = this.#backlog;
    while (this.#backlogHead < q.length && this.#owedCqes < this.#maxInflight) {
      const op = q[this.#backlogHead]!;
      // Given up while it waited (Released): skipped.
      if (op.state === OpState.Queued && !this.#start(op)) break;
      q[this.#backlogHead++] = undefined as unknown as Op;
    }
    if (this.#backlogHead === q.length) {
      q.length = 0;
      this.#backlogHead = 0;
    } else if (this.#backlogHead > 1024 && this.#backlogHead * 2 > q.length) {
      q.splice(0, this.#backlogHead);
      this.#backlogHead = 0;
    }
  }

  #onReadable(): void {
    if (this.#closed) return;
    this.#drain();
    this.#pump();
    if (this.ring.sqReady > 0) this.#scheduleFlush();
  }

  #ref(on: boolean): void {
    if (this.#refed === on || !this.#poller) return;
    this.#refed = on;
    native().pollerRef(this.#poller, on);
  }

  /**
   * Cancels `op`: in the kernel if it was submitted (its CQEs still arrive;
   * a multishot op's last one ends it), or, if it still waits in the
   * backlog or its SQE has not reached the kernel yet, by abandoning it
   * with an AbortError.
   */
  cancel(op: Op): void {
    if (holdsSlot(op) && !this.#withdraw(op)) this.#cancelOp(op);
    else if (op.state !== OpState.Released) op.abandon(new AbortError());
  }

  /**
   * @internal A socket, server or UDP socket on this runtime, open until
   * it calls letGo(): close() closes it with the runtime (its fd, which
   * would otherwise outlive the ring it could no longer use).
   */
  hold(resource: RuntimeResource): void {
    if (!this.#closed) this.#resources.add(resource);
  }

  /** @internal `resource` closed itself. */
  letGo(resource: RuntimeResource): void {
    this.#resources.delete(resource);
  }

  /** Makes an op (submitted or not) keep the process alive, or not, while in flight. */
  setWeak(op: Op, weak: boolean): void {
    if (op.weak === weak) return;
    op.weak = weak;
    if (!holdsSlot(op)) return;
    this.#weakInflight += weak ? 1 : -1;
    this.#ref(this.#inflight > this.#weakInflight);
  }

  /** Aborts `op` when `signal` fires; the op removes the listener when it settles. */
  #watchSignal(op: Op, signal: AbortSignal): void {
    const onAbort = () => this.#abort(op);
    signal.addEventListener('abort', onAbort, { once: true });
    op.detachSignal = () => signal.removeEventListener('abort', onAbort);
  }

  /**
   * The caller aborted. An op the kernel has not seen (in the backlog, or
   * its SQE not yet published) is withdrawn and rejects now: it never runs.
   * One the kernel may have seen is cancelled there; a PromiseOp then
   * settles from its CQE, so a completion that beat the cancel (bytes read
   * from a pipe or socket, a file opened) resolves instead of being lost,
   * and a cancelled one rejects with the AbortError. Other ops (chains,
   * multishot) settle now and their CQEs are swallowed.
   */
  #abort(op: Op): void {
    const err = abortError(op.signal!);
    if (holdsSlot(op) && !this.#withdraw(op)) {
      if (op.settlesFromCqe && !this.#closed) {
        op.cancelError = err;
        this.#cancelOp(op);
        return;
      }
      op.abandon(err);
      this.#cancelOp(op);
      return;
    }
    op.abandon(err);
  }

  /** Cancels `op` in the kernel if it is there (its CQEs still arrive and are ignored). */
  #cancelOp(op: Op): void {
    if (!holdsSlot(op) || this.#closed) return;
    // Each SQE of a chain has its own user data: whichever is running is
    // cancelled (the links after it then fail, or with hard links run on).
    for (let k = 0; k < op.links; k++) this.#cancelSlot(linkLo(op.slot, k));
  }

  /** Submits IORING_OP_ASYNC_CANCEL for the SQE whose user data lo word is `lo` (its slot's generation above); its CQE is ignored. */
  #cancelSlot(lo: number): void {
    const slot = lo & SLOT_MASK;
    const ring = this.ring;
    const idx = this.#sqeNow();
    if (idx < 0) return; // the ring is wedged; close() will cancel everything
    const userData = (BigInt(this.#table.generation(slot)) << 32n) | BigInt(lo);
    const sqe = ring.sqeAt(idx).prepCancel64(userData, 0);
    sqe.flags |= U.IOSQE_CQE_SKIP_SUCCESS;
    sqe.setUserWords(INTERNAL_LO, 0);
    this.#scheduleFlush();
  }

  /**
   * An SQE for what has no backlog to wait in (a cancel, close()'s
   * cancel-all), or -1. With SQPOLL the SQ may be full of SQEs the kernel
   * thread has not taken yet (a busy machine): wait for it to take one.
   */
  #sqeNow(): number {
    const ring = this.ring;
    if (ring.sqSpaceLeft < 1) this.#submitNow();
    let idx = ring.getSqeIndex();
    if (idx < 0 && ring.flags & U.IORING_SETUP_SQPOLL) {
      ring.enter(
        0,
        0,
        U.IORING_ENTER_SQ_WAIT | (ring.sqFlags & U.IORING_SQ_NEED_WAKEUP ? U.IORING_ENTER_SQ_WAKEUP : 0),
      );
      idx = ring.getSqeIndex();
    }
    return idx;
  }

  /** An unrecoverable ring error: every pending op fails with it. */
  #fatal(err: Error): void {
    for (const [, op] of this.#table.entries()) op.abandon(err);
    this.#abandonBacklog(err);
  }

  #abandonBacklog(err: Error): void {
    for (let i = this.#backlogHead; i < this.#backlog.length; i++) {
      this.#backlog[i]?.abandon(err);
    }
    this.#backlog.length = 0;
    this.#backlogHead = 0;
  }

  /**
   * Closes the runtime: pending ops reject with ERR_URING_CLOSED, everything
   * in flight is cancelled in the kernel, and the ring is unmapped only after
   * every op's last CQE (so no buffer is released while the kernel may still
   * touch it). New ops reject with ERR_URING_CLOSED. Then the sockets,
   * servers and UDP sockets made on it that are still open are closed
   * (their descriptors with close(2)): a socket's reads and writes that were
   * pending have failed with ERR_URING_CLOSED, a server emits 'close'.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    const err = new UringClosedError('The runtime was closed while the operation was in flight');
    this.#abandonBacklog(err);
    for (const [, op] of this.#table.entries()) op.abandon(err);
    const ring = this.ring;
    if (this.#inflight > 0) {
      // One cancel for everything: ANY | ALL.
      const idx = this.#sqeNow();
      if (idx >= 0) {
        ring
          .sqeAt(idx)
          .prepCancel64(0, U.IORING_ASYNC_CANCEL_ANY | U.IORING_ASYNC_CANCEL_ALL)
          .setUserWords(INTERNAL_LO, 0);
      }
      this.#submitNow();
      this.#drain();
      // Wait for the terminal CQEs. Cancelled polls and socket ops finish at
      // once; a file read already running in a kernel worker finishes its copy.
      const deadline = Date.now() + 5000;
      while (this.#inflight > 0 && Date.now() < deadline) {
        const flags = U.IORING_ENTER_GETEVENTS;
        ring.enter(0, 1, flags, 50e6);
        this.#drain();
      }
    }
    this.#closed = true;
    if (this.#poller) native().pollerClose(this.#poller);
    this.#poller = undefined;
    ring.close();
    if (this.#eventfd >= 0) native().closeFd(this.#eventfd);
    this.#eventfd = -1;
    if (defaultRuntime === this) defaultRuntime = undefined;
    // After the ring: each closes its fd at once (it sees the runtime
    // closed), and nothing it does can reach the kernel through the ring.
    const resources = [...this.#resources];
    this.#resources.clear();
    for (const resource of resources) {
      try {
        resource.closeWithRuntime(err);
      } catch {
        // One that fails to close does not keep the others open.
      }
    }
  }
}

/** Submitted or Settled: the op has a slot, and its SQEs are in the ring. */
function holdsSlot(op: Op): boolean {
  const s = op.state;
  return s === OpState.Submitted || s === OpState.Settled;
}

/**
 * The CQEs of `n` owed by `op` that count against the CQ budget: all of a
 * short-lived op's; all but a multishot op's own last one, which may come
 * any time in the connection's life (its linked timeout's, if any, counts).
 */
function charge(op: Op, n: number): number {
  return op.multishot ? n - 1 : n;
}

function createRing(entries: number, cqEntries: number, options: RuntimeOptions): Ring {
  const base = options.ring ?? {};
  let flags = options.flags;
  // DEFER_TASKRUN gets TASKRUN_FLAG: IORING_SQ_TASKRUN is then the only
  // sign that an enter left task work (completions) to run, which #drain
  // must enter again for (the eventfd is signalled only when task work is
  // queued on an empty list). Every kernel with DEFER_TASKRUN accepts it.
  if (typeof flags === 'number' && flags & U.IORING_SETUP_DEFER_TASKRUN) flags |= U.IORING_SETUP_TASKRUN_FLAG;
  if (flags !== undefined) return new Ring(entries, { ...base, flags, cqEntries });
  try {
    return new Ring(entries, { ...base, flags: DEFAULT_FLAGS, cqEntries });
  } catch (err) {
    // Older kernels lack SINGLE_ISSUER / COOP_TASKRUN: plain flags then.
    if ((err as { code?: string }).code === 'EINVAL') return new Ring(entries, { ...base, cqEntries });
    throw err;
  }
}

let defaultRuntime: Runtime | undefined;

/** A Runtime argument or option (ERR_INVALID_ARG_TYPE otherwise). */
export function validateRuntime(rt: unknown, name = 'options.runtime'): asserts rt is Runtime {
  if (!(rt instanceof Runtime)) throw new InvalidArgTypeError(name, 'an instance of Runtime', rt);
}

/** `options.runtime` when given (checked), else this thread's. */
export function runtimeOf(rt: unknown, name = 'options.runtime'): Runtime {
  if (rt === undefined) return getRuntime();
  validateRuntime(rt, name);
  return rt;
}

/** This thread's runtime, created on first use. */
export function getRuntime(): Runtime {
  if (defaultRuntime === undefined || defaultRuntime.closed) defaultRuntime = new Runtime();
  return defaultRuntime;
}

/** Replaces this thread's default runtime (e.g. with other ring options); returns the previous one. */
export function setRuntime(rt: Runtime | undefined): Runtime | undefined {
  if (rt !== undefined) validateRuntime(rt, 'rt');
  const prev = defaultRuntime;
  defaultRuntime = rt;
  return prev;
}

export { UringError };
