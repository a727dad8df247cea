// The per-op fast path of read(), write(), nop() and FileHandle.read: no
// async wrapper (the op's own promise), no view per op, buffer addresses
// cached per ArrayBuffer. What it must keep: bytes land where asked, a
// buffer detached after its address was cached is refused, bad arguments
// reject (never throw), failures carry a stack naming the caller, and a
// FileHandle counts every read it starts until it settles.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Runtime, read, write, nop } from '../../src/index.js';
import { open } from '../../src/fs/index.js';
import { tempDir } from '../helpers/tmp.js';
import { READ_LENGTH_INT32 } from '../../src/node-version.js';
import { within } from '../helpers/wait.js';
import { forEachSetup } from '../helpers/runtimes.js';

const thisFile = basename(fileURLToPath(import.meta.url)).replace(/\.[jt]s$/, '');
const dir = tempDir('uring-fast-path-');
let rt: Runtime;
after(() => dir.remove());

const DATA = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ');

function detach(ab: ArrayBufferLike): void {
  structuredClone(ab, { transfer: [ab as ArrayBuffer] });
}

forEachSetup((s) => {
  before(() => {
    rt = s.runtime({ entries: 16 });
  });
  after(() => rt.close());

  test('reads into views at offsets of a buffer whose address is cached land where asked', async () => {
    const path = dir.write('data', DATA);
    const fd = dir.open('data', 'r');
    const ab = new ArrayBuffer(256);
    const whole = new Uint8Array(ab);
    // Caches the base of `ab`.
    assert.equal(await read(fd, whole, { position: 0, runtime: rt }), DATA.length);
    whole.fill(0);
    const views: [string, ArrayBufferView, number][] = [
      ['subarray', whole.subarray(100, 110), 100],
      ['Buffer at an offset', Buffer.from(ab, 130, 10), 130],
      ['DataView at an offset', new DataView(ab, 150, 10), 150],
      ['Float64Array at an offset', new Float64Array(ab, 200, 1), 200],
    ];
    for (const [kind, v, at] of views) {
      assert.equal(await read(fd, v, { position: 5, runtime: rt }), v.byteLength, kind);
      assert.deepEqual(Buffer.from(ab, at, v.byteLength), DATA.subarray(5, 5 + v.byteLength), kind);
    }
    // offset/length inside a view at an offset.
    const sub = whole.subarray(10, 60);
    assert.equal(await read(fd, sub, { offset: 7, length: 4, position: 1, runtime: rt }), 4);
    assert.deepEqual(Buffer.from(ab, 17, 4), DATA.subarray(1, 5));
    assert.equal(whole[16], 0, 'nothing before the range');
    assert.equal(whole[21], 0, 'nothing after the range');
    // Writes from a cached buffer at an offset too.
    const wfd = dir.open('out', 'w+');
    whole.set(DATA.subarray(0, 8), 40);
    assert.equal(await write(wfd, whole.subarray(40, 48), { position: 0, runtime: rt }), 8);
    const back = Buffer.alloc(8);
    assert.equal(await read(wfd, back, { position: 0, runtime: rt }), 8);
    assert.deepEqual(back, DATA.subarray(0, 8));
    void path;
  });

  test('a buffer detached after its address was cached is refused, not written into', async () => {
    dir.write('data2', DATA);
    const fd = dir.open('data2', 'r');
    const fh = await open(dir.file('data2'), 'r');
    try {
      for (const [name, use] of [
        ['read', (v: Uint8Array) => read(fd, v, { position: 0, runtime: rt })],
        ['write', (v: Uint8Array) => write(fd, v, { position: 0, runtime: rt })],
        // (node's FileHandle.read sees a detached buffer as an empty one)
        ['FileHandle.read', (v: Uint8Array) => fh.read(v, 0, 64, 0)],
      ] as const) {
        const v = new Uint8Array(64);
        if (name === 'write') await write(dir.open('sink', 'w'), v, { runtime: rt });
        else await use(v); // caches the address
        detach(v.buffer);
        const submits = rt.stats.submits;
        await assert.rejects(use(v), (e: any) => {
          assert.equal(e.code, 'ERR_INVALID_ARG_VALUE', `${name}: ${e.message}`);
          assert.match(e.message, name === 'FileHandle.read' ? /is empty/ : /detached/);
          return true;
        });
        assert.equal(rt.stats.submits, submits, `${name}: nothing reached the kernel`);
      }
    } finally {
      await fh.close();
    }
  });

  test('bad arguments reject (never throw) with a stack naming the caller', async () => {
    const fd = dir.open('data', 'r');
    const fh = await open(dir.file('data'), 'r');
    try {
      const calls: [string, () => Promise<unknown>, string][] = [
        ['read, fd', () => read('x' as unknown as number, Buffer.alloc(1)), 'ERR_INVALID_ARG_TYPE'],
        ['read, buffer', () => read(fd, 'x' as unknown as Buffer), 'ERR_INVALID_ARG_TYPE'],
        ['read, length', () => read(fd, Buffer.alloc(4), { length: 5 }), 'ERR_OUT_OF_RANGE'],
        ['read, position', () => read(fd, Buffer.alloc(4), { position: -2 }), 'ERR_OUT_OF_RANGE'],
        ['read, options', () => read(fd, Buffer.alloc(4), 5 as never), 'ERR_INVALID_ARG_TYPE'],
        ['write, offset', () => write(fd, Buffer.alloc(4), { offset: 9 }), 'ERR_OUT_OF_RANGE'],
        ['nop, options', () => nop({ timeout: -1 }), 'ERR_OUT_OF_RANGE'],
        // A length that is not a number: node 20 and 22 abort the process on
        // it (uring refuses it); node 24.22+ takes it as an int32, 'x' as 0, and
        // resolves with nothing read (node-version.ts).
        ...(READ_LENGTH_INT32
          ? []
          : [
              [
                'FileHandle.read, length',
                () => fh.read(Buffer.alloc(4), 0, 'x' as unknown as number, 0),
                'ERR_INVALID_ARG_TYPE',
              ] satisfies [string, () => Promise<unknown>, string],
            ]),
        [
          'FileHandle.read, offset',
          () => fh.read(Buffer.alloc(4), 'x' as unknown as number, 1, 0),
          'ERR_INVALID_ARG_TYPE',
        ],
        ['FileHandle.read, length past the end', () => fh.read(Buffer.alloc(4), 0, 5, 0), 'ERR_OUT_OF_RANGE'],
      ];
      for (const [name, call, code] of calls) {
        let p: Promise<unknown> | undefined;
        assert.doesNotThrow(() => {
          p = call();
        }, name);
        await assert.rejects(p!, (e: any) => {
          assert.equal(e.code, code, `${name}: ${e.message}`);
          assert.ok(e.stack.includes(thisFile), `${name}: the stack names the caller:\n${e.stack}`);
          return true;
        });
      }
    } finally {
      await fh.close();
    }
  });

  test('errors from the kernel carry a stack naming the awaiting caller', async () => {
    async function callerOfRead(): Promise<number> {
      return await read(999_999, Buffer.alloc(4), { position: 0, runtime: rt });
    }
    const err: any = await callerOfRead().then(
      () => assert.fail('read a bad fd'),
      (e) => e,
    );
    assert.equal(err.code, 'EBADF');
    assert.equal(err.syscall, 'read');
    assert.match(err.stack, /callerOfRead/, err.stack);
    assert.ok(err.stack.includes(thisFile), err.stack);

    const werr: any = await write(999_999, Buffer.alloc(4), { runtime: rt }).then(
      () => assert.fail('wrote a bad fd'),
      (e) => e,
    );
    assert.equal(werr.code, 'EBADF');
    assert.equal(werr.syscall, 'write');
    assert.ok(werr.stack.includes(thisFile), werr.stack);

    // A handle on a directory: the kernel says EISDIR.
    const fh = await open(dir.path, 'r');
    async function callerOfHandleRead(): Promise<unknown> {
      return await fh.read(Buffer.alloc(4), 0, 4, 0);
    }
    const herr: any = await callerOfHandleRead().then(
      () => assert.fail('read a directory'),
      (e) => e,
    );
    assert.equal(herr.code, 'EISDIR');
    assert.equal(herr.syscall, 'read');
    assert.match(herr.stack, /callerOfHandleRead/, herr.stack);
    // The failed read no longer holds the handle: close() does not wait forever.
    await fh.close();
  });

  test('FileHandle.read holds the handle until each read settles, whatever the outcome', async () => {
    dir.write('many', DATA);
    const fh = await open(dir.file('many'), 'r');
    const bufs = Array.from({ length: 64 }, () => Buffer.alloc(4));
    const reads = bufs.map((b, i) => fh.read(b, 0, 4, i % 50));
    // Ones that never reach the kernel must not count either.
    const refused = [fh.read(Buffer.alloc(4), 0, 9, 0).catch((e) => e), fh.read(Buffer.alloc(4), 0, 0, 0)];
    let closedEarly = false;
    const closing = fh.close().then(() => {
      closedEarly = !settledAll;
    });
    let settledAll = false;
    const results = await Promise.all(reads);
    settledAll = true;
    // A read that was counted and never released would keep close() waiting.
    await within(closing, 5000, 'close() after every read settled');
    assert.equal(closedEarly, false, 'close() resolved before the reads in flight settled');
    results.forEach((r, i) => {
      assert.equal(r.bytesRead, 4);
      assert.equal(r.buffer, bufs[i]);
      assert.deepEqual(r.buffer, DATA.subarray(i % 50, (i % 50) + 4));
    });
    assert.equal((await refused[0]).code, 'ERR_OUT_OF_RANGE');
    assert.equal((await refused[1]).bytesRead, 0);
    await assert.rejects(fh.read(Buffer.alloc(1), 0, 1, 0), { code: 'EBADF', message: 'file closed' });
  });

  test('a buffer detached while its op waits in the backlog fails that op alone', async () => {
    dir.write('backlog', DATA);
    const fd = dir.open('backlog', 'r');
    // A CQ of two: two reads in flight, the third and fourth wait in the
    // backlog (with SQPOLL the second too, until the kernel thread has taken
    // the first SQE from an SQ of one).
    const small = s.runtime({ entries: 1, cqEntries: 2 });
    try {
      const a = Buffer.alloc(8);
      const a2 = Buffer.alloc(8);
      const b = new Uint8Array(8);
      const c = Buffer.alloc(8);
      const pa = read(fd, a, { position: 0, runtime: small });
      const pa2 = read(fd, a2, { position: 0, runtime: small });
      const pb = read(fd, b, { position: 0, runtime: small });
      const pc = read(fd, c, { position: 8, runtime: small });
      assert.ok(small.backlog >= 2, `backlog ${small.backlog}`);
      detach(b.buffer);
      assert.equal(await pa, 8);
      assert.equal(await pa2, 8);
      await assert.rejects(pb, (e: any) => {
        assert.equal(e.code, 'ERR_INVALID_ARG_VALUE', e.message);
        assert.match(e.message, /detached/);
        return true;
      });
      assert.equal(await pc, 8);
      assert.deepEqual(a, DATA.subarray(0, 8));
      assert.deepEqual(c, DATA.subarray(8, 16));
      // The SQE the refused op had taken went out as a NOP nobody waits for; the runtime goes on.
      assert.equal(small.inflight, 0);
      assert.equal(await read(fd, a, { position: 16, runtime: small }), 8);
      assert.deepEqual(a, DATA.subarray(16, 24));
    } finally {
      await small.close();
    }
  });
});
