// A runtime's life: it lets an idle process exit, keeps a busy one alive,
// lives per thread, dies with its worker, and closes with ops in flight.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { openSync, closeSync, writeSync, readSync, constants } from 'node:fs';
import {
  Runtime,
  getRuntime,
  setRuntime,
  nop,
  sleep,
  poll,
  read,
  openat,
  pollMultishot,
  POLLIN,
} from '../../src/index.js';
import { tempDir } from '../helpers/tmp.js';
import { drained, fifo } from './util.js';
import { fdCount, fdList } from '../helpers/proc.js';
import { waitFor, within } from '../helpers/wait.js';
import { forEachSetup } from '../helpers/runtimes.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}.js`, import.meta.url));

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

async function runChild(script: string, killAfterMs: number): Promise<ChildResult> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [script], {
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: killAfterMs,
    killSignal: 'SIGKILL',
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  return { code, signal, stdout, stderr, ms: performance.now() - t0 };
}

test('an idle process exits by itself after using the runtime', async () => {
  const r = await runChild(fixture('idle-exit'), 10_000);
  assert.equal(r.signal, null, `killed: it did not exit by itself (stderr: ${r.stderr})`);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { nop: 0, aborted: 'AbortError' });
  assert.ok(r.ms < 5000, `exited after ${r.ms.toFixed(0)} ms`);
});

test('a pending sleep(300) keeps the process alive until it completes', async () => {
  const r = await runChild(fixture('sleep-alive'), 10_000);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.length > 0, 'the process exited before the sleep completed');
  const { slept } = JSON.parse(r.stdout) as { slept: number };
  assert.ok(slept >= 290, `slept ${slept} ms`);
  assert.ok(r.ms >= 290);
});

test('4 workers, each with its own runtime, do 1000 reads each, all correct', async (t) => {
  const dir = tempDir('uring-workers-');
  t.after(() => dir.remove());
  const SIZE = 256 * 1024;
  const pattern = new Uint8Array(SIZE);
  for (let i = 0; i < SIZE; i++) pattern[i] = i & 255;
  const path = dir.write('pattern', pattern);
  const mainRingFd = getRuntime().ring.fd;
  const results = await within(
    Promise.all(
      [1, 2, 3, 4].map(async (w) => {
        const worker = new Worker(fixture('worker-reads'), {
          workerData: { path, size: SIZE, reads: 1000, seed: w * 7919 },
        });
        // Both listeners now: a worker that exits right after posting has its
        // 'message' and 'exit' emitted in the same tick.
        const exited = once(worker, 'exit');
        const [msg] = (await once(worker, 'message')) as [
          { threadId: number; bad: number; done: number; ringFd: number; stats: { completions: number } },
        ];
        const [code] = (await exited) as [number];
        assert.equal(code, 0);
        return msg;
      }),
    ),
    30_000,
    'workers',
  );
  for (const r of results) {
    assert.equal(r.bad, 0, `worker ${r.threadId}: ${r.bad} bad reads`);
    assert.equal(r.done, 1000);
    assert.ok(r.stats.completions >= 1000);
  }
  const rings = new Set(results.map((r) => r.ringFd));
  // Each worker closed its ring when done, so the numbers may be reused; what
  // matters is that none used the main thread's ring.
  assert.ok(!rings.has(mainRingFd), "a worker used the main thread's ring");
  assert.equal(await nop(), 0, "the main thread's runtime still works");
  await getRuntime().close();
});

test('terminating a worker with ops in flight does not crash the process', async (t) => {
  const dir = tempDir('uring-terminate-');
  const pipe = fifo(dir.file('fifo'));
  // A second, non-blocking reader for the check at the end (never hangs).
  const probe = openSync(dir.file('fifo'), constants.O_RDONLY | constants.O_NONBLOCK);
  t.after(() => {
    closeSync(probe);
    pipe.close();
    dir.remove();
  });
  await nop(); // the main runtime exists before counting
  const before = fdCount();
  const listBefore = fdList();
  for (let round = 0; round < 3; round++) {
    const worker = new Worker(fixture('worker-pending'), { workerData: { fd: pipe.fd, each: 100 } });
    const [msg] = (await within(once(worker, 'message'), 10_000, 'worker ready')) as [
      { ready: boolean; inflight: number },
    ];
    assert.equal(msg.ready, true);
    assert.equal(msg.inflight, 300, "the worker's ops are in its kernel ring");
    const exited = once(worker, 'exit');
    await worker.terminate();
    await within(exited, 10_000, 'worker exit');
  }
  assert.equal(await nop(), 0, 'the main thread still works');
  assert.equal(await sleep(1), undefined);
  // The workers' rings were torn down with them.
  await waitFor(() => fdCount() === before, {
    timeout: 5000,
    what: () =>
      `the workers' fds to close (now ${fdCount()}, before ${before}):\n${fdList().join('\n')}\nbefore:\n${listBefore.join('\n')}`,
  });
  // And none of their reads lingers in the kernel to steal the FIFO's data.
  // (Timed on purpose: the kernel cancels a gone ring's requests in its own
  // exit work, which no event tells the end of; the pause lets it finish,
  // and a read still armed after it would take the bytes.)
  await sleep(20);
  assert.equal(writeSync(pipe.fd, 'xyz'), 3);
  const buf = Buffer.alloc(8);
  assert.equal(readSync(probe, buf), 3);
  assert.equal(buf.toString('latin1', 0, 3), 'xyz');
  await getRuntime().close();
});

// Under every setup: close() cancels through the ring, and with SQPOLL its
// cancel-all may find the SQ full of SQEs the kernel thread has not taken.
forEachSetup((s) => {
  test('close() with 10^4 ops in flight: resolves, every op rejects ERR_URING_CLOSED, no fd leaks', async (t) => {
    const dir = tempDir('uring-close-');
    const pipe = fifo(dir.file('fifo'));
    const file = dir.write('file', 'data');
    t.after(() => {
      pipe.close();
      dir.remove();
    });
    const before = fdCount();
    const rt = s.runtime();
    t.after(() => rt.close()); // a failure must not leave 10^4 ops keeping the process alive
    const N = 10_000;
    const ops: Promise<unknown>[] = [];
    for (let i = 0; i < N; i++) {
      const runtime = rt;
      switch (i % 4) {
        case 0:
          ops.push(sleep(60_000, { runtime }));
          break;
        case 1:
          ops.push(poll(pipe.fd, POLLIN, { runtime }));
          break;
        case 2:
          ops.push(read(pipe.fd, new Uint8Array(32), { runtime }));
          break;
        default:
          ops.push(poll(pipe.fd, POLLIN, { runtime, timeout: 60_000 }));
      }
    }
    const multi = pollMultishot(pipe.fd, POLLIN, { runtime: rt });
    const multiNext = multi.next();
    const settled = Promise.allSettled([...ops, multiNext]);
    // Submitted: the ring is full, the rest wait (with SQPOLL the kernel
    // thread takes the SQ's worth at a time: some turns).
    await waitFor(() => rt.inflight > 1000, { what: () => `1000 ops in flight (inflight ${rt.inflight})` });
    assert.ok(rt.backlog > 0);
    // An open completing during close: its fd must not leak either.
    const opening = openat(file, constants.O_RDONLY, 0, { runtime: rt });

    const t0 = performance.now();
    await within(rt.close(), 10_000, 'close()');
    const dt = performance.now() - t0;
    t.diagnostic(`close() with ${N + 1} ops pending took ${dt.toFixed(0)} ms`);
    assert.ok(dt < 5000, `close() took ${dt.toFixed(0)} ms`);
    assert.equal(rt.closed, true);
    assert.equal(rt.inflight, 0, "every op's last CQE came in before the ring was unmapped");

    const outcomes = await within(settled, 5000, 'ops settling');
    const wrong = outcomes.filter(
      (o) => o.status !== 'rejected' || (o.reason as { code?: string }).code !== 'ERR_URING_CLOSED',
    );
    assert.equal(
      wrong.length,
      0,
      `${wrong.length} ops did not reject with ERR_URING_CLOSED, e.g. ${JSON.stringify(wrong[0])}`,
    );
    const opened = await opening.then(
      (fd) => {
        closeSync(fd);
        return 'resolved';
      },
      (e: { code?: string }) => e.code,
    );
    assert.ok(opened === 'resolved' || opened === 'ERR_URING_CLOSED', String(opened));
    assert.equal(fdCount(), before, `fds leaked:\n${fdList().join('\n')}`);

    // New ops on the closed runtime reject (not throw) with ERR_URING_CLOSED.
    for (const p of [
      nop({ runtime: rt }),
      sleep(1, { runtime: rt }),
      read(pipe.fd, new Uint8Array(1), { runtime: rt }),
    ]) {
      await assert.rejects(p, { code: 'ERR_URING_CLOSED' });
    }
    await assert.rejects(pollMultishot(pipe.fd, POLLIN, { runtime: rt }).next(), { code: 'ERR_URING_CLOSED' });
    await rt.close(); // idempotent
    // The FIFO saw no read survive the close.
    assert.equal(writeSync(pipe.fd, 'ok'), 2);
    const buf = Buffer.alloc(4);
    assert.equal(readSync(pipe.fd, buf), 2);
  });
});

test('getRuntime() after closing the default runtime gives a fresh one; setRuntime swaps it', async () => {
  const a = getRuntime();
  assert.equal(getRuntime(), a, 'one per thread');
  await nop();
  await a.close();
  assert.equal(a.closed, true);
  const b = getRuntime();
  assert.notEqual(b, a);
  assert.equal(b.closed, false);
  assert.equal(await nop(), 0);
  assert.equal(a.stats.completions >= 1, true);
  assert.equal(b.stats.completions, 1, 'the nop went to the new runtime');

  const mine = new Runtime({ entries: 8 });
  assert.equal(setRuntime(mine), b);
  assert.equal(getRuntime(), mine);
  assert.equal(await nop(), 0);
  assert.equal(mine.stats.completions, 1);
  assert.equal(setRuntime(undefined), mine);
  await mine.close();
  await drained(b);
  await b.close();
  const c = getRuntime();
  assert.notEqual(c, b);
  assert.notEqual(c, mine);
  await c.close();
});
