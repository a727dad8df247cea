// The op table and the op state machines, without a ring: CQEs are simulated
// by hand, in the orders the kernel may post them.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { OpTable, SLOT_MASK, AUX_BIT, INTERNAL_LO, LINK_SHIFT, FD_RESULTS_BIT } from '../../src/runtime/op-table.js';
import { Op, PromiseOp, MultishotOp, ChainOp } from '../../src/runtime/op.js';
import { AbortError, UringClosedError } from '../../src/errors.js';
import { Timespec } from '../../src/ring/structs.js';
import type { Sqe } from '../../src/ring/sqe.js';
import { settleState } from './util.js';

const F_MORE = 2; // IORING_CQE_F_MORE
const ECANCELED = 125;
const ETIME = 62;
const ENOENT = 2;
const EBADF = 9;

class TestOp extends PromiseOp<number> {
  get syscall(): string {
    return 'read';
  }
  prep(_sqe: Sqe): void {}
}

class TestMulti extends MultishotOp<number> {
  get syscall(): string {
    return 'poll';
  }
  prep(_sqe: Sqe): void {}
  result(res: number): number {
    return res;
  }
}

/** A timed op as the runtime starts one: a linked timeout, two CQEs owed. */
function timedOp(ms = 50): TestOp {
  const op = new TestOp();
  op.timeoutMs = ms;
  op.timeoutTs = new Timespec(ms);
  op.owed = op.sqeCount;
  return op;
}

/**
 * What the runtime does with one CQE (runtime.ts #completion), minus the
 * "abandoned ops are not completed" shortcut, so the ops' own guards are what
 * is tested. Returns false for a CQE nobody owns.
 */
function deliver(table: OpTable<Op>, lo: number, hi: number, res: number, flags = 0): boolean {
  const op = table.lookup(lo, hi);
  if (op === undefined) return false;
  if (lo & AUX_BIT) op.auxComplete(res);
  else op.complete(res, flags, (lo >>> LINK_SHIFT) & 0x7f);
  if (flags & F_MORE) return true;
  if (--op.owed > 0) return true;
  table.release(op.slot);
  op.slot = -1;
  return true;
}

/** Puts `op` in the table as the runtime would; returns its [lo, hi] for the main and aux CQEs. */
function start(table: OpTable<Op>, op: Op): { lo: number; aux: number; hi: number } {
  const slot = table.alloc(op);
  assert.ok(slot >= 0, 'table full');
  op.slot = slot;
  if (op.owed === 0) op.owed = op.sqeCount;
  return { lo: slot, aux: (slot | AUX_BIT) >>> 0, hi: table.generation(slot) };
}

describe('OpTable', () => {
  test('alloc, lookup and release', () => {
    const t = new OpTable<object>(8);
    assert.equal(t.capacity, 8);
    assert.equal(t.size, 0);
    const a = {}, b = {};
    const sa = t.alloc(a), sb = t.alloc(b);
    assert.equal(sa, 0, 'low slots first');
    assert.equal(sb, 1);
    assert.equal(t.size, 2);
    assert.equal(t.lookup(sa, t.generation(sa)), a);
    assert.equal(t.lookup(sb, t.generation(sb)), b);
    assert.equal(t.lookup(sa, t.generation(sa) + 1), undefined, 'wrong generation');
    assert.equal(t.lookup(7, t.generation(7)), undefined, 'free slot');
    assert.equal(t.lookup(8, 0), undefined, 'past capacity');
    assert.deepEqual([...t.entries()], [[0, a], [1, b]]);
    t.release(sa);
    assert.equal(t.size, 1);
    assert.deepEqual([...t.entries()], [[1, b]]);
  });

  test('the aux bit names the same slot', () => {
    const t = new OpTable<object>(4);
    const a = {};
    const s = t.alloc(a);
    assert.equal(t.lookup((s | AUX_BIT) >>> 0, t.generation(s)), a);
    assert.equal(AUX_BIT & SLOT_MASK, 0);
    assert.equal(INTERNAL_LO & AUX_BIT, 0, 'internal CQEs are never read as an op\'s linked timeout');
  });

  test('a stale generation never matches after release, even when the slot is reused', () => {
    const t = new OpTable<object>(1);
    const seen = new Set<number>();
    let op: object = {};
    let slot = t.alloc(op);
    for (let round = 0; round < 1000; round++) {
      const oldGen = t.generation(slot);
      assert.ok(!seen.has(oldGen), 'generations do not repeat');
      seen.add(oldGen);
      t.release(slot);
      assert.equal(t.lookup(slot, oldGen), undefined, 'released');
      const next = {};
      const again = t.alloc(next);
      assert.equal(again, slot, 'the only slot is reused');
      assert.equal(t.lookup(slot, oldGen), undefined, `round ${round}: the old generation reached the new op`);
      assert.equal(t.lookup(slot, t.generation(slot)), next);
      op = next;
      slot = again;
    }
    assert.ok(op);
  });

  test('an fd-results op carries FD_RESULTS_BIT in its generation; the next op in the slot does not', () => {
    const t = new OpTable<object>(1);
    const a = {};
    const s = t.alloc(a, true);
    const gen = t.generation(s);
    assert.ok(gen >= FD_RESULTS_BIT, 'tagged');
    assert.equal(t.lookup(s, gen), a);
    // The tag is the SQE's own (a chain tags only its members that make fds): lookup matches the generation alone.
    assert.equal(t.lookup(s, (gen & ~FD_RESULTS_BIT) >>> 0), a, 'an untagged SQE of the same op');
    t.release(s);
    const b = {};
    assert.equal(t.alloc(b), s);
    assert.ok(t.generation(s) < FD_RESULTS_BIT, 'not tagged');
    assert.equal(t.lookup(s, gen), undefined, 'the old op\'s user data is stale');
    assert.equal(t.lookup(s, t.generation(s)), b);
  });

  test('a double release does not free the slot twice', () => {
    const t = new OpTable<object>(4);
    const s = t.alloc({});
    const gen = t.generation(s);
    t.release(s);
    t.release(s);
    assert.equal(t.generation(s), (gen + 1) >>> 0, 'the generation moved once');
    assert.equal(t.size, 0);
    const slots = [t.alloc({}), t.alloc({}), t.alloc({}), t.alloc({})];
    assert.equal(new Set(slots).size, 4, `slots handed out twice: ${slots}`);
    assert.equal(t.alloc({}), -1);
  });

  test('INTERNAL_LO is ignored whatever its generation', () => {
    const t = new OpTable<object>(16);
    for (let i = 0; i < 16; i++) t.alloc({});
    for (const hi of [0, 1, 0xffffffff]) assert.equal(t.lookup(INTERNAL_LO, hi), undefined);
    // Nor can a table ever hand out the slot INTERNAL_LO would name.
    assert.ok((INTERNAL_LO & SLOT_MASK) >= SLOT_MASK);
    assert.throws(() => new OpTable(SLOT_MASK + 1), RangeError);
  });

  test('capacity exhaustion returns -1, and a release makes room again', () => {
    const t = new OpTable<object>(3);
    const slots = [t.alloc({}), t.alloc({}), t.alloc({})];
    assert.deepEqual(slots, [0, 1, 2]);
    assert.equal(t.alloc({}), -1);
    assert.equal(t.alloc({}), -1);
    assert.equal(t.size, 3);
    t.release(1);
    assert.equal(t.alloc({}), 1);
    assert.equal(t.alloc({}), -1);
    assert.throws(() => new OpTable(0), RangeError);
  });
});

/** A chain that records what reaches it. */
class TestChain extends ChainOp {
  readonly log: string[] = [];
  prepLink(_sqe: Sqe, _link: number): void {}
  linkResult(link: number, res: number): void {
    this.log.push(`${link}:${res}`);
  }
  chainDone(): void {
    this.log.push('done');
  }
  chainFailed(err: Error): void {
    this.log.push(`failed:${err.name}`);
  }
}

/** Puts a chain in the table as the runtime would; returns the lo word of each of its SQEs. */
function startChain(table: OpTable<Op>, op: ChainOp): { los: number[]; hi: number } {
  const { lo, hi } = start(table, op);
  op.owed = op.links;
  return { los: Array.from({ length: op.links }, (_, k) => (lo | (k << LINK_SHIFT)) >>> 0), hi };
}

describe('ChainOp', () => {
  test('CQEs in any order reach their link; done once, after the last; the slot is held until then', () => {
    const t = new OpTable<Op>(4);
    const op = new TestChain(3, 'hard');
    const { los, hi } = startChain(t, op);
    assert.ok(deliver(t, los[2]!, hi, -ECANCELED));
    assert.ok(deliver(t, los[0]!, hi, 5));
    assert.equal(t.size, 1);
    assert.deepEqual(op.log, ['2:-125', '0:5']);
    assert.ok(deliver(t, los[1]!, hi, 0));
    assert.deepEqual(op.log, ['2:-125', '0:5', '1:0', 'done']);
    assert.equal(t.size, 0);
    assert.equal(op.slot, -1);
    // Stale user data of any link reaches nobody once released.
    assert.equal(deliver(t, los[1]!, hi, 0), false);
    op.abandon(new AbortError());
    assert.deepEqual(op.log, ['2:-125', '0:5', '1:0', 'done'], 'no second outcome');
  });

  test('abandoned mid-chain: one failure, never done, and the slot waits for the CQEs still owed', () => {
    const t = new OpTable<Op>(4);
    const op = new TestChain(3, 'soft');
    const { los, hi } = startChain(t, op);
    deliver(t, los[0]!, hi, 0);
    op.abandon(new AbortError());
    op.abandon(new UringClosedError());
    assert.deepEqual(op.log, ['0:0', 'failed:AbortError']);
    // The runtime swallows an abandoned op's CQEs; the ops' own guard is tested here.
    deliver(t, los[1]!, hi, -ECANCELED);
    assert.equal(t.size, 1, 'one CQE still owed');
    deliver(t, los[2]!, hi, -ECANCELED);
    assert.equal(t.size, 0);
    assert.ok(!op.log.includes('done'));
  });

  test('every link of every slot names its own op; INTERNAL_LO names none', () => {
    const t = new OpTable<Op>(8);
    const a = new TestChain(4, 'hard'), b = new TestChain(4, 'hard');
    const ca = startChain(t, a), cb = startChain(t, b);
    for (const lo of ca.los) assert.equal(t.lookup(lo, ca.hi), a);
    for (const lo of cb.los) assert.equal(t.lookup(lo, cb.hi), b);
    assert.equal(t.lookup(INTERNAL_LO, 0), undefined);
    assert.ok(((SLOT_MASK - 1) | (127 << LINK_SHIFT)) >>> 0 !== INTERNAL_LO, 'the highest slot with the highest link is not INTERNAL_LO');
    assert.equal(((SLOT_MASK | (127 << LINK_SHIFT)) & AUX_BIT), 0, 'links never set the aux bit');
    assert.throws(() => new TestChain(0, 'hard'), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => new TestChain(128, 'hard'), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
  });
});

describe('PromiseOp', () => {
  test('a CQE resolves with its result; a negative one rejects with a system error', async () => {
    const t = new OpTable<Op>(4);
    const ok = new TestOp();
    const bad = new TestOp();
    const a = start(t, ok), b = start(t, bad);
    assert.ok(deliver(t, a.lo, a.hi, 42));
    assert.ok(deliver(t, b.lo, b.hi, -EBADF));
    assert.equal(await ok.promise, 42);
    await assert.rejects(bad.promise, { code: 'EBADF', errno: -EBADF, syscall: 'read', message: 'EBADF: bad file descriptor, read' });
    assert.equal(t.size, 0, 'both released');
    assert.equal(ok.slot, -1);
  });

  test('complete before abandon: the result wins, exactly one outcome', async () => {
    const t = new OpTable<Op>(4);
    const op = new TestOp();
    const { lo, hi } = start(t, op);
    const st = settleState(op.promise);
    deliver(t, lo, hi, 7);
    op.abandon(new AbortError());
    op.complete(8, 0); // a duplicate can change nothing either
    assert.equal(await op.promise, 7);
    await st.idle();
    assert.deepEqual(st.outcomes, ['resolve:7']);
    assert.equal(op.abandoned, true);
  });

  test('abandon then a late CQE: the AbortError stands, and the late CQE still frees the slot', async () => {
    const t = new OpTable<Op>(4);
    const op = new TestOp();
    const { lo, hi } = start(t, op);
    const st = settleState(op.promise);
    const reason = new Error('stop');
    op.abandon(new AbortError(undefined, { cause: reason }));
    assert.equal(t.size, 1, 'the slot stays taken until the kernel is done');
    assert.ok(deliver(t, lo, hi, 5));
    assert.equal(t.size, 0);
    await assert.rejects(op.promise, (e: any) => e.name === 'AbortError' && e.code === 'ABORT_ERR' && e.cause === reason);
    await st.idle();
    assert.equal(st.outcomes.length, 1);
    assert.equal(st.outcomes[0], 'reject:AbortError');
    // A second CQE for the released slot (impossible, but stale) reaches nobody.
    assert.equal(deliver(t, lo, hi, 6), false);
  });

  test('a second abandon does not change the outcome', async () => {
    const op = new TestOp();
    op.abandon(new AbortError());
    op.abandon(new UringClosedError());
    await assert.rejects(op.promise, { name: 'AbortError' });
  });
});

describe('PromiseOp with a linked timeout', () => {
  type Cqe = 'main' | 'aux';
  const cases: { name: string; main: number; aux: number; expect: (p: Promise<number>) => Promise<void> }[] = [
    {
      name: 'main -ECANCELED + aux -ETIME: ERR_URING_TIMEOUT',
      main: -ECANCELED,
      aux: -ETIME,
      expect: (p) => assert.rejects(p, (e: any) => e.code === 'ERR_URING_TIMEOUT' && e.timeout === 50 && e.syscall === 'read' && /timed out after 50 ms/.test(e.message)),
    },
    {
      name: 'main success + aux -ECANCELED: the value',
      main: 11,
      aux: -ECANCELED,
      expect: async (p) => assert.equal(await p, 11),
    },
    {
      name: 'main success + aux -ETIME (the timer lost the race): the value',
      main: 12,
      aux: -ETIME,
      expect: async (p) => assert.equal(await p, 12),
    },
    {
      name: 'main error + aux -ECANCELED: the system error',
      main: -ENOENT,
      aux: -ECANCELED,
      expect: (p) => assert.rejects(p, { code: 'ENOENT', errno: -ENOENT, syscall: 'read' }),
    },
    {
      name: 'main -ECANCELED by someone else + aux -ECANCELED: ECANCELED, not a timeout',
      main: -ECANCELED,
      aux: -ECANCELED,
      expect: (p) => assert.rejects(p, { code: 'ECANCELED', syscall: 'read' }),
    },
  ];
  for (const c of cases) {
    for (const order of [['main', 'aux'], ['aux', 'main']] as Cqe[][]) {
      test(`${c.name} (${order.join(' then ')})`, async () => {
        const t = new OpTable<Op>(2);
        const op = timedOp(50);
        assert.equal(op.sqeCount, 2);
        const ids = start(t, op);
        const st = settleState(op.promise);
        const send = (which: Cqe) => deliver(t, which === 'main' ? ids.lo : ids.aux, ids.hi, which === 'main' ? c.main : c.aux);
        send(order[0]!);
        await st.idle();
        assert.deepEqual(st.outcomes, [], 'settled after the first of two CQEs');
        assert.equal(t.size, 1, 'released after the first of two CQEs');
        send(order[1]!);
        assert.equal(t.size, 0);
        await c.expect(op.promise);
        await st.idle();
        assert.equal(st.outcomes.length, 1);
      });
    }
  }

  test('abandoned while waiting for the timeout CQE after a successful main CQE: the result is not lost', async () => {
    // An open's fd must reach someone: the caller (resolve) rather than
    // nobody (an AbortError while the fd stays open).
    const t = new OpTable<Op>(2);
    const op = timedOp(50);
    const ids = start(t, op);
    deliver(t, ids.lo, ids.hi, 42);
    op.abandon(new AbortError());
    deliver(t, ids.aux, ids.hi, -ECANCELED);
    assert.equal(await op.promise, 42);
  });

  test('abandoned before any CQE: AbortError, whatever the CQEs say later', async () => {
    const t = new OpTable<Op>(2);
    const op = timedOp(50);
    const ids = start(t, op);
    op.abandon(new AbortError());
    deliver(t, ids.aux, ids.hi, -ETIME);
    deliver(t, ids.lo, ids.hi, -ECANCELED);
    await assert.rejects(op.promise, { name: 'AbortError' });
    assert.equal(t.size, 0);
  });
});

describe('MultishotOp', () => {
  test('values with F_MORE queue and iterate in order; a final CQE without F_MORE ends it', async () => {
    const t = new OpTable<Op>(2);
    const op = new TestMulti();
    const { lo, hi } = start(t, op);
    deliver(t, lo, hi, 1, F_MORE);
    deliver(t, lo, hi, 2, F_MORE);
    deliver(t, lo, hi, 3, F_MORE);
    assert.equal(op.buffered, 3);
    assert.equal(t.size, 1, 'F_MORE: the slot stays');
    assert.deepEqual(await op.next(), { value: 1, done: false });
    assert.deepEqual(await op.next(), { value: 2, done: false });
    assert.deepEqual(await op.next(), { value: 3, done: false });
    // A waiter gets the next value directly.
    const waiting = op.next();
    deliver(t, lo, hi, 4, F_MORE);
    assert.deepEqual(await waiting, { value: 4, done: false });
    deliver(t, lo, hi, 5, F_MORE);
    deliver(t, lo, hi, 6, 0); // last: a value, and no more
    assert.equal(t.size, 0, 'released on the CQE without F_MORE');
    const rest: number[] = [];
    for await (const v of op) rest.push(v);
    assert.deepEqual(rest, [5, 6]);
    assert.deepEqual(await op.next(), { value: undefined, done: true });
  });

  test('a pending next() ends when the final CQE is -ECANCELED', async () => {
    const t = new OpTable<Op>(2);
    const op = new TestMulti();
    const { lo, hi } = start(t, op);
    const waiting = op.next();
    deliver(t, lo, hi, -ECANCELED, 0);
    assert.deepEqual(await waiting, { value: undefined, done: true });
  });

  test('a negative result ends it with a system error, after the values before it', async () => {
    const t = new OpTable<Op>(2);
    const op = new TestMulti();
    const { lo, hi } = start(t, op);
    deliver(t, lo, hi, 1, F_MORE);
    deliver(t, lo, hi, -EBADF, 0);
    const got: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const v of op) got.push(v);
      })(),
      { code: 'EBADF', errno: -EBADF, syscall: 'poll' },
    );
    assert.deepEqual(got, [1]);
    assert.deepEqual(await op.next(), { value: undefined, done: true }, 'the error is reported once');

    // And a waiter already parked gets the error.
    const op2 = new TestMulti();
    const ids = start(t, op2);
    const waiting = op2.next();
    deliver(t, ids.lo, ids.hi, -ENOENT, 0);
    await assert.rejects(waiting, { code: 'ENOENT' });
  });

  test('return() calls onReturn once, drops what is queued, and ends the iterator', async () => {
    const t = new OpTable<Op>(2);
    const op = new TestMulti();
    let calls = 0;
    op.onReturn = () => calls++;
    const { lo, hi } = start(t, op);
    deliver(t, lo, hi, 1, F_MORE);
    deliver(t, lo, hi, 2, F_MORE);
    for await (const v of op) {
      assert.equal(v, 1);
      break; // calls return()
    }
    assert.equal(calls, 1);
    assert.deepEqual(await op.return(), { value: undefined, done: true });
    assert.equal(calls, 1, 'onReturn once');
    assert.deepEqual(await op.next(), { value: undefined, done: true });
    // The kernel's remaining CQEs are swallowed; the last frees the slot.
    deliver(t, lo, hi, 3, F_MORE);
    deliver(t, lo, hi, -ECANCELED, 0);
    assert.equal(op.buffered, 0);
    assert.equal(t.size, 0);
    assert.deepEqual(await op.next(), { value: undefined, done: true });
  });

  test('return() wakes a parked next(), and is not called back once the kernel ended the op', async () => {
    const op = new TestMulti();
    let calls = 0;
    op.onReturn = () => calls++;
    const waiting = op.next();
    await op.return();
    assert.deepEqual(await waiting, { value: undefined, done: true });
    assert.equal(calls, 1);

    const t = new OpTable<Op>(2);
    const ended = new TestMulti();
    let endedCalls = 0;
    ended.onReturn = () => endedCalls++;
    const { lo, hi } = start(t, ended);
    deliver(t, lo, hi, 1, 0);
    await ended.return();
    assert.equal(endedCalls, 0, 'nothing left to cancel');
  });

  test('abandon (abort, close) rejects a parked next() with its error, once', async () => {
    const op = new TestMulti();
    const waiting = op.next();
    const reason = new Error('why');
    op.abandon(new AbortError(undefined, { cause: reason }));
    await assert.rejects(waiting, (e: any) => e.name === 'AbortError' && e.cause === reason);
    assert.deepEqual(await op.next(), { value: undefined, done: true });

    const op2 = new TestMulti();
    op2.abandon(new UringClosedError());
    await assert.rejects(op2.next(), { code: 'ERR_URING_CLOSED' });
    assert.deepEqual(await op2.next(), { value: undefined, done: true });
  });
});
