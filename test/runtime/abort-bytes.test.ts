// No byte taken from a pipe or socket is lost to an abort. A producer
// writes, read(fd, buf, { signal }) aborts at every moment of the op's life
// (before submit, in the same turn as the SQE is written, in flight, with
// its completion posted and not yet reaped, after it settled), and every
// byte written is either resolved to a reader or still readable after.
// test/stress/abort-bytes.ts runs the same with 10^5 rounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readMany } from '../../src/index.js';
import { tempDir } from '../helpers/tmp.js';
import { abortedReads, fifoChannel, summary, tcpChannel, MOMENTS } from '../helpers/abort-bytes.js';
import { drained } from './util.js';
import { DEFAULT, SQPOLL, forEachSetup } from '../helpers/runtimes.js';

// With SQPOLL the kernel thread takes SQEs as soon as the tail covers them:
// withdrawing must only touch SQEs not yet published. With DEFER_TASKRUN
// completions wait for our next enter, so more of them race the cancel.
// Fewer rounds there: the default setup runs the long count.
forEachSetup((s) => {
  const rounds = s.count(8000);
  const budgetMs = s === DEFAULT ? 8000 : 4000;
  for (const timed of [false, true]) {
    test(`FIFO: ${rounds} reads aborted at every moment${timed ? ' (half with a linked timeout)' : ''} lose no byte`, async (t) => {
      const dir = tempDir('uring-abort-bytes-');
      const rt = s.runtime();
      const ch = fifoChannel(join(dir.path, 'fifo'));
      t.after(async () => {
        await rt.close();
        ch.close();
        dir.remove();
      });
      const r = await abortedReads(ch, { runtime: rt, rounds, timed, budgetMs });
      t.diagnostic(summary(`fifo ${s.name}`, r));
      assert.deepEqual(r.odd, [], 'every read resolved, or rejected with the AbortError of its signal');
      assert.equal(r.lost, 0, `bytes lost: ${summary('fifo', r)}`);
      assert.equal(r.lossyRounds, 0);
      assert.ok(r.rounds >= MOMENTS.length * 10, `only ${r.rounds} rounds ran`);
      const m = r.byMoment;
      // Never in the kernel: withdrawn before the SQ was flushed.
      for (const k of ['before', 'same-turn', 'data-turn'] as const)
        assert.equal(m[k]!.resolved, 0, `${k}: an op the kernel never saw resolved`);
      // Where the kernel takes SQEs and completes reads in io_uring_enter (not
      // SQPOLL, whose thread does both when it runs):
      if (s !== SQPOLL) {
        // Cancelled while waiting on an empty pipe: the cancel ends it, the bytes written after are the next reader's.
        assert.equal(m.cancelled!.resolved, 0);
        // Completed during the submit, before the abort: the abort is too late to matter.
        assert.equal(m.settled!.aborted, 0);
      }
      await drained(rt);
    });
  }

  test('TCP: reads of a socket aborted at every moment lose no byte', async (t) => {
    const rt = s.runtime();
    const ch = await tcpChannel(rt);
    t.after(async () => {
      await ch.close();
      await rt.close();
    });
    const r = await abortedReads(ch, { runtime: rt, rounds: s.count(2000), budgetMs: s === DEFAULT ? 5000 : 2000 });
    t.diagnostic(summary(`tcp ${s.name}`, r));
    assert.deepEqual(r.odd, []);
    assert.equal(r.lost, 0, `bytes lost: ${summary('tcp', r)}`);
    for (const k of ['before', 'same-turn', 'data-turn'] as const)
      assert.equal(r.byMoment[k]!.resolved, 0, `${k}: an op the kernel never saw resolved`);
  });

  test('a batch of reads (readMany) aborted in the turn it was called never reaches the kernel: the bytes stay in the pipe', async (t) => {
    const dir = tempDir('uring-abort-bytes-');
    const rt = s.runtime();
    const ch = fifoChannel(join(dir.path, 'fifo'));
    t.after(async () => {
      await rt.close();
      ch.close();
      dir.remove();
    });
    for (let i = 0; i < 200; i++) {
      ch.produce(3);
      const ac = new AbortController();
      const p = readMany(ch.fd, [Buffer.alloc(1), Buffer.alloc(1), Buffer.alloc(1)], [0, 0, 0], {
        signal: ac.signal,
        runtime: rt,
      });
      ac.abort();
      await assert.rejects(p, { name: 'AbortError' });
      await drained(rt);
      assert.equal(ch.drain(), 3, `round ${i}: the withdrawn reads took bytes`);
    }
  });
});
