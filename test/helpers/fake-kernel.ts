// A kernel the test plays: a fake native binding (setNativeBinding) whose
// io_uring_setup hands out plain ArrayBuffers laid out as the kernel's rings,
// whose io_uring_enter only records the SQEs it consumes, and whose poller
// the test fires. A Runtime on it runs its real code (start, flush, drain,
// #completion, the op table): the test posts the CQEs, in whatever order
// the kernel may post them, and wakes the runtime as the ring fd's poll
// would.
//
// Everything else (address, eventfd, sockets...) is the real addon's, and
// calls about handles the fake did not make go to the real addon too.
import { after } from 'node:test';
import { native, setNativeBinding, type NativeBinding, type SetupParams, type SetupResult } from '../../src/native.js';
import * as U from '../../src/ring/uapi.js';
import { INTERNAL_LO } from '../../src/runtime/op-table.js';
import { Runtime, type RuntimeOptions } from '../../src/runtime/runtime.js';

/** One SQE the kernel consumed. */
export interface SubmittedSqe {
  opcode: number;
  flags: number;
  /** User data, low and high words. */
  lo: number;
  hi: number;
  /** The addr field (a cancel's target user data), as low and high words. */
  addrLo: number;
  addrHi: number;
  /** op_flags (a cancel's IORING_ASYNC_CANCEL_*). */
  opFlags: number;
}

/** A fake fd per ring: far above what a test process opens, so never a real one. */
let nextFd = 1 << 20;

const ECANCELED = 125;

export class FakeKernel {
  /** SQEs consumed by enter and not yet taken by the test. */
  readonly #submitted: SubmittedSqe[] = [];
  /** User data (lo:hi) of SQEs whose final CQE has not been posted: what a cancel-all ends. */
  readonly #open = new Map<string, SubmittedSqe>();
  readonly #rings = new Map<object, Rings>();
  readonly #byFd = new Map<number, Rings>();
  readonly #pollers = new Map<object, () => void>();
  readonly binding: NativeBinding;

  constructor(real: NativeBinding = native()) {
    const fake: Partial<NativeBinding> = {
      setup: (entries, params) => this.#setup(entries, params),
      close: (handle) => {
        const r = this.#rings.get(handle);
        if (!r) return real.close(handle);
        this.#rings.delete(handle);
        this.#byFd.delete(r.fd);
      },
      ringRegistered: (handle, index) => {
        if (!this.#rings.has(handle)) real.ringRegistered(handle, index);
      },
      ringOwnsFdResults: (handle) => {
        if (!this.#rings.has(handle)) real.ringOwnsFdResults(handle);
      },
      // A fake ring's fds are not the process's: only the CQ head moves (word 0).
      ringTakeFd: (handle, head, fd) => {
        const r = this.#rings.get(handle);
        if (!r) return real.ringTakeFd(handle, head, fd);
        Atomics.store(r.cq, 0, head);
      },
      enter: (fd, toSubmit, minComplete, flags, timeoutNs) => {
        const r = this.#byFd.get(fd);
        return r ? this.#enter(r) : real.enter(fd, toSubmit, minComplete, flags, timeoutNs);
      },
      register: (fd, op, arg, nr) => (this.#byFd.has(fd) ? 0 : real.register(fd, op, arg, nr)),
      createPoller: (fd, isEventfd, callback) => {
        if (!this.#byFd.has(fd)) return real.createPoller(fd, isEventfd, callback);
        const p = {};
        this.#pollers.set(p, callback);
        return p;
      },
      pollerRef: (p, ref) => {
        if (!this.#pollers.has(p)) real.pollerRef(p, ref);
      },
      pollerClose: (p) => {
        if (!this.#pollers.delete(p)) real.pollerClose(p);
      },
    };
    // Object.create with descriptors: the addon's own properties are read-only.
    const descriptors = Object.fromEntries(Object.entries(fake).map(([k, value]) => [k, { value }]));
    this.binding = Object.create(real, descriptors) as NativeBinding;
  }

  #setup(entries: number, params: SetupParams = {}): SetupResult {
    const sqEntries = 1 << Math.ceil(Math.log2(entries));
    const cqEntries =
      params.flags! & U.IORING_SETUP_CQSIZE ? 1 << Math.ceil(Math.log2(params.cqEntries!)) : 2 * sqEntries;
    // SQ ring words: head, tail, mask, entries, flags, dropped; no SQ array
    // (NO_SQARRAY is accepted). CQ ring words: head, tail, mask, entries,
    // overflow, then the CQEs from byte 32.
    const sqRing = new ArrayBuffer(32);
    const cqRing = new ArrayBuffer(32 + cqEntries * 16);
    const sq = new Uint32Array(sqRing);
    const cq = new Uint32Array(cqRing);
    sq[2] = sqEntries - 1;
    sq[3] = sqEntries;
    cq[2] = cqEntries - 1;
    cq[3] = cqEntries;
    const handle = {};
    const fd = nextFd++;
    const r: Rings = {
      fd,
      sq,
      cq,
      cqi: new Int32Array(cqRing),
      sqes: new Uint32Array(new ArrayBuffer(sqEntries * 64)),
      sqEntries,
      cqEntries,
    };
    this.#rings.set(handle, r);
    this.#byFd.set(fd, r);
    return {
      handle,
      fd,
      flags: params.flags ?? 0,
      features: U.IORING_FEAT_NODROP,
      sqEntries,
      cqEntries,
      sqOff: { head: 0, tail: 4, ringMask: 8, ringEntries: 12, flags: 16, dropped: 20, array: 0 },
      cqOff: { head: 0, tail: 4, ringMask: 8, ringEntries: 12, flags: 20, overflow: 16, cqes: 32 },
      sqRing,
      cqRing,
      sqes: r.sqes.buffer as ArrayBuffer,
    };
  }

  /** Consumes every published SQE: records it, and ends what a cancel-all names. */
  #enter(r: Rings): number {
    let n = 0;
    while (r.sq[0] !== r.sq[1]) {
      const w = (r.sq[0]! & (r.sqEntries - 1)) * 16;
      const u = r.sqes;
      const s: SubmittedSqe = {
        opcode: u[w]! & 0xff,
        flags: (u[w]! >>> 8) & 0xff,
        addrLo: u[w + 4]!,
        addrHi: u[w + 5]!,
        opFlags: u[w + 7]!,
        lo: u[w + 8]!,
        hi: u[w + 9]!,
      };
      r.sq[0] = (r.sq[0]! + 1) >>> 0;
      n++;
      if (s.lo === INTERNAL_LO) {
        if (s.opcode === U.IORING_OP_ASYNC_CANCEL && s.opFlags & U.IORING_ASYNC_CANCEL_ALL) this.#cancelAll(r);
        this.#submitted.push(s);
        continue;
      }
      this.#open.set(`${s.lo}:${s.hi}`, s);
      this.#submitted.push(s);
    }
    return n;
  }

  /** What the runtime's close() asks for: every open request ends with -ECANCELED. */
  #cancelAll(r: Rings): void {
    for (const s of [...this.#open.values()]) this.#post(r, s.lo, s.hi, -ECANCELED, 0);
  }

  #post(r: Rings, lo: number, hi: number, res: number, flags: number): void {
    const tail = r.cq[1]!;
    if ((tail - r.cq[0]!) >>> 0 >= r.cqEntries) throw new Error('fake kernel: the CQ is full (reap first)');
    const o = 8 + (tail & (r.cqEntries - 1)) * 4;
    r.cq[o] = lo;
    r.cq[o + 1] = hi;
    r.cqi[o + 2] = res;
    r.cq[o + 3] = flags;
    r.cq[1] = (tail + 1) >>> 0;
    if (!(flags & U.IORING_CQE_F_MORE)) this.#open.delete(`${lo}:${hi}`);
  }

  #only(): Rings {
    if (this.#rings.size !== 1) throw new Error(`fake kernel: ${this.#rings.size} rings open, expected one`);
    return this.#rings.values().next().value!;
  }

  /**
   * What an SQPOLL ring's kernel thread does by itself: takes every SQE
   * published so far. (With SQPOLL the runtime enters only to wake a
   * sleeping thread, and the fake's thread never sleeps: it runs when the
   * test calls this, so the test decides how far it lags.) Returns how many.
   */
  runSqThread(): number {
    return this.#enter(this.#only());
  }

  /** The SQEs consumed since the last take (internal ones included: cancels, NOPs). */
  take(): SubmittedSqe[] {
    return this.#submitted.splice(0);
  }

  /** Posts a CQE for user data `ud` (an SQE the kernel consumed). Call wake() to have the runtime reap it. */
  post(ud: { lo: number; hi: number }, res: number, flags = 0): void {
    this.#post(this.#only(), ud.lo, ud.hi, res, flags);
  }

  /** Fires the runtime's poller, as the ring fd turning readable does. */
  wake(): void {
    for (const cb of [...this.#pollers.values()]) cb();
  }

  /** post() then wake(): one CQE reaped through the runtime's completion path. */
  complete(ud: { lo: number; hi: number }, res: number, flags = 0): void {
    this.post(ud, res, flags);
    this.wake();
  }
}

interface Rings {
  fd: number;
  sq: Uint32Array;
  cq: Uint32Array;
  cqi: Int32Array;
  sqes: Uint32Array;
  sqEntries: number;
  cqEntries: number;
}

/**
 * Installs a FakeKernel as the native binding until the calling test file
 * ends (close its runtimes before: afterEach), and returns it.
 */
export function fakeKernel(): FakeKernel {
  const k = new FakeKernel();
  const prev = setNativeBinding(k.binding);
  after(() => {
    setNativeBinding(prev);
  });
  return k;
}

/**
 * A Runtime on a FakeKernel installed for test `t`: when the test ends the
 * runtime is closed, then the real binding is back.
 */
export function fakeRuntime(
  t: { after(fn: () => void | Promise<void>): void },
  options?: RuntimeOptions,
): { kernel: FakeKernel; rt: Runtime } {
  const kernel = new FakeKernel();
  const prev = setNativeBinding(kernel.binding);
  let rt: Runtime;
  try {
    rt = new Runtime(options);
  } catch (err) {
    setNativeBinding(prev);
    throw err;
  }
  t.after(async () => {
    await rt.close();
    setNativeBinding(prev);
  });
  return { kernel, rt };
}
