// A ring dropped without close() is released when it is collected: its
// self-registration (IORING_REGISTER_RING_FDS) is undone by the native
// teardown, so neither the ring nor its SQPOLL thread outlives it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ring, IORING_SETUP_SQPOLL } from '../../src/ring/index.js';
import { gc } from '../helpers/gc.js';
import { sqpollThreads } from '../helpers/proc.js';
import { waitFor } from '../helpers/wait.js';

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
  await waitFor(
    () => {
      gc();
      return sqpollThreads() === before;
    },
    {
      timeout: 5000,
      interval: 50,
      what: () => `every dropped ring to be released (${sqpollThreads() - before} SQPOLL threads left)`,
    },
  );
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
