// Long-lived ops are not capped by the ring's size. A multishot op (a recv
// per idle connection, an accept, a poll) holds an op-table slot for as long
// as it lives; the runtime used to size its table and its CQ budget from the
// CQ (2,048 slots for a 4,096-entry CQ), so the 2,049th such op, and every
// short op after it, waited in the backlog forever. Now the table grows, the
// CQ budget counts only short ops, and when 100,000 long-lived ops complete
// at once their CQEs go through the kernel's overflow list without loss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nop, read, pollMultishot, write } from '../../src/ops/index.js';
import { OpTable } from '../../src/runtime/op-table.js';
import { POLLIN } from '../../src/ring/uapi.js';
import { tempDir } from '../helpers/tmp.js';
import { fifo, drained } from './util.js';
import { within } from '../helpers/wait.js';
import { forEachSetup } from '../helpers/runtimes.js';

test('the op table grows from its first capacity up to its maximum, low slots first, generations kept', () => {
  const t = new OpTable<object>(2, 9);
  const ops = Array.from({ length: 9 }, () => ({}));
  const slots = ops.map((op) => t.alloc(op));
  assert.deepEqual(slots, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(t.capacity, 9, 'doubled 2 -> 4 -> 8, then capped at 9');
  assert.equal(t.alloc({}), -1, 'full at maxCapacity');
  for (let i = 0; i < 9; i++) assert.equal(t.lookup(i, t.generation(i)), ops[i]);
  const gen0 = t.generation(0);
  t.release(0);
  assert.equal(t.generation(0), (gen0 + 1) >>> 0);
  assert.equal(t.alloc({}), 0);
  assert.throws(() => new OpTable(4, 3), RangeError);
});

forEachSetup((s) => {
  const N = s.count(100_000);
  const n = N.toLocaleString('en-US');
  test(
    `${n} multishot polls on one thread: short ops still run at once, and one wake-up of all ${n} loses no CQE`,
    { timeout: 120_000 },
    async () => {
      const rt = s.runtime({ entries: 256 }); // CQ of 4,096: N is 5x (24x by default) what it can hold
      const dir = tempDir();
      const pipe = fifo(dir.file('fifo'));
      try {
        const iters = new Array<AsyncIterableIterator<number>>(N);
        for (let i = 0; i < N; i++) iters[i] = pollMultishot(pipe.fd, POLLIN, { runtime: rt });
        await within(nop({ runtime: rt }), 5_000, `a nop behind ${n} long-lived ops`);
        assert.equal(rt.inflight, N, 'every poll is in the kernel, none waits in the backlog');
        assert.equal(rt.backlog, 0);

        // Short ops at the CQ budget's limit still pass the long-lived ones.
        const buf = new Uint8Array(1);
        const nops = Array.from({ length: 4_096 }, () => nop({ runtime: rt }));
        await within(Promise.all(nops), 10_000, `4,096 nops beside ${n} polls`);

        // One byte wakes every poll: N CQEs for a CQ of 4,096.
        const firsts = iters.map((it) => it.next());
        await write(pipe.fd, new Uint8Array([7]), { runtime: rt });
        const results = await within(Promise.all(firsts), 60_000, 'the first event of each poll');
        let ready = 0;
        for (const r of results) if (!r.done && (r.value & POLLIN) !== 0) ready++;
        assert.equal(ready, N, 'every poll saw the byte');
        assert.equal(await read(pipe.fd, buf, { runtime: rt }), 1);

        await Promise.all(iters.map((it) => it.return!()));
        await drained(rt, 30_000);
      } finally {
        await rt.close();
        pipe.close();
        dir.remove();
      }
    },
  );
});
