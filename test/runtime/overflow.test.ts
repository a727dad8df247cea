// More ops than a tiny ring can hold: they wait in the runtime's backlog and
// all complete; nothing is lost to CQ overflow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nop, sleep, link, NopOp } from '../../src/index.js';
import { drained } from './util.js';
import { within } from '../helpers/wait.js';
import { forEachSetup } from '../helpers/runtimes.js';

forEachSetup((s) => {
  const N = s.count(100_000);
  test(`${N} nops at once on a runtime of 2 SQEs and 4 CQEs all resolve`, async (t) => {
    const rt = s.runtime({ entries: 2, cqEntries: 4 });
    t.after(() => rt.close());
    assert.equal(rt.ring.sqEntries, 2);
    assert.equal(rt.ring.cqEntries, 4);
    const t0 = performance.now();
    const all = Promise.all(Array.from({ length: N }, () => nop({ runtime: rt })));
    assert.ok(rt.inflight <= 4, `inflight ${rt.inflight}`);
    assert.ok(rt.backlog > 0);
    const results = await within(all, 30_000, `${N} nops`);
    const dt = performance.now() - t0;
    assert.equal(results.length, N);
    assert.ok(results.every((r) => r === 0));
    assert.ok(rt.stats.backlogged > 0, 'ops waited in the backlog');
    assert.equal(rt.stats.completions, N);
    assert.equal(rt.inflight, 0);
    assert.equal(rt.backlog, 0);
    assert.equal(rt.ring.cqOverflow, 0, 'the kernel dropped nothing');
    t.diagnostic(`${N} nops in ${dt.toFixed(0)} ms; ${rt.stats.enters} enters, ${rt.stats.backlogged} backlogged`);
    await rt.close();
    assert.equal(rt.closed, true);
  });

  test('ops with linked timeouts and sleeps share the tiny ring too', async (t) => {
    const rt = s.runtime({ entries: 2, cqEntries: 4 });
    t.after(() => rt.close());
    const timed = Array.from({ length: 2000 }, () => nop({ runtime: rt, timeout: 10_000 }));
    const sleeps = Array.from({ length: 50 }, (_, i) => sleep(i % 5, { runtime: rt }));
    assert.deepEqual(await within(Promise.all(timed), 20_000, 'timed nops'), new Array(2000).fill(0));
    await within(Promise.all(sleeps), 20_000, 'sleeps');
    await drained(rt);
  });

  test('a linked chain that fits is started from the backlog; one that never can rejects', async (t) => {
    const rt = s.runtime({ entries: 2, cqEntries: 4 });
    t.after(() => rt.close());
    const busy = Array.from({ length: 100 }, () => nop({ runtime: rt }));
    const chain = link([new NopOp(), new NopOp()], { runtime: rt });
    assert.deepEqual(await within(Promise.all(chain.map((op) => op.promise)), 10_000, 'chain of 2'), [0, 0]);
    await Promise.all(busy);
    // Three linked SQEs cannot go to a 2-entry SQ in one submit.
    const tooLong = link([new NopOp(), new NopOp(), new NopOp()], { runtime: rt });
    for (const op of tooLong)
      await assert.rejects(within(op.promise, 5000, 'chain of 3'), { code: 'ERR_OUT_OF_RANGE' });
    await drained(rt);
  });
});
