// link(): ops linked in the kernel as one ChainOp (one slot), each settling
// from its own CQE as if it ran alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime, link, NopOp, ReadOp, WriteOp, OpenatOp, MAX_LINKS } from '../../src/index.js';
import { drained, fifo, inKernel } from './util.js';
import { waitFor, within } from '../helpers/wait.js';
import { fdCount } from '../helpers/proc.js';

const BAD_FD = 999_999;

function tmp(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'uring-link-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function outcome(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => v,
    (e: Error & { code?: string }) => e.code ?? e.name,
  );
}

function badWrite(): WriteOp {
  const b = Buffer.from('x');
  return new WriteOp(BAD_FD, b, 0, b);
}

test('a soft link failure cancels every op after it with ECANCELED; a hard one goes on', async (t) => {
  const rt = new Runtime();
  t.after(() => rt.close());
  const soft = link([new NopOp(), badWrite(), new NopOp(), new NopOp()], { runtime: rt });
  assert.equal(rt.inflight, 1, 'the chain holds one slot');
  assert.deepEqual(await within(Promise.all(soft.map((op) => outcome(op.promise))), 5000, 'soft'), [
    0,
    'EBADF',
    'ECANCELED',
    'ECANCELED',
  ]);
  await assert.rejects(soft[2]!.promise, { code: 'ECANCELED', errno: -125, syscall: 'nop' });
  const hard = link([new NopOp(), badWrite(), new NopOp()], { runtime: rt, hard: true });
  assert.deepEqual(await within(Promise.all(hard.map((op) => outcome(op.promise))), 5000, 'hard'), [0, 'EBADF', 0]);
  await drained(rt);
});

test("aborting a member in flight aborts the chain: the blocked op rejects with the AbortError, a soft link's rest too", async (t) => {
  const rt = new Runtime();
  t.after(() => rt.close());
  const f = fifo(join(tmp(t), 'fifo'));
  t.after(() => f.close());
  const buf = Buffer.alloc(8);
  const ac = new AbortController();
  const read = new ReadOp(f.fd, buf, -1, buf);
  read.signal = ac.signal;
  const ops = link([new NopOp(), read, new NopOp()], { runtime: rt });
  assert.equal(await within(ops[0].promise, 5000, 'first link'), 0);
  // The read blocks on the empty FIFO; the kernel has it (and the NOP after
  // it: a chain is one op in flight).
  await inKernel(rt, 1);
  ac.abort('stop');
  await assert.rejects(
    within(read.promise, 5000, 'aborted read'),
    (e: Error) => e.name === 'AbortError' && e.cause === 'stop',
  );
  await assert.rejects(within(ops[2].promise, 5000, 'link after it'), { name: 'AbortError' });
  await drained(rt);
});

test('aborting a member of a hard chain in flight: the ops after it still run and settle with their results', async (t) => {
  const rt = new Runtime();
  t.after(() => rt.close());
  const f = fifo(join(tmp(t), 'fifo'));
  t.after(() => f.close());
  const buf = Buffer.alloc(8);
  const ac = new AbortController();
  const read = new ReadOp(f.fd, buf, -1, buf);
  read.signal = ac.signal;
  const after = new NopOp();
  link([read, after], { runtime: rt, hard: true });
  await inKernel(rt, 1); // the chain (one op): its read blocks on the empty FIFO, in the kernel
  ac.abort();
  await assert.rejects(within(read.promise, 5000, 'aborted read'), { name: 'AbortError' });
  // What the kernel did is the caller's: the hard link ran the NOP.
  assert.equal(await within(after.promise, 5000, 'hard link after the abort'), 0);
  await drained(rt);
});

test('an abort after the chain completed changes nothing; one before the kernel saw it runs nothing', async (t) => {
  const rt = new Runtime();
  t.after(() => rt.close());
  const f = fifo(join(tmp(t), 'fifo'));
  t.after(() => f.close());
  writeSync(f.fd, 'abc');
  const buf = Buffer.alloc(8);
  const ac = new AbortController();
  const read = new ReadOp(f.fd, buf, -1, buf);
  read.signal = ac.signal;
  const ops = link([new NopOp(), read], { runtime: rt });
  await within(ops[0].promise, 5000, 'first link');
  await waitFor(() => rt.inflight === 0, { timeout: 5000, what: 'the read to complete' });
  ac.abort();
  assert.equal(await read.promise, 3, "bytes read are the caller's");

  // Aborted in the same turn: the SQEs become NOPs before any submit.
  const before = rt.stats.submits;
  const ac2 = new AbortController();
  const w = new WriteOp(f.fd, buf, -1, buf);
  w.signal = ac2.signal;
  const ops2 = link([new NopOp(), w], { runtime: rt });
  ac2.abort();
  for (const op of ops2) await assert.rejects(op.promise, { name: 'AbortError' });
  await drained(rt);
  assert.ok(rt.stats.submits - before <= 2, 'only the two NOPs that replaced the chain went to the kernel');
  assert.equal(await within(new Promise<number>((r) => setImmediate(() => r(rt.inflight))), 1000, 'idle'), 0);
});

test('a chain longer than the ring can take rejects every op with ERR_OUT_OF_RANGE', async (t) => {
  const small = new Runtime({ entries: 4 });
  t.after(() => small.close());
  const ops = link(
    Array.from({ length: 5 }, () => new NopOp()),
    { runtime: small },
  );
  for (const op of ops) await assert.rejects(op.promise, { code: 'ERR_OUT_OF_RANGE', name: 'RangeError' });
  const four = link(
    Array.from({ length: 4 }, () => new NopOp()),
    { runtime: small },
  );
  assert.deepEqual(await within(Promise.all(four.map((op) => op.promise)), 5000, 'four'), [0, 0, 0, 0]);
  // No more than MAX_LINKS fit the user data, whatever the ring's size.
  const rt = new Runtime({ entries: 256 });
  t.after(() => rt.close());
  assert.equal(rt.maxLinks, MAX_LINKS);
  const long = link(
    Array.from({ length: MAX_LINKS + 1 }, () => new NopOp()),
    { runtime: rt },
  );
  for (const op of long) await assert.rejects(op.promise, { code: 'ERR_OUT_OF_RANGE' });
  const most = link(
    Array.from({ length: MAX_LINKS }, () => new NopOp()),
    { runtime: rt },
  );
  assert.equal((await within(Promise.all(most.map((op) => op.promise)), 5000, 'MAX_LINKS')).length, MAX_LINKS);
  await drained(rt);
});

test('an op is linked once: a second link() or the same op twice throws', async (t) => {
  const rt = new Runtime();
  t.after(() => rt.close());
  const a = new NopOp();
  link([a, new NopOp()], { runtime: rt });
  assert.throws(() => link([a, new NopOp()], { runtime: rt }), { code: 'ERR_INVALID_ARG_VALUE' });
  const b = new NopOp();
  assert.throws(() => link([b, b], { runtime: rt }), { code: 'ERR_INVALID_ARG_VALUE' });
  await a.promise;
  await drained(rt);
});

test('the runtime closing under a chain rejects its ops with ERR_URING_CLOSED; an fd opened after that is closed', async (t) => {
  const dir = tmp(t);
  const f = fifo(join(dir, 'fifo'));
  t.after(() => f.close());
  writeFileSync(join(dir, 'file'), 'x');
  const rt = new Runtime();
  const fds = fdCount();
  const buf = Buffer.alloc(8);
  // The read blocks; close() cancels it, and the hard link then runs the open.
  const ops = link([new ReadOp(f.fd, buf, -1, buf), new OpenatOp(-100, join(dir, 'file'), 0, 0)], {
    runtime: rt,
    hard: true,
  });
  await inKernel(rt, 1); // the chain, its read blocked in the kernel
  await rt.close();
  for (const op of ops) await assert.rejects(op.promise, { code: 'ERR_URING_CLOSED' });
  assert.equal(fdCount(), fds - 1, "the open's fd was closed, and the ring's");
});
