// The runtime against a fake kernel (test/helpers/fake-kernel.ts), for what
// a real kernel does only now and then, under load: here the test decides
// when the kernel acts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PromiseOp } from '../../src/runtime/op.js';
import { INTERNAL_LO } from '../../src/runtime/op-table.js';
import * as U from '../../src/ring/uapi.js';
import type { Sqe } from '../../src/ring/sqe.js';
import { fakeRuntime, type SubmittedSqe } from '../helpers/fake-kernel.js';
import { turn, waitFor, within } from '../helpers/wait.js';

class TestOp extends PromiseOp<number> {
  get syscall(): string {
    return 'read';
  }
  prep(_sqe: Sqe): void {}
}

// With SQPOLL the kernel thread takes SQEs when it gets to run: on a busy
// machine the SQ can be full of SQEs it has not taken yet. An op that finds
// no room waits in the backlog; when nothing in flight owes a CQE (the SQ
// holds only SQEs nobody waits for: withdrawn ops, cancels), no completion
// wakes the runtime to start it: it must look again by itself.
test('SQPOLL: an op that found the SQ full starts once the kernel thread has taken the SQEs, with nothing else in flight', async (t) => {
  const { kernel, rt } = fakeRuntime(t, { entries: 4, flags: U.IORING_SETUP_SQPOLL });
  // Four ops aborted in the turn they were made: withdrawn, their SQEs go
  // to the kernel as NOPs whose CQEs nobody waits for.
  for (let i = 0; i < 4; i++) {
    const ac = new AbortController();
    const op = new TestOp();
    op.signal = ac.signal;
    rt.submit(op);
    ac.abort();
    await assert.rejects(op.promise, { name: 'AbortError' });
  }
  await turn();
  assert.equal(rt.ring.sqSpaceLeft, 0, 'the SQ is full of SQEs the kernel thread has not taken');
  assert.equal(rt.inflight, 0);
  const op = new TestOp();
  rt.submit(op);
  assert.equal(rt.backlog, 1, 'no room: the op waits');
  assert.equal(kernel.runSqThread(), 4, 'the thread catches up');
  assert.ok(kernel.take().every((s) => s.lo === INTERNAL_LO && s.opcode === U.IORING_OP_NOP));
  // Nothing posts a CQE: the runtime must find the room itself.
  await within(
    waitFor(() => rt.backlog === 0 && rt.inflight === 1, { timeout: 1000, what: 'the op to leave the backlog' }),
    2000,
    'the op to start',
  );
  await turn();
  kernel.runSqThread();
  const [sqe] = kernel.take();
  assert.ok(sqe && sqe.lo !== INTERNAL_LO, 'the op reached the kernel');
  kernel.complete(sqe, 7);
  assert.equal(await op.promise, 7);
});

test('SQPOLL: an op aborted while it waits in the backlog leaves it at once, though nothing else wakes the runtime', async (t) => {
  const { kernel, rt } = fakeRuntime(t, { entries: 2, flags: U.IORING_SETUP_SQPOLL });
  for (let i = 0; i < 2; i++) {
    const ac = new AbortController();
    const op = new TestOp();
    op.signal = ac.signal;
    rt.submit(op);
    ac.abort();
    await assert.rejects(op.promise, { name: 'AbortError' });
  }
  await turn();
  const ac = new AbortController();
  const op = new TestOp();
  op.signal = ac.signal;
  rt.submit(op);
  assert.equal(rt.backlog, 1);
  ac.abort();
  await assert.rejects(op.promise, { name: 'AbortError' });
  kernel.runSqThread();
  // What tests and callers wait on (drained: inflight and backlog at 0) comes true.
  await waitFor(() => rt.backlog === 0, {
    timeout: 1000,
    what: () => `the aborted op to leave the backlog (backlog ${rt.backlog})`,
  });
  assert.equal(rt.inflight, 0);
});

/** The SQE of `op` among those the kernel took (by its slot). */
function sqeOf(sqes: SubmittedSqe[], op: TestOp): SubmittedSqe {
  const s = sqes.find((x) => x.lo === op.slot);
  assert.ok(s, `no SQE for the op in slot ${op.slot}`);
  return s;
}

// Cancels and close()'s cancel-all have no backlog to wait in: they need an
// SQE now, and with SQPOLL the SQ may be full of SQEs the thread has not
// taken yet.
test('SQPOLL: an abort whose cancel finds the SQ full still cancels the op in the kernel', async (t) => {
  const { kernel, rt } = fakeRuntime(t, { entries: 2, flags: U.IORING_SETUP_SQPOLL });
  const ac = new AbortController();
  const a = new TestOp();
  a.signal = ac.signal;
  rt.submit(a);
  const b = new TestOp();
  rt.submit(b);
  await turn();
  assert.equal(rt.ring.sqSpaceLeft, 0, 'the SQ is full of SQEs the kernel thread has not taken');
  ac.abort();
  await turn();
  kernel.runSqThread();
  const sqes = kernel.take();
  const cancel = sqes.find((s) => s.opcode === U.IORING_OP_ASYNC_CANCEL);
  assert.ok(cancel, 'the cancel reached the kernel');
  const sa = sqeOf(sqes, a);
  assert.deepEqual([cancel.addrLo, cancel.addrHi], [sa.lo, sa.hi], 'naming the aborted op');
  const sb = sqeOf(sqes, b);
  kernel.complete(sa, -125);
  kernel.complete(sb, 1);
  await assert.rejects(within(a.promise, 1000, 'the aborted op'), { name: 'AbortError' });
  assert.equal(await b.promise, 1);
});

test('SQPOLL: close() with the SQ full of SQEs the thread has not taken still sends its cancel-all, and does not wait out its deadline', async (t) => {
  const { rt } = fakeRuntime(t, { entries: 2, flags: U.IORING_SETUP_SQPOLL });
  const ops = [new TestOp(), new TestOp()];
  for (const op of ops) rt.submit(op);
  await turn();
  assert.equal(rt.ring.sqSpaceLeft, 0);
  const t0 = performance.now();
  await rt.close();
  const ms = performance.now() - t0;
  assert.equal(rt.inflight, 0, "every op's last CQE came before the ring was unmapped");
  assert.ok(ms < 1000, `close() took ${ms.toFixed(0)} ms`);
  for (const op of ops) await assert.rejects(op.promise, { code: 'ERR_URING_CLOSED' });
});
