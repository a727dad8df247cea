// The op table and the op state machines, driven through the runtime's own
// completion path: a Runtime on a fake kernel (test/helpers/fake-kernel.ts)
// starts the ops for real, and the test posts their CQEs in the orders the
// kernel may post them.
import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { OpTable, SLOT_MASK, AUX_BIT, INTERNAL_LO, LINK_SHIFT, FD_RESULTS_BIT } from '../../src/runtime/op-table.js';
import { PromiseOp, MultishotOp, ChainOp, OpState, type Op } from '../../src/runtime/op.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { AbortError, UringClosedError } from '../../src/errors.js';
import * as U from '../../src/ring/uapi.js';
import type { Sqe } from '../../src/ring/sqe.js';
import { fakeKernel, type SubmittedSqe } from '../helpers/fake-kernel.js';
import { turn } from '../helpers/wait.js';
import { settleState } from './util.js';
import { link } from '../../src/ops/link.js';

const F_MORE = U.IORING_CQE_F_MORE;
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

/** A timed op: the runtime gives it a linked timeout, two CQEs owed. */
function timedOp(ms = 50): TestOp {
  const op = new TestOp();
  op.timeoutMs = ms;
  return op;
}

describe('OpTable', () => {
  test('alloc, lookup and release', () => {
    const t = new OpTable<object>(8);
    assert.equal(t.capacity, 8);
    assert.equal(t.size, 0);
    const a = {},
      b = {};
    const sa = t.alloc(a),
      sb = t.alloc(b);
    assert.equal(sa, 0, 'low slots first');
    assert.equal(sb, 1);
    assert.equal(t.size, 2);
    assert.equal(t.lookup(sa, t.generation(sa)), a);
    assert.equal(t.lookup(sb, t.generation(sb)), b);
    assert.equal(t.lookup(sa, t.generation(sa) + 1), undefined, 'wrong generation');
    assert.equal(t.lookup(7, t.generation(7)), undefined, 'free slot');
    assert.equal(t.lookup(8, 0), undefined, 'past capacity');
    assert.deepEqual(
      [...t.entries()],
      [
        [0, a],
        [1, b],
      ],
    );
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
    assert.equal(INTERNAL_LO & AUX_BIT, 0, "internal CQEs are never read as an op's linked timeout");
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
    assert.equal(t.lookup(s, gen), undefined, "the old op's user data is stale");
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

const kernel = fakeKernel();
let rt: Runtime;
beforeEach(() => {
  rt = new Runtime({ entries: 8 });
});
afterEach(async () => {
  // Every op of a test has had its last CQE: nothing for close() to cancel.
  assert.equal(rt.inflight, 0, 'an op still holds a slot');
  await rt.close();
  kernel.take();
});

interface Started {
  /** The op's main SQE. */
  main: SubmittedSqe;
  /** Its linked timeout's SQE, if any. */
  aux?: SubmittedSqe;
  /** Every SQE of a ChainOp, in chain order. */
  links: SubmittedSqe[];
}

/** Submits `op`, lets the runtime flush, and returns the SQEs the kernel took for it. */
async function start(op: Op): Promise<Started> {
  rt.submit(op);
  await turn();
  const sqes = kernel.take().filter((s) => s.lo !== INTERNAL_LO);
  assert.ok(sqes.length > 0, 'the op reached the kernel');
  const main = sqes.find((s) => !(s.lo & AUX_BIT))!;
  const aux = sqes.find((s) => s.lo & AUX_BIT);
  return { main, aux, links: sqes.filter((s) => !(s.lo & AUX_BIT)) };
}

/** A chain that records what reaches it. */
class TestChain extends ChainOp {
  readonly log: string[] = [];
  prepLink(_sqe: Sqe, _link: number): void {}
  linkResult(link: number, res: number): void {
    this.log.push(`${link}:${res}`);
  }
  override lateComplete(res: number, link: number): void {
    this.log.push(`late ${link}:${res}`);
  }
  chainDone(): void {
    this.log.push('done');
  }
  chainFailed(err: Error): void {
    this.log.push(`failed:${err.name}`);
  }
}

describe('ChainOp', () => {
  test('CQEs in any order reach their link; done once, after the last; the slot is held until then', async () => {
    const op = new TestChain(3, 'hard');
    const { links } = await start(op);
    assert.equal(links.length, 3);
    kernel.complete(links[2]!, -ECANCELED);
    kernel.complete(links[0]!, 5);
    assert.equal(rt.inflight, 1);
    assert.deepEqual(op.log, ['2:-125', '0:5']);
    kernel.complete(links[1]!, 0);
    assert.deepEqual(op.log, ['2:-125', '0:5', '1:0', 'done']);
    assert.equal(rt.inflight, 0);
    assert.equal(op.state, OpState.Released);
    // Stale user data of any link reaches nobody once released.
    kernel.complete(links[1]!, 0);
    assert.deepEqual(op.log, ['2:-125', '0:5', '1:0', 'done']);
    op.abandon(new AbortError());
    assert.deepEqual(op.log, ['2:-125', '0:5', '1:0', 'done'], 'no second outcome');
  });

  test('abandoned mid-chain: one failure, never done, and the slot waits for the CQEs still owed', async () => {
    const op = new TestChain(3, 'soft');
    const { links } = await start(op);
    kernel.complete(links[0]!, 0);
    op.abandon(new AbortError());
    op.abandon(new UringClosedError());
    assert.deepEqual(op.log, ['0:0', 'failed:AbortError']);
    // The CQEs still owed reach the op only as late completions.
    kernel.complete(links[1]!, -ECANCELED);
    assert.equal(rt.inflight, 1, 'one CQE still owed');
    kernel.complete(links[2]!, -ECANCELED);
    assert.equal(rt.inflight, 0);
    assert.deepEqual(op.log, ['0:0', 'failed:AbortError', 'late 1:-125', 'late 2:-125']);
  });

  test('every link of every slot names its own op; INTERNAL_LO names none', async () => {
    const a = new TestChain(4, 'hard'),
      b = new TestChain(4, 'hard');
    const ca = await start(a),
      cb = await start(b);
    for (const [op, c] of [
      [a, ca],
      [b, cb],
    ] as const) {
      assert.equal(c.links.length, 4);
      c.links.forEach((s, k) => {
        assert.equal(s.lo & SLOT_MASK, op.slot, "every SQE names the chain's slot");
        assert.equal((s.lo >>> LINK_SHIFT) & 0x7f, k, 'and its place in the chain');
        assert.equal(s.hi, c.links[0]!.hi, 'one generation');
        assert.equal(
          s.flags & (U.IOSQE_IO_HARDLINK | U.IOSQE_IO_LINK),
          k < 3 ? U.IOSQE_IO_HARDLINK : 0,
          'hard links but the last',
        );
      });
    }
    assert.notEqual(a.slot, b.slot);
    assert.ok(
      ((SLOT_MASK - 1) | (127 << LINK_SHIFT)) >>> 0 !== INTERNAL_LO,
      'the highest slot with the highest link is not INTERNAL_LO',
    );
    assert.equal((SLOT_MASK | (127 << LINK_SHIFT)) & AUX_BIT, 0, 'links never set the aux bit');
    // A CQE with INTERNAL_LO (a cancel's, say) reaches neither chain.
    kernel.complete({ lo: INTERNAL_LO, hi: ca.links[0]!.hi }, 0);
    kernel.complete({ lo: INTERNAL_LO, hi: 0 }, 0);
    assert.deepEqual([a.log, b.log], [[], []]);
    for (const c of [ca, cb]) for (const s of c.links) kernel.complete(s, 0);
    assert.deepEqual(a.log.at(-1), 'done');
    assert.deepEqual(b.log.at(-1), 'done');
    assert.throws(() => new TestChain(0, 'hard'), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => new TestChain(128, 'hard'), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
  });
});

describe('PromiseOp', () => {
  test('a CQE resolves with its result; a negative one rejects with a system error', async () => {
    const ok = new TestOp();
    const bad = new TestOp();
    const a = await start(ok),
      b = await start(bad);
    kernel.complete(a.main, 42);
    kernel.complete(b.main, -EBADF);
    assert.equal(await ok.promise, 42);
    await assert.rejects(bad.promise, {
      code: 'EBADF',
      errno: -EBADF,
      syscall: 'read',
      message: 'EBADF: bad file descriptor, read',
    });
    assert.equal(rt.inflight, 0, 'both released');
    assert.equal(ok.state, OpState.Released);
    assert.equal(bad.state, OpState.Released);
  });

  test('complete before abandon: the result wins, exactly one outcome', async () => {
    const op = new TestOp();
    const { main } = await start(op);
    const st = settleState(op.promise);
    kernel.complete(main, 7);
    op.abandon(new AbortError());
    op.complete(8, 0); // a duplicate can change nothing either
    assert.equal(await op.promise, 7);
    await st.idle();
    assert.deepEqual(st.outcomes, ['resolve:7']);
    assert.equal(op.state, OpState.Released, 'an abandon after the last CQE changes nothing');
  });

  test('abandon then a late CQE: the AbortError stands, and the late CQE still frees the slot', async () => {
    const op = new TestOp();
    const { main } = await start(op);
    const st = settleState(op.promise);
    const reason = new Error('stop');
    op.abandon(new AbortError(undefined, { cause: reason }));
    assert.equal(rt.inflight, 1, 'the slot stays taken until the kernel is done');
    kernel.complete(main, 5);
    assert.equal(rt.inflight, 0);
    await assert.rejects(
      op.promise,
      (e: any) => e.name === 'AbortError' && e.code === 'ABORT_ERR' && e.cause === reason,
    );
    await st.idle();
    assert.equal(st.outcomes.length, 1);
    assert.equal(st.outcomes[0], 'reject:AbortError');
    // A second CQE for the released slot (impossible, but stale) reaches nobody.
    const next = new TestOp();
    const n = await start(next);
    assert.equal(n.main.lo, main.lo, 'the slot is reused');
    assert.notEqual(n.main.hi, main.hi, 'with a new generation');
    kernel.complete(main, 6);
    assert.equal(rt.inflight, 1, 'the stale CQE did not end the op now in the slot');
    kernel.complete(n.main, 9);
    assert.equal(await next.promise, 9);
  });

  test('a second abandon does not change the outcome', async () => {
    const op = new TestOp();
    op.abandon(new AbortError());
    op.abandon(new UringClosedError());
    await assert.rejects(op.promise, { name: 'AbortError' });
  });

  test('an abort after the SQE reached the kernel: a completion that beat the cancel resolves; a cancelled op rejects with the AbortError', async () => {
    for (const [res, expect] of [
      [3, 'resolve:3'],
      [-ECANCELED, 'reject:AbortError'],
    ] as const) {
      const ac = new AbortController();
      const op = new TestOp();
      op.signal = ac.signal;
      const { main } = await start(op);
      const st = settleState(op.promise);
      ac.abort();
      await turn();
      const cancel = kernel.take().find((s) => s.opcode === U.IORING_OP_ASYNC_CANCEL);
      assert.ok(cancel, 'a cancel went to the kernel');
      assert.deepEqual([cancel.addrLo, cancel.addrHi], [main.lo, main.hi], 'naming the op');
      await st.idle();
      assert.deepEqual(st.outcomes, [], 'it settles from its CQE');
      kernel.complete(main, res);
      await st.idle();
      assert.deepEqual(st.outcomes, [expect]);
    }
  });
});

describe('OpState: where an op is, one field', () => {
  test('Idle, Submitted as soon as its SQE is written, Released at its CQE', async () => {
    const op = new TestOp();
    assert.equal(op.state, OpState.Idle);
    rt.submit(op);
    assert.equal(op.state, OpState.Submitted, 'started in submit, before the flush');
    await turn();
    const [main] = kernel.take();
    kernel.complete(main!, 1);
    assert.equal(op.state, OpState.Released);
    assert.equal(await op.promise, 1);
  });

  test('Queued while the CQ budget is spent; Released unstarted when given up there', async () => {
    await rt.close();
    rt = new Runtime({ entries: 2, cqEntries: 2 });
    const ops = [new TestOp(), new TestOp(), new TestOp(), new TestOp()];
    for (const op of ops) rt.submit(op);
    assert.deepEqual(
      ops.map((o) => o.state),
      [OpState.Submitted, OpState.Submitted, OpState.Queued, OpState.Queued],
    );
    rt.cancel(ops[3]!);
    assert.equal(ops[3]!.state, OpState.Released, 'nothing owed: released at once');
    await assert.rejects(ops[3]!.promise, { name: 'AbortError' });
    await turn();
    const first = kernel.take();
    kernel.complete(first[0]!, 0);
    kernel.complete(first[1]!, 0);
    await turn();
    assert.equal(ops[2]!.state, OpState.Submitted, 'started from the backlog');
    assert.equal(ops[3]!.state, OpState.Released, 'skipped');
    const rest = kernel.take().filter((s) => s.lo !== INTERNAL_LO);
    assert.equal(rest.length, 1);
    kernel.complete(rest[0]!, 0);
    assert.deepEqual(
      ops.map((o) => o.state),
      [OpState.Released, OpState.Released, OpState.Released, OpState.Released],
    );
  });

  test('withdrawn before the kernel saw it: Released at once, the slot free', () => {
    const ac = new AbortController();
    const op = new TestOp();
    op.signal = ac.signal;
    rt.submit(op);
    assert.equal(op.state, OpState.Submitted);
    ac.abort();
    assert.equal(op.state, OpState.Released);
    assert.equal(rt.inflight, 0);
    return assert.rejects(op.promise, { name: 'AbortError' });
  });

  test('given up in flight: Settled until its last CQE, then Released', async () => {
    const op = new TestOp();
    const { main } = await start(op);
    op.abandon(new AbortError());
    assert.equal(op.state, OpState.Settled);
    await assert.rejects(op.promise, { name: 'AbortError' });
    kernel.complete(main, 5);
    assert.equal(op.state, OpState.Released);
  });

  test('a multishot op after return(): Settled, its CQEs swallowed, Released by the last', async () => {
    const op = new TestMulti();
    const { main } = await start(op);
    await op.return();
    assert.equal(op.state, OpState.Settled);
    kernel.complete(main, 1, F_MORE);
    assert.equal(op.buffered, 0);
    kernel.complete(main, -ECANCELED, 0);
    assert.equal(op.state, OpState.Released);
  });

  test('link() members: Linked while the chain holds the slot, Released at their CQE', async () => {
    const a = new TestOp();
    const b = new TestOp();
    link([a, b], { runtime: rt });
    assert.deepEqual([a.state, b.state], [OpState.Linked, OpState.Linked]);
    assert.throws(() => link([a], { runtime: rt }), { code: 'ERR_INVALID_ARG_VALUE' }, 'already in a chain');
    await turn();
    const sqes = kernel.take().filter((s) => s.lo !== INTERNAL_LO);
    assert.equal(sqes.length, 2);
    kernel.complete(sqes[0]!, 3);
    assert.deepEqual([a.state, b.state], [OpState.Released, OpState.Linked]);
    kernel.complete(sqes[1]!, 4);
    assert.deepEqual([a.state, b.state], [OpState.Released, OpState.Released]);
    assert.deepEqual(await Promise.all([a.promise, b.promise]), [3, 4]);
  });
});

describe('PromiseOp with a linked timeout', () => {
  type Cqe = 'main' | 'aux';
  const cases: { name: string; main: number; aux: number; expect: (p: Promise<number>) => Promise<void> }[] = [
    {
      name: 'main -ECANCELED + aux -ETIME: ERR_URING_TIMEOUT',
      main: -ECANCELED,
      aux: -ETIME,
      expect: (p) =>
        assert.rejects(
          p,
          (e: any) =>
            e.code === 'ERR_URING_TIMEOUT' &&
            e.timeout === 50 &&
            e.syscall === 'read' &&
            /timed out after 50 ms/.test(e.message),
        ),
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
    for (const order of [
      ['main', 'aux'],
      ['aux', 'main'],
    ] as Cqe[][]) {
      test(`${c.name} (${order.join(' then ')})`, async () => {
        const op = timedOp(50);
        const ids = await start(op);
        assert.ok(ids.aux, 'a linked timeout SQE');
        assert.equal(ids.aux.opcode, U.IORING_OP_LINK_TIMEOUT);
        assert.ok(ids.main.flags & U.IOSQE_IO_LINK, 'the op links to its timeout');
        assert.equal(op.sqeCount, 2);
        const st = settleState(op.promise);
        const send = (which: Cqe) =>
          kernel.complete(which === 'main' ? ids.main : ids.aux!, which === 'main' ? c.main : c.aux);
        send(order[0]!);
        await st.idle();
        assert.deepEqual(st.outcomes, [], 'settled after the first of two CQEs');
        assert.equal(rt.inflight, 1, 'released after the first of two CQEs');
        send(order[1]!);
        assert.equal(rt.inflight, 0);
        await c.expect(op.promise);
        await st.idle();
        assert.equal(st.outcomes.length, 1);
      });
    }
  }

  test('abandoned while waiting for the timeout CQE after a successful main CQE: the result is not lost', async () => {
    // An open's fd must reach someone: the caller (resolve) rather than
    // nobody (an AbortError while the fd stays open).
    const op = timedOp(50);
    const ids = await start(op);
    kernel.complete(ids.main, 42);
    op.abandon(new AbortError());
    kernel.complete(ids.aux!, -ECANCELED);
    assert.equal(await op.promise, 42);
  });

  test('abandoned before any CQE: AbortError, whatever the CQEs say later', async () => {
    const op = timedOp(50);
    const ids = await start(op);
    op.abandon(new AbortError());
    kernel.complete(ids.aux!, -ETIME);
    kernel.complete(ids.main, -ECANCELED);
    await assert.rejects(op.promise, { name: 'AbortError' });
    assert.equal(rt.inflight, 0);
  });
});

/** Counts the runtime's onReturn calls (a multishot op's cancel when its iterator is left). */
function countReturns(op: TestMulti): { calls: number } {
  const counter = { calls: 0 };
  const cancel = op.onReturn;
  op.onReturn = () => {
    counter.calls++;
    cancel?.();
  };
  return counter;
}

describe('MultishotOp', () => {
  test('values with F_MORE queue and iterate in order; a final CQE without F_MORE ends it', async () => {
    const op = new TestMulti();
    const { main } = await start(op);
    kernel.complete(main, 1, F_MORE);
    kernel.complete(main, 2, F_MORE);
    kernel.complete(main, 3, F_MORE);
    assert.equal(op.buffered, 3);
    assert.equal(rt.inflight, 1, 'F_MORE: the slot stays');
    assert.deepEqual(await op.next(), { value: 1, done: false });
    assert.deepEqual(await op.next(), { value: 2, done: false });
    assert.deepEqual(await op.next(), { value: 3, done: false });
    // A waiter gets the next value directly.
    const waiting = op.next();
    kernel.complete(main, 4, F_MORE);
    assert.deepEqual(await waiting, { value: 4, done: false });
    kernel.post(main, 5, F_MORE);
    kernel.post(main, 6, 0); // last: a value, and no more
    kernel.wake();
    assert.equal(rt.inflight, 0, 'released on the CQE without F_MORE');
    const rest: number[] = [];
    for await (const v of op) rest.push(v);
    assert.deepEqual(rest, [5, 6]);
    assert.deepEqual(await op.next(), { value: undefined, done: true });
  });

  test('a pending next() ends when the final CQE is -ECANCELED', async () => {
    const op = new TestMulti();
    const { main } = await start(op);
    const waiting = op.next();
    kernel.complete(main, -ECANCELED, 0);
    assert.deepEqual(await waiting, { value: undefined, done: true });
  });

  test('a negative result ends it with a system error, after the values before it', async () => {
    const op = new TestMulti();
    const { main } = await start(op);
    kernel.complete(main, 1, F_MORE);
    kernel.complete(main, -EBADF, 0);
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
    const ids = await start(op2);
    const waiting = op2.next();
    kernel.complete(ids.main, -ENOENT, 0);
    await assert.rejects(waiting, { code: 'ENOENT' });
  });

  test('return() cancels the op in the kernel once, drops what is queued, and ends the iterator', async () => {
    const op = new TestMulti();
    const { main } = await start(op);
    const counter = countReturns(op);
    kernel.complete(main, 1, F_MORE);
    kernel.complete(main, 2, F_MORE);
    for await (const v of op) {
      assert.equal(v, 1);
      break; // calls return()
    }
    assert.equal(counter.calls, 1);
    assert.deepEqual(await op.return(), { value: undefined, done: true });
    assert.equal(counter.calls, 1, 'onReturn once');
    assert.deepEqual(await op.next(), { value: undefined, done: true });
    await turn();
    const cancels = kernel.take().filter((s) => s.opcode === U.IORING_OP_ASYNC_CANCEL);
    assert.deepEqual(
      cancels.map((s) => [s.addrLo, s.addrHi]),
      [[main.lo, main.hi]],
      'one cancel, naming the op',
    );
    // The kernel's remaining CQEs are swallowed; the last frees the slot.
    kernel.complete(main, 3, F_MORE);
    kernel.complete(main, -ECANCELED, 0);
    assert.equal(op.buffered, 0);
    assert.equal(rt.inflight, 0);
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

    const ended = new TestMulti();
    const { main } = await start(ended);
    const counter = countReturns(ended);
    kernel.complete(main, 1, 0);
    await ended.return();
    assert.equal(counter.calls, 0, 'nothing left to cancel');
    await turn();
    assert.deepEqual(
      kernel.take().filter((s) => s.opcode === U.IORING_OP_ASYNC_CANCEL),
      [],
      'no cancel sent',
    );
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

  test("the runtime closing with the op in flight: the parked next() rejects, and the kernel's last CQE frees the slot", async () => {
    const op = new TestMulti();
    await start(op);
    const waiting = op.next();
    const closing = rt.close();
    await assert.rejects(waiting, { code: 'ERR_URING_CLOSED' });
    await closing;
    assert.equal(rt.inflight, 0, 'the cancel-all ended it');
    assert.ok(
      kernel.take().some((s) => s.opcode === U.IORING_OP_ASYNC_CANCEL && s.opFlags & U.IORING_ASYNC_CANCEL_ALL),
    );
  });
});
