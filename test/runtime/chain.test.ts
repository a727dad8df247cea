// ChainOp against the kernel: one op owning a whole linked chain of SQEs
// (one slot, a CQE per SQE, one outcome after the last).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, openSync, closeSync, fstatSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nop } from '../../src/index.js';
import { ChainOp, OpState } from '../../src/runtime/op.js';
import type { Sqe } from '../../src/ring/sqe.js';
import { IORING_SQ_CQ_OVERFLOW } from '../../src/ring/uapi.js';
import { drained, fifo } from './util.js';
import { waitFor, within } from '../helpers/wait.js';
import { forEachSetup } from '../helpers/runtimes.js';

const EISDIR = 21;
const ECANCELED = 125;

type Prep = (sqe: Sqe) => void;

/** A chain of the given preps; its promise gets every SQE's result, in chain order. */
class TestChain extends ChainOp {
  readonly results: (number | undefined)[];
  readonly promise: Promise<number[]>;
  doneCalls = 0;
  failCalls = 0;
  #resolve!: (v: number[]) => void;
  #reject!: (e: unknown) => void;
  constructor(
    readonly preps: Prep[],
    hard = true,
    readonly keep?: unknown,
  ) {
    super(preps.length, hard ? 'hard' : 'soft');
    this.results = new Array<number | undefined>(preps.length).fill(undefined);
    this.promise = new Promise((res, rej) => {
      this.#resolve = res;
      this.#reject = rej;
    });
  }
  prepLink(sqe: Sqe, link: number): void {
    this.preps[link]!(sqe);
  }
  linkResult(link: number, res: number): void {
    assert.equal(this.results[link], undefined, `a second CQE for link ${link}`);
    this.results[link] = res;
  }
  chainDone(): void {
    this.doneCalls++;
    this.#resolve(this.results as number[]);
  }
  chainFailed(err: Error): void {
    this.failCalls++;
    this.#reject(err);
  }
}

const nopPrep: Prep = (sqe) => sqe.prepNop();

function tmp(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'uring-chain-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

forEachSetup((s) => {
  test("a chain completes with each SQE's result, in order, from one slot", async (t) => {
    const rt = s.runtime();
    t.after(() => rt.close());
    const dir = tmp(t);
    const path = join(dir, 'f');
    const fd = openSync(path, 'w+');
    t.after(() => closeSync(fd));
    const data = Buffer.from('hello, chain');
    const back = Buffer.alloc(64);
    // write, then read back what the write put there: only a link orders them.
    const chain = new TestChain([
      (sqe) => sqe.prepWrite(fd, data, data.length, 0),
      (sqe) => sqe.prepRead(fd, back, back.length, 0),
      (sqe) => sqe.prepFsync(fd, 0),
    ]);
    rt.submit(chain);
    assert.equal(rt.inflight, 1, 'three SQEs, one slot');
    assert.deepEqual(await within(chain.promise, 5000, 'chain'), [data.length, data.length, 0]);
    assert.equal(back.subarray(0, data.length).toString(), 'hello, chain');
    assert.equal(readFileSync(path, 'utf8'), 'hello, chain');
    assert.equal(chain.doneCalls, 1);
    assert.equal(chain.failCalls, 0);
    assert.equal(chain.state, OpState.Released, 'the slot is released after the last CQE');
    assert.equal(rt.inflight, 0);
    assert.equal(rt.stats.completions, 3);
  });

  test('a failing middle link: a hard link still runs the close, a soft one cancels it', async (t) => {
    const rt = s.runtime();
    t.after(() => rt.close());
    const dir = tmp(t);
    const buf = Buffer.alloc(16);

    const hardFd = openSync(dir, 'r');
    const hard = new TestChain(
      [nopPrep, (sqe) => sqe.prepRead(hardFd, buf, buf.length, 0), (sqe) => sqe.prepClose(hardFd)],
      true,
    );
    rt.submit(hard);
    assert.deepEqual(await within(hard.promise, 5000, 'hard chain'), [0, -EISDIR, 0]);
    assert.throws(() => fstatSync(hardFd), { code: 'EBADF' }, "the chain's close closed the fd");

    const softFd = openSync(dir, 'r');
    t.after(() => closeSync(softFd));
    const soft = new TestChain(
      [nopPrep, (sqe) => sqe.prepRead(softFd, buf, buf.length, 0), (sqe) => sqe.prepClose(softFd)],
      false,
    );
    rt.submit(soft);
    assert.deepEqual(await within(soft.promise, 5000, 'soft chain'), [0, -EISDIR, -ECANCELED]);
    assert.ok(fstatSync(softFd).isDirectory(), 'the cancelled close left the fd open');
    assert.equal(rt.inflight, 0);
  });

  test('abort mid-chain: the op rejects at once, its blocked link is cancelled, and its slot waits for every CQE', async (t) => {
    const rt = s.runtime();
    t.after(() => rt.close());
    const f = fifo(join(tmp(t), 'fifo'));
    t.after(() => f.close());
    const buf = Buffer.alloc(16);
    const ac = new AbortController();
    const chain = new TestChain([nopPrep, (sqe) => sqe.prepRead(f.fd, buf, buf.length, -1), nopPrep], true, buf);
    chain.signal = ac.signal;
    const inflight = () => rt.inflight;
    rt.submit(chain);
    // The first link runs, then the read blocks (a FIFO nobody writes to).
    await waitFor(() => chain.results[0] !== undefined, { what: 'the first link to complete' });
    assert.equal(rt.inflight, 1);
    assert.equal(chain.results[0], 0, 'the first link is done');
    assert.equal(chain.results[1], undefined, 'the read blocks');
    ac.abort();
    assert.equal(chain.failCalls, 1, 'rejected at once');
    assert.equal(chain.state, OpState.Settled, 'the slot is held until every CQE is in');
    assert.equal(inflight(), 1);
    await assert.rejects(chain.promise, { name: 'AbortError' });
    // The read's cancel must reach the kernel, or the read blocks forever.
    await drained(rt);
    assert.equal(chain.state, OpState.Released);
    assert.equal(chain.doneCalls, 0, 'one outcome: the abort');
    assert.equal(chain.failCalls, 1);
    // Aborted before it was submitted: rejects without a slot.
    const early = new TestChain([nopPrep, nopPrep]);
    early.signal = AbortSignal.abort();
    rt.submit(early);
    await assert.rejects(early.promise, { name: 'AbortError' });
    assert.equal(rt.inflight, 0);
  });

  test('close() with chains in flight: every chain rejects ERR_URING_CLOSED once, after which nothing is owed', async (t) => {
    const rt = s.runtime();
    const f = fifo(join(tmp(t), 'fifo'));
    t.after(() => f.close());
    const chains: TestChain[] = [];
    for (let i = 0; i < 20; i++) {
      const buf = Buffer.alloc(8);
      const c = new TestChain([nopPrep, (sqe) => sqe.prepRead(f.fd, buf, buf.length, -1), nopPrep], i % 2 === 0, buf);
      rt.submit(c);
      chains.push(c);
    }
    // Chains finished before close keep their result.
    const finished = new TestChain([nopPrep, nopPrep, nopPrep]);
    rt.submit(finished);
    await within(finished.promise, 5000, 'a quick chain');
    await waitFor(() => rt.inflight === 20, {
      what: () => `20 chains blocked in their read (inflight ${rt.inflight})`,
    });
    await within(rt.close(), 10_000, 'close');
    assert.equal(rt.inflight, 0, "every chain's last CQE came in before the ring was unmapped");
    for (const c of chains) {
      await assert.rejects(c.promise, { code: 'ERR_URING_CLOSED' });
      assert.equal(c.failCalls, 1);
      assert.equal(c.doneCalls, 0);
    }
    const late = new TestChain([nopPrep, nopPrep]);
    rt.submit(late);
    await assert.rejects(late.promise, { code: 'ERR_URING_CLOSED' });
  });

  test('a tiny runtime (4 SQEs, 8 CQEs): thousands of chains and single ops through the backlog, no CQE lost', async (t) => {
    const rt = s.runtime({ entries: 4, cqEntries: 8 });
    t.after(() => rt.close());
    assert.equal(rt.ring.sqEntries, 4);
    assert.equal(rt.ring.cqEntries, 8);
    const dir = tmp(t);
    const fd = openSync(join(dir, 'f'), 'w+');
    t.after(() => closeSync(fd));
    writeSync(fd, Buffer.from('0123456789abcdef'), 0, 16, 0);
    // The kernel flags CQEs it had to hold back because the CQ was full
    // (IORING_SQ_CQ_OVERFLOW) until an enter flushes them: look after every
    // enter. With no more CQEs owed than the CQ holds, it is never set.
    let overflowed = 0;
    const ring = rt.ring;
    const enter = ring.enter.bind(ring);
    ring.enter = (...args: Parameters<typeof ring.enter>) => {
      const ret = enter(...args);
      if (ring.sqFlags & IORING_SQ_CQ_OVERFLOW) overflowed++;
      return ret;
    };
    const N = 3000;
    const chains: TestChain[] = [];
    const singles: Promise<number>[] = [];
    for (let i = 0; i < N; i++) {
      const buf = Buffer.alloc(4);
      const off = i % 13;
      const links = 1 + (i % 4); // chains of 1 to 4 SQEs, mixed
      const preps: Prep[] = [(sqe) => sqe.prepRead(fd, buf, 4, off)];
      while (preps.length < links) preps.push(nopPrep);
      const c = new TestChain(preps, i % 3 === 0, buf);
      rt.submit(c);
      chains.push(c);
      if (i % 5 === 0) singles.push(nop({ runtime: rt }));
    }
    assert.ok(rt.backlog > 0, 'chains wait in the backlog');
    const results = await within(Promise.all(chains.map((c) => c.promise)), 30_000, `${N} chains`);
    await within(Promise.all(singles), 10_000, 'single ops');
    for (let i = 0; i < N; i++) {
      const expect = [4, ...new Array<number>(i % 4).fill(0)];
      assert.deepEqual(results[i], expect, `chain ${i}`);
      const off = i % 13;
      assert.equal((chains[i]!.keep as Buffer).toString(), '0123456789abcdef'.slice(off, off + 4));
    }
    const cqes = chains.reduce((n, c) => n + c.links, 0) + singles.length;
    assert.equal(rt.stats.completions, cqes, 'one CQE per SQE, none lost');
    assert.equal(overflowed, 0, 'the kernel never had to hold CQEs back');
    assert.equal(rt.ring.cqOverflow, 0, 'nor drop any');
    assert.ok(rt.stats.backlogged > 0);
    assert.equal(rt.inflight, 0);
    assert.equal(rt.backlog, 0);
    await drained(rt);
  });

  test('a chain longer than the SQ, or with a timeout, rejects at once', async (t) => {
    const rt = s.runtime({ entries: 2, cqEntries: 4 });
    t.after(() => rt.close());
    const long = new TestChain([nopPrep, nopPrep, nopPrep]);
    rt.submit(long);
    await assert.rejects(within(long.promise, 1000, 'long'), { code: 'ERR_OUT_OF_RANGE' });
    const timed = new TestChain([nopPrep, nopPrep]);
    timed.timeoutMs = 100;
    rt.submit(timed);
    await assert.rejects(within(timed.promise, 1000, 'timed'), { code: 'ERR_INVALID_ARG_VALUE' });
    const fits = new TestChain([nopPrep, nopPrep]);
    rt.submit(fits);
    assert.deepEqual(await within(fits.promise, 1000, 'fits'), [0, 0]);
    assert.equal(rt.inflight, 0);
  });

  test('a prep that throws mid-chain: the op fails, the SQEs taken go out as NOPs, the ring goes on', async (t) => {
    const rt = s.runtime({ entries: 4, cqEntries: 8 });
    t.after(() => rt.close());
    const bad = new TestChain([
      nopPrep,
      () => {
        throw new RangeError('refused');
      },
      nopPrep,
    ]);
    rt.submit(bad);
    await assert.rejects(bad.promise, { name: 'RangeError' });
    assert.equal(rt.inflight, 0);
    const ok = new TestChain([nopPrep, nopPrep, nopPrep]);
    rt.submit(ok);
    assert.deepEqual(await within(ok.promise, 1000, 'next chain'), [0, 0, 0]);
    assert.equal(await within(nop({ runtime: rt }), 1000, 'nop'), 0);
    await drained(rt);
  });
});
