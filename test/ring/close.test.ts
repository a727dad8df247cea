// close(): idempotent, final, and safe: the views over the unmapped rings are
// detached, so using the ring afterwards throws or does nothing, never crashes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fstatSync } from 'node:fs';
import { Ring, POLLIN, IORING_SETUP_SQPOLL } from '../../src/ring/index.js';
import { socketPair } from '../helpers/net.js';
import { reap, sqe } from '../helpers/ring.js';
import { sqpollThreads } from '../helpers/proc.js';
import { waitFor } from '../helpers/wait.js';

// First in this file (each test file is its own process): a ring whose fd is
// registered with itself takes one of the thread's 16 registered-ring slots.
// Rings leaked by later tests would fill them, new rings would then not
// register, and this test could no longer see the leak it is about.
test('close() releases the kernel ring: an SQPOLL ring leaves no thread behind', async (t) => {
  const before = sqpollThreads();
  let probe: Ring;
  try {
    probe = new Ring(4, { flags: IORING_SETUP_SQPOLL });
  } catch (err) {
    t.skip(`the kernel rejects SQPOLL here: ${(err as Error).message}`);
    return;
  }
  // The thread names itself (iou-sqp-<pid>) once it first runs, and exits
  // some time after its ring is torn down: wait for either, within bounds.
  const settle = async (until: (n: number) => boolean): Promise<number> => {
    let n = sqpollThreads();
    await waitFor(() => until((n = sqpollThreads())), { timeout: 3000, interval: 20 }).catch(() => {});
    return n;
  };
  assert.equal(await settle((n) => n === before + 1), before + 1, 'an SQPOLL ring has its kernel thread');
  probe.close();
  // With and without the ring fd registered with itself (which holds a second reference).
  for (const registerRingFd of [true, false, true]) new Ring(4, { flags: IORING_SETUP_SQPOLL, registerRingFd }).close();
  // The kernel tears rings down asynchronously: give it a moment.
  assert.equal(await settle((n) => n <= before), before, 'every closed ring was released by the kernel');
});

test('close() is idempotent and closes the ring fd', () => {
  const ring = new Ring(8);
  const fd = ring.fd;
  assert.ok(fstatSync(fd));
  assert.equal(ring.closed, false);
  ring.close();
  assert.equal(ring.closed, true);
  assert.throws(() => fstatSync(fd), { code: 'EBADF' }, 'the ring fd is closed');
  ring.close();
  ring.close();
  assert.equal(ring.closed, true);
});

test('after close, ring methods throw ERR_URING_CLOSED', () => {
  const ring = new Ring(8);
  ring.close();
  const closed = { code: 'ERR_URING_CLOSED' };
  assert.throws(() => ring.getSqe(), closed);
  assert.throws(() => ring.getSqeIndex(), closed);
  assert.throws(() => ring.submit(), closed);
  assert.throws(() => ring.submitRaw(), closed);
  assert.throws(() => ring.submitAndWait(1), closed);
  assert.throws(() => ring.peekCqe(), closed);
  assert.throws(() => ring.peekBatchCqe(), closed);
  assert.throws(() => ring.waitCqe(), closed);
  assert.throws(() => ring.waitCqeTimeout(10), closed);
  assert.throws(() => ring.probe(), closed);
  assert.throws(() => ring.registerFiles([0]), closed);
  assert.throws(() => ring.setupBufRing(4, 0), closed);
  assert.equal(ring.enter(0, 0, 0), -9, 'enter is raw: -EBADF');
  assert.equal(
    ring.forEachCqe(() => assert.fail('no CQE after close')),
    0,
  );
});

test('the typed-array views over the ring memory are detached', () => {
  const ring = new Ring(8);
  const mem = ring.sqeMemory;
  const s = ring.getSqe()!;
  s.prepNop().setUserData(5);
  assert.ok(mem.u8.byteLength > 0);
  ring.close();
  assert.equal(mem.u8.byteLength, 0);
  assert.equal(mem.u32.length, 0);
  assert.equal(mem.i32.length, 0);
  assert.equal(mem.u16.length, 0);
  // An Sqe kept from before reads as empty and ignores writes: no crash.
  assert.equal(s.opcode, undefined);
  s.prepNop().setUserData(7);
  s.prepRead(0, Buffer.alloc(8), 8, 0);
  s.userData = 0xffffn;
  assert.equal(mem.u32[0], undefined);
  // The counters read as an empty ring; nothing touches the detached views.
  assert.equal(ring.sqReady, 0);
  assert.equal(ring.cqReady, 0);
  assert.equal(ring.sqFlags, 0);
  assert.equal(ring.cqNeedsFlush, false);
  assert.equal(ring.cqOverflow, 0);
  ring.cqAdvance(1);
  ring.cqeSeen();
  assert.throws(() => ring.flushSq(), { code: 'ERR_URING_CLOSED' });
});

test('close() with a request in flight cancels it and returns promptly', async (t) => {
  const pair = await socketPair();
  t.after(() => pair.close());
  const ring = new Ring(8);
  sqe(ring).prepPollAdd(pair.serverFd, POLLIN).setUserData(1);
  sqe(ring).prepTimeout(60_000).setUserData(2);
  ring.submit();
  assert.equal(ring.waitCqeTimeout(20), null);
  const t0 = performance.now();
  ring.close();
  assert.ok(performance.now() - t0 < 1500, 'close does not wait for the poll or the timeout');
  // The socket is untouched: a new ring can still poll it.
  const other = new Ring(8);
  t.after(() => other.close());
  sqe(other).prepSend(pair.clientFd, Buffer.from('x'));
  sqe(other).prepPollAdd(pair.serverFd, POLLIN);
  other.submit();
  assert.equal(reap(other, 2).length, 2);
});

test('Symbol.dispose closes the ring', () => {
  let kept: Ring;
  {
    using ring = new Ring(4);
    kept = ring;
    assert.equal(ring.closed, false);
  }
  assert.equal(kept.closed, true);
});

test('many rings opened and closed do not leak fds', () => {
  const first = new Ring(4);
  const fd = first.fd;
  first.close();
  for (let i = 0; i < 200; i++) new Ring(4).close();
  const last = new Ring(4);
  // The lowest free fd number is reused: nothing was left open in between.
  assert.equal(last.fd, fd);
  last.close();
});
