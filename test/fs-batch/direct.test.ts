// The direct-descriptor slot allocator: one sparse table per runtime, slots
// handed out from JavaScript, waiters woken when slots come back.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { DirectSlots, directSlots } from '../../src/fs/direct.js';
import { getRuntime } from '../../src/runtime/index.js';
import { forEachSetup } from '../helpers/runtimes.js';

after(async () => {
  await getRuntime().close();
});

forEachSetup((s) => {
  test('slots are handed out once each, low first, until none is left', () => {
    const s = new DirectSlots(4);
    assert.deepEqual([s.alloc(), s.alloc(), s.alloc(), s.alloc()], [0, 1, 2, 3]);
    assert.equal(s.alloc(), -1);
    assert.equal(s.available, 0);
    s.release(2);
    assert.equal(s.available, 1);
    assert.equal(s.alloc(), 2);
  });

  test('a release wakes every waiter; one that finds no slot waits again', () => {
    const s = new DirectSlots(1);
    assert.equal(s.alloc(), 0);
    const woke: string[] = [];
    let got = -1;
    s.whenFree(() => woke.push('gone')); // a batch that no longer wants a slot
    s.whenFree(() => {
      woke.push('b');
      got = s.alloc();
    });
    s.release(0);
    assert.deepEqual(woke, ['gone', 'b']);
    assert.equal(got, 0, 'the live waiter got the slot the first one passed on');
    s.release(0);
    assert.deepEqual(woke, ['gone', 'b'], 'waiters are called once');
  });

  test('one sparse table per runtime, registered on first use', async () => {
    const rt = s.runtime({ entries: 8 });
    try {
      const t = directSlots(rt);
      assert.equal(t.unavailable, undefined);
      assert.ok(t.size >= 64 && t.size <= 4096, `size ${t.size}`);
      assert.equal(t.available, t.size);
      assert.equal(directSlots(rt), t);
      // The table is really there: registering another fails with EBUSY.
      assert.throws(() => rt.ring.registerFilesSparse(8), { code: 'EBUSY' });
    } finally {
      await rt.close();
    }
  });

  test('a closed runtime has no table to give', async () => {
    const rt = s.runtime({ entries: 8 });
    await rt.close();
    const t = directSlots(rt);
    assert.equal(t.size, 0);
    assert.ok(t.unavailable instanceof Error);
  });
});
