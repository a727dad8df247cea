// Every op through the default runtime, against the real kernel.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, statSync, readFileSync, writeFileSync, constants } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
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
  WriteOp,
  FsyncOp,
  NopOp,
  getRuntime,
  POLLIN,
  POLLOUT,
} from '../../src/index.js';
import { tempDir } from '../helpers/tmp.js';
import { socketPair } from '../helpers/net.js';
import { drained } from './util.js';
import { quietFor, within } from '../helpers/wait.js';
import { forEachSetup } from '../helpers/runtimes.js';

const dir = tempDir('uring-ops-');
const thisFile = basename(fileURLToPath(import.meta.url)).replace(/\.[jt]s$/, ''); // ops.test
after(async () => {
  dir.remove();
  await getRuntime().close();
});

forEachSetup((s) => {
  test('nop resolves with 0', async () => {
    assert.equal(await nop(), 0);
    const many = await Promise.all(Array.from({ length: 100 }, () => nop()));
    assert.deepEqual(many, new Array(100).fill(0));
  });

  test('write then read at positions, with buffer offset and length', async () => {
    const fd = dir.open('rw', 'w+');
    assert.equal(await write(fd, Buffer.from('hello world'), { position: 0 }), 11);
    assert.equal(await write(fd, Buffer.from('__WORLD__'), { offset: 2, length: 5, position: 6 }), 5);
    assert.equal(readFileSync(dir.file('rw'), 'latin1'), 'hello WORLD');
    const buf = Buffer.alloc(10, '.');
    assert.equal(await read(fd, buf, { position: 6, offset: 3, length: 5 }), 5);
    assert.equal(buf.toString('latin1'), '...WORLD..');
    assert.equal(await read(fd, buf, { position: 11 }), 0, 'end of file');
    assert.equal(await read(fd, buf, { position: 4n, length: 2 }), 2, 'bigint position');
    assert.equal(buf.toString('latin1', 0, 2), 'o ');
    // No position: the file's own offset moves.
    const fd2 = dir.open('rw', 'r');
    const a = Buffer.alloc(6),
      b = Buffer.alloc(5);
    assert.equal(await read(fd2, a), 6);
    assert.equal(await read(fd2, b, { position: null }), 5);
    assert.equal(a.toString() + b.toString(), 'hello WORLD');
    // Any view works, not just Uint8Array.
    const u16 = new Uint16Array(2);
    assert.equal(await read(fd, u16, { position: 0 }), 4);
    assert.equal(Buffer.from(u16.buffer).toString('latin1'), 'hell');
  });

  test('writev and readv scatter and gather in order', async () => {
    const fd = dir.open('vec', 'w+');
    const parts = [Buffer.from('abc'), new Uint8Array(0), Buffer.from('defgh'), Buffer.from('ij')];
    assert.equal(await writev(fd, parts, 0), 10);
    assert.equal(await writev(fd, [Buffer.from('XY')], 3), 2);
    assert.equal(readFileSync(dir.file('vec'), 'latin1'), 'abcXYfghij');
    const x = Buffer.alloc(4),
      y = Buffer.alloc(100);
    assert.equal(await readv(fd, [x, y], 1), 9);
    assert.equal(x.toString('latin1'), 'bcXY');
    assert.equal(y.toString('latin1', 0, 5), 'fghij');
  });

  test('fsync and fdatasync', async () => {
    const fd = dir.open('sync', 'w');
    await write(fd, Buffer.from('data'));
    assert.equal(await fsync(fd), undefined);
    assert.equal(await fsync(fd, { datasync: true }), undefined);
    await assert.rejects(fsync(999_999), { code: 'EBADF', errno: -9, syscall: 'fsync' });
    await assert.rejects(fsync(999_999, { datasync: true }), { syscall: 'fdatasync' });
  });

  test('openat: opens, and its ENOENT is shaped like node:fs with the caller on the stack', async () => {
    const p = dir.write('exists', 'xyz');
    const fd = await openat(p);
    try {
      assert.ok(fd >= 0);
      const buf = Buffer.alloc(3);
      assert.equal(await read(fd, buf, { position: 0 }), 3);
      assert.equal(buf.toString(), 'xyz');
    } finally {
      await close(fd);
    }
    await assert.rejects(close(fd), { code: 'EBADF', syscall: 'close' }, 'closed by close()');

    const created = await openat(dir.file('made'), constants.O_CREAT | constants.O_WRONLY, 0o600);
    closeSync(created);
    assert.equal(statSync(dir.file('made')).mode & 0o777, 0o600 & ~process.umask());

    const missing = dir.file('no-such-file');
    const err: any = await openat(missing).then(
      () => assert.fail('opened a missing file'),
      (e: any) => e,
    );
    assert.equal(err instanceof Error, true);
    assert.equal(err.message, `ENOENT: no such file or directory, open '${missing}'`);
    assert.equal(err.code, 'ENOENT');
    assert.equal(err.errno, -2);
    assert.equal(err.syscall, 'open');
    assert.equal(err.path, missing);
    assert.ok(err.stack.includes(thisFile), `the stack names the caller (${thisFile}):\n${err.stack}`);

    // Buffer paths too.
    await assert.rejects(openat(Buffer.from(missing)), { code: 'ENOENT', path: missing });
  });

  test('statx and fstatx agree with fs.statSync', async () => {
    const p = dir.write('stat-me', Buffer.alloc(12345, 1));
    const st = statSync(p, { bigint: true });
    const sx = await statx(p);
    assert.equal(sx.size, 12345n);
    assert.equal(sx.ino, st.ino);
    assert.equal(sx.mode, Number(st.mode));
    assert.equal(sx.nlink, Number(st.nlink));
    assert.equal(sx.mtime.sec, st.mtimeNs / 1_000_000_000n);
    const fd = dir.open('stat-me');
    const fsx = await fstatx(fd);
    assert.equal(fsx.size, 12345n);
    assert.equal(fsx.ino, st.ino);
    await assert.rejects(statx(dir.file('nope')), { code: 'ENOENT', syscall: 'stat', path: dir.file('nope') });
  });

  test('sleep(50) takes at least ~45 ms', async () => {
    const t0 = performance.now();
    await sleep(50);
    const dt = performance.now() - t0;
    assert.ok(dt >= 45, `slept ${dt.toFixed(1)} ms`);
    assert.ok(dt < 2000, `slept ${dt.toFixed(1)} ms`);
    await sleep(0);
  });

  test('timeout(ms) resolves true when the time is up, timeout(ms, count) false after count completions', async () => {
    const t0 = performance.now();
    assert.equal(await timeout(30), true);
    assert.ok(performance.now() - t0 >= 25);

    const t1 = performance.now();
    const counted = timeout(5000, 2);
    await new Promise((r) => setImmediate(r)); // the timeout is armed before the nops
    await Promise.all([nop(), nop()]);
    assert.equal(await within(counted, 3000, 'timeout(5000, 2)'), false);
    assert.ok(performance.now() - t1 < 3000);
  });

  test('poll: POLLOUT at once on a socket, POLLIN when data arrives', async (t) => {
    const pair = await socketPair();
    t.after(() => pair.close());
    const out = await poll(pair.clientFd, POLLOUT);
    assert.ok(out & POLLOUT);
    let fired = false;
    const pin = poll(pair.serverFd, POLLIN).then((v) => {
      fired = true;
      return v;
    });
    await quietFor(20); // no data: POLLIN must not fire
    assert.equal(fired, false, 'no data yet');
    pair.client.write('x');
    assert.ok((await within(pin, 3000, 'poll POLLIN')) & POLLIN);
  });

  test('pollMultishot yields an event per wakeup; break cancels it in the kernel', async (t) => {
    const pair = await socketPair();
    t.after(() => pair.close());
    const rt = getRuntime();
    await drained(rt);
    const it = pollMultishot(pair.serverFd, POLLIN);
    await nop(); // the poll is armed
    assert.equal(rt.inflight, 1);
    let n = 0;
    pair.client.write('a');
    const loop = (async () => {
      for await (const ev of it) {
        assert.ok(ev & POLLIN);
        if (++n === 3) break;
        pair.client.write('b');
      }
    })();
    await within(loop, 5000, 'three multishot poll events');
    assert.equal(n, 3);
    await drained(rt, 3000); // the cancel's CQE released the slot
    assert.deepEqual(await it.next(), { value: undefined, done: true });
  });

  test('link: write then fsync in one chain', async () => {
    const fd = dir.open('linked', 'w+');
    const data = Buffer.from('linked data');
    const [w, f] = link([new WriteOp(fd, data, 0, data), new FsyncOp(fd, false)]);
    assert.equal(await w.promise, data.length);
    assert.equal(await f.promise, undefined);
    assert.equal(readFileSync(dir.file('linked'), 'latin1'), 'linked data');
  });

  test('link: a failing first op cancels the second with ECANCELED', async () => {
    const fd = dir.open('linked2', 'w+');
    const data = Buffer.from('never');
    const [w, f] = link([new WriteOp(999_999, data, 0, data), new FsyncOp(fd, false)]);
    await assert.rejects(w.promise, { code: 'EBADF', syscall: 'write' });
    await assert.rejects(f.promise, { code: 'ECANCELED', errno: -125, syscall: 'fsync' });

    // Hard links go on regardless.
    const [w2, n2] = link([new WriteOp(999_999, data, 0, data), new NopOp()], { hard: true });
    await assert.rejects(w2.promise, { code: 'EBADF' });
    assert.equal(await n2.promise, 0);
  });

  test("bad arguments reject (never throw) with Node's codes", async () => {
    const fd = dir.open('args', 'w+');
    const buf = Buffer.alloc(4);
    const cases: [string, () => Promise<unknown>, string][] = [
      ['read fd string', () => read('3' as any, buf), 'ERR_INVALID_ARG_TYPE'],
      ['read fd float', () => read(1.5, buf), 'ERR_OUT_OF_RANGE'],
      ['read fd negative', () => read(-1, buf), 'ERR_OUT_OF_RANGE'],
      ['read buffer string', () => read(fd, 'abc' as any), 'ERR_INVALID_ARG_TYPE'],
      ['read position', () => read(fd, buf, { position: -2 }), 'ERR_OUT_OF_RANGE'],
      ['read position float', () => read(fd, buf, { position: 1.5 }), 'ERR_OUT_OF_RANGE'],
      ['read offset', () => read(fd, buf, { offset: 5 }), 'ERR_OUT_OF_RANGE'],
      ['write length', () => write(fd, buf, { offset: 2, length: 3 }), 'ERR_OUT_OF_RANGE'],
      ['readv not an array', () => readv(fd, 'x' as any), 'ERR_INVALID_ARG_TYPE'],
      ['writev bad element', () => writev(fd, [buf, {} as any]), 'ERR_INVALID_ARG_TYPE'],
      ['readv position', () => readv(fd, [buf], -5), 'ERR_OUT_OF_RANGE'],
      ['fsync fd', () => fsync(undefined as any), 'ERR_INVALID_ARG_TYPE'],
      ['openat path', () => openat(42 as any), 'ERR_INVALID_ARG_TYPE'],
      ['statx path', () => statx(null as any), 'ERR_INVALID_ARG_TYPE'],
      ['poll mask', () => poll(fd, -1), 'ERR_INVALID_ARG_TYPE'],
      ['sleep ms', () => sleep(-1), 'ERR_OUT_OF_RANGE'],
      ['sleep NaN', () => sleep(NaN), 'ERR_OUT_OF_RANGE'],
      ['timeout count', () => timeout(10, 1.5), 'ERR_OUT_OF_RANGE'],
      ['options not an object', () => nop('x' as any), 'ERR_INVALID_ARG_TYPE'],
      ['options null', () => nop(null as any), 'ERR_INVALID_ARG_TYPE'],
      ['signal', () => nop({ signal: {} as any }), 'ERR_INVALID_ARG_TYPE'],
      ['timeout option 0', () => nop({ timeout: 0 }), 'ERR_OUT_OF_RANGE'],
      ['timeout option Infinity', () => nop({ timeout: Infinity }), 'ERR_OUT_OF_RANGE'],
      ['timeout option string', () => nop({ timeout: '5' as any }), 'ERR_OUT_OF_RANGE'],
    ];
    const rt = getRuntime();
    await drained(rt);
    const submits = rt.stats.submits;
    for (const [name, call, code] of cases) {
      let p: Promise<unknown>;
      try {
        p = call();
      } catch (e) {
        assert.fail(`${name}: threw synchronously (${(e as Error).message})`);
      }
      assert.ok(p instanceof Promise, name);
      await assert.rejects(p, (e: any) => {
        assert.equal(e.code, code, `${name}: ${e.message}`);
        assert.ok(e instanceof Error);
        return true;
      });
    }
    await new Promise((r) => setImmediate(r));
    assert.equal(rt.stats.submits, submits, 'nothing reached the kernel');
  });

  test('{ timeout: 50 } on a poll that never fires rejects with ERR_URING_TIMEOUT in about 50 ms', async (t) => {
    const pair = await socketPair();
    t.after(() => pair.close());
    const t0 = performance.now();
    const err: any = await within(poll(pair.serverFd, POLLIN, { timeout: 50 }), 3000, 'timed poll').then(
      () => assert.fail('resolved'),
      (e: any) => e,
    );
    const dt = performance.now() - t0;
    assert.equal(err.code, 'ERR_URING_TIMEOUT');
    assert.equal(err.syscall, 'poll');
    assert.equal(err.timeout, 50);
    assert.ok(dt >= 45, `after ${dt.toFixed(1)} ms`);
    assert.ok(dt < 1000, `after ${dt.toFixed(1)} ms`);
    await drained(getRuntime());
  });

  test("{ timeout } that does not fire: the op's own result", async () => {
    assert.equal(await nop({ timeout: 1000 }), 0);
    const p = dir.write('timed-read', 'abcdef');
    const fd = dir.open('timed-read');
    const buf = Buffer.alloc(6);
    assert.equal(await read(fd, buf, { position: 0, timeout: 1000 }), 6);
    assert.equal(buf.toString(), 'abcdef');
    await assert.rejects(openat(p + '.missing', constants.O_RDONLY, 0, { timeout: 1000 }), {
      code: 'ENOENT',
      path: p + '.missing',
    });
    writeFileSync(p, '');
    await drained(getRuntime());
  });
});
