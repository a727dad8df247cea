// Errors as callers see them: AbortError for a signal (at once, with nothing
// submitted, if it was already aborted), the listener always removed, and the
// library's own errors with their permanent codes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { constants } from 'node:fs';
import {
  type Runtime,
  nop,
  read,
  write,
  readv,
  writev,
  fsync,
  poll,
  pollMultishot,
  openat,
  close,
  statx,
  fstatx,
  sleep,
  timeout,
  link,
  NopOp,
  FsyncOp,
  AbortError,
  UringTimeoutError,
  UringClosedError,
  POLLIN,
} from '../../src/index.js';
import { tempDir } from '../helpers/tmp.js';
import { drained, fifo } from './util.js';
import { within } from '../helpers/wait.js';
import { forEachSetup } from '../helpers/runtimes.js';

const dir = tempDir('uring-errors-');
const pipe = fifo(dir.file('fifo'));
let rt: Runtime;
after(() => {
  pipe.close();
  dir.remove();
});

function isAbortFor(reason: unknown) {
  return (e: any) => {
    assert.ok(e instanceof Error);
    assert.ok(e instanceof AbortError);
    assert.equal(e.name, 'AbortError');
    assert.equal(e.code, 'ABORT_ERR');
    assert.equal(e.cause, reason);
    return true;
  };
}

forEachSetup((s) => {
  before(() => {
    rt = s.runtime({ entries: 32 });
  });
  after(() => rt.close());

  test('an already aborted signal rejects at once with AbortError, and submits nothing', async () => {
    const fd = dir.open('file', 'w+');
    const reason = new Error('already');
    const ac = new AbortController();
    ac.abort(reason);
    const o = { signal: ac.signal, runtime: rt };
    await drained(rt);
    const before = { ...rt.stats };
    const calls: [string, () => Promise<unknown>][] = [
      ['nop', () => nop(o)],
      ['read', () => read(fd, Buffer.alloc(4), o)],
      ['write', () => write(fd, Buffer.alloc(4), o)],
      ['readv', () => readv(fd, [Buffer.alloc(4)], 0, o)],
      ['writev', () => writev(fd, [Buffer.alloc(4)], 0, o)],
      ['fsync', () => fsync(fd, o)],
      ['poll', () => poll(pipe.fd, POLLIN, o)],
      ['openat', () => openat(dir.file('file'), constants.O_RDONLY, 0, o)],
      ['close', () => close(fd, o)],
      ['statx', () => statx(dir.file('file'), o)],
      ['fstatx', () => fstatx(fd, o)],
      ['sleep', () => sleep(10, o)],
      ['timeout', () => timeout(10, 0, o)],
      ['with a timeout too', () => nop({ ...o, timeout: 100 })],
      ['pollMultishot', () => pollMultishot(pipe.fd, POLLIN, o).next()],
    ];
    for (const [name, call] of calls) {
      const p = call();
      // "At once": settled before any I/O or timer phase of the event loop.
      const first = await Promise.race([
        p.then(
          () => 'resolved',
          (e) => e,
        ),
        new Promise((r) => setImmediate(() => r('pending'))),
      ]);
      assert.notEqual(first, 'pending', `${name}: not settled at once`);
      assert.notEqual(first, 'resolved', `${name}: resolved`);
      isAbortFor(reason)(first);
    }
    // Linked ops: one aborted signal aborts the chain.
    const a = new NopOp();
    const b = new FsyncOp(fd, false);
    b.signal = ac.signal;
    link([a, b], { runtime: rt });
    await assert.rejects(a.promise, isAbortFor(reason));
    await assert.rejects(b.promise, isAbortFor(reason));

    await new Promise((r) => setImmediate(r));
    assert.equal(rt.stats.submits, before.submits, 'no SQE reached the kernel');
    assert.equal(rt.stats.enters, before.enters, 'no io_uring_enter');
    assert.equal(rt.inflight, 0);
    assert.equal(rt.backlog, 0);
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0, 'no listener left on the signal');
    // The fd was not closed by the aborted close().
    assert.equal(await write(fd, Buffer.from('still open'), { runtime: rt }), 10);
    // An AbortSignal.abort() with no reason: the cause is the default DOMException.
    const s = AbortSignal.abort();
    await assert.rejects(nop({ signal: s, runtime: rt }), isAbortFor(s.reason));
  });

  test('aborting an op in flight rejects with AbortError (cause = reason) and cancels it in the kernel', async () => {
    const ac = new AbortController();
    const p = sleep(60_000, { signal: ac.signal, runtime: rt });
    const r = read(pipe.fd, new Uint8Array(8), { signal: ac.signal, runtime: rt });
    const it = pollMultishot(pipe.fd, POLLIN, { signal: ac.signal, runtime: rt });
    const n = it.next();
    await nop({ runtime: rt }); // all in the kernel now
    assert.equal(rt.inflight, 3);
    assert.equal(getEventListeners(ac.signal, 'abort').length, 3);
    const reason = { why: 'test' };
    ac.abort(reason);
    // In whatever order the kernel ends them (all handled at once: none rejects unobserved).
    await Promise.all([
      assert.rejects(within(p, 2000, 'sleep'), isAbortFor(reason)),
      assert.rejects(within(r, 2000, 'read'), isAbortFor(reason)),
      assert.rejects(within(n, 2000, 'pollMultishot'), isAbortFor(reason)),
    ]);
    await drained(rt, 3000);
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
  });

  test('the abort listener is removed when an op settles by itself', async () => {
    const ac = new AbortController();
    await nop({ signal: ac.signal, runtime: rt });
    await sleep(1, { signal: ac.signal, runtime: rt });
    await assert.rejects(read(999_999, Buffer.alloc(1), { signal: ac.signal, runtime: rt }), { code: 'EBADF' });
    await assert.rejects(poll(pipe.fd, POLLIN, { signal: ac.signal, timeout: 10, runtime: rt }), {
      code: 'ERR_URING_TIMEOUT',
    });
    const it = pollMultishot(pipe.fd, POLLIN, { signal: ac.signal, runtime: rt });
    await nop({ runtime: rt });
    await it.return!();
    await drained(rt);
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
    // An abort now changes nothing.
    ac.abort();
  });

  test("system errors are shaped like Node's", async () => {
    const err: any = await read(999_999, Buffer.alloc(1), { runtime: rt }).catch((e) => e);
    assert.equal(err instanceof Error, true);
    assert.equal(err.message, 'EBADF: bad file descriptor, read');
    assert.equal(err.code, 'EBADF');
    assert.equal(err.errno, -9);
    assert.equal(err.syscall, 'read');
    assert.equal('path' in err, false);
    const missing = dir.file('missing');
    await assert.rejects(statx(missing, { runtime: rt, noFollow: true }), {
      message: `ENOENT: no such file or directory, lstat '${missing}'`,
      code: 'ENOENT',
      syscall: 'lstat',
      path: missing,
    });
  });

  test("the library's errors: ERR_URING_TIMEOUT and ERR_URING_CLOSED", async () => {
    const err: any = await poll(pipe.fd, POLLIN, { timeout: 20, runtime: rt }).catch((e) => e);
    assert.equal(err instanceof UringTimeoutError, true);
    assert.equal(err.code, 'ERR_URING_TIMEOUT');
    assert.equal(err.syscall, 'poll');
    assert.equal(err.timeout, 20);
    assert.equal(err.name, 'Error');
    assert.match(String(err), /^Error \[ERR_URING_TIMEOUT\]: poll timed out after 20 ms/);

    const closed = s.runtime({ entries: 4 });
    await closed.close();
    const c: any = await nop({ runtime: closed }).catch((e) => e);
    assert.equal(c instanceof UringClosedError, true);
    assert.equal(c.code, 'ERR_URING_CLOSED');
    // A closed runtime's ops never count as submitted.
    assert.equal(closed.stats.submits, 0);
  });

  test('close() leaves no abort listener behind, for ops in flight or still queued (multishot too)', async () => {
    const tiny = s.runtime({ entries: 2, cqEntries: 4 });
    const ac = new AbortController();
    const o = { runtime: tiny, signal: ac.signal };
    const pending = Array.from({ length: 6 }, () => sleep(60_000, o).catch((e) => e.code));
    const it = pollMultishot(pipe.fd, POLLIN, o);
    const next = it.next().catch((e) => e.code);
    await new Promise((r) => setImmediate(r));
    assert.ok(tiny.backlog > 0, 'some ops wait in the backlog');
    assert.equal(getEventListeners(ac.signal, 'abort').length, 7);
    await tiny.close();
    assert.deepEqual(await Promise.all(pending), new Array(6).fill('ERR_URING_CLOSED'));
    assert.equal(await next, 'ERR_URING_CLOSED');
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0, 'a listener still holds an op of the closed runtime');
  });
});
