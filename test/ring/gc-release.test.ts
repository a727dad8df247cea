// A ring dropped without close() is released when it is collected: its
// self-registration (IORING_REGISTER_RING_FDS) is undone by the native
// teardown, so neither the ring nor its SQPOLL thread outlives it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ring, IORING_SETUP_SQPOLL } from '../../src/ring/index.js';
import { gc } from '../helpers/gc.js';
import { sqpollThreads } from '../helpers/proc.js';

test('an SQPOLL ring dropped without close() leaves no kernel thread after GC', async (t) => {
  const before = sqpollThreads();
  try {
    new Ring(4, { flags: IORING_SETUP_SQPOLL }).close();
  } catch (err) {
    t.skip(`the kernel rejects SQPOLL here: ${(err as Error).message}`);
    return;
  }
  (() => {
    for (let i = 0; i < 3; i++) new Ring(4, { flags: IORING_SETUP_SQPOLL });
  })();
  // The views' finalizers run on the JS thread after collection; the kernel
  // then tears the rings down asynchronously.
  const deadline = performance.now() + 5000;
  let n = sqpollThreads();
  while (n > before && performance.now() < deadline) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
    n = sqpollThreads();
  }
  assert.equal(n, before, 'every dropped ring was released');
});

test('more rings than the 16 registered-ring slots can be made and dropped, and each still registers', () => {
  // If dropped rings kept their slots, rings after the 16th would fall back
  // to unregistered enters; close() and GC must both free them.
  for (let i = 0; i < 40; i++) {
    const r = new Ring(2);
    const sqe = r.getSqe()!;
    sqe.prepNop();
    r.submit(1);
    assert.equal(r.waitCqe().res, 0);
    r.close();
  }
});
