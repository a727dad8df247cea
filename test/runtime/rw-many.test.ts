// readMany / writeMany against the real kernel: the bytes of each read
// checked against node's readSync at the same place, batches larger than
// one op (127 SQEs) and than the ring, groups that wait in the backlog
// (and a buffer detached while they wait), errors, arguments, abort.
import { test, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { openat, readMany, writeMany, read, getRuntime } from '../../src/index.js';
import { open as uringOpen } from '../../src/fs/index.js';
import { tempDir } from '../helpers/tmp.js';
import { drained, fifo, inKernel } from './util.js';
import { gc } from '../helpers/gc.js';
import { SQPOLL, forEachSetup } from '../helpers/runtimes.js';

const dir = tempDir('uring-rw-many-');
const SIZE = 1 << 20;
const data = randomBytes(SIZE);
const file = dir.write('data', data);
after(async () => {
  dir.remove();
  await getRuntime().close();
});

/** A seeded generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** What node reads at `pos` into a buffer of `len` bytes: [bytes read, the bytes]. */
function nodeRead(fd: number, len: number, pos: number): [number, Buffer] {
  const b = Buffer.alloc(len);
  const n = readSync(fd, b, 0, len, pos);
  return [n, b];
}

forEachSetup((s) => {
  describe('readMany', () => {
    test('random reads of mixed sizes give what readSync gives at the same places, short at EOF, 0 past it', async () => {
      const fd = await openat(file, 0);
      const nfd = openSync(file, 'r');
      const rand = rng(42);
      const sizes = [1, 512, 4096, 4097, 65536];
      const bufs: Buffer[] = [];
      const positions: number[] = [];
      for (let i = 0; i < 300; i++) {
        const len = sizes[i % sizes.length]!;
        bufs.push(Buffer.alloc(len, 0xee));
        positions.push(Math.floor(rand() * SIZE));
      }
      // The edges: a read ending exactly at EOF, one crossing it, one at it, one past it.
      for (let k = 0; k < 4; k++) bufs.push(Buffer.alloc(100, 0xee));
      positions.push(SIZE - 100, SIZE - 10, SIZE, SIZE + 4096);
      const got = await readMany(fd, bufs, positions);
      assert.equal(got.length, bufs.length);
      for (let i = 0; i < bufs.length; i++) {
        const [n, want] = nodeRead(nfd, bufs[i]!.length, positions[i]!);
        assert.equal(got[i], n, `bytes read by read ${i} at ${positions[i]}`);
        assert.ok(bufs[i]!.subarray(0, n).equals(want.subarray(0, n)), `bytes of read ${i}`);
        assert.ok(
          bufs[i]!.subarray(n).every((b) => b === 0xee),
          `read ${i} wrote nothing past its result`,
        );
      }
      assert.deepEqual(got.slice(-4), [100, 10, 0, 0]);
      closeSync(nfd);
      await getRuntime().close();
    });

    test('positions as bigints, Float64Array and BigInt64Array; views with an offset into a shared buffer', async () => {
      const fd = await openat(file, 0);
      const backing = new ArrayBuffer(4 * 1024);
      const views = [0, 1, 2, 3].map((k) => new Uint8Array(backing, k * 1024, 1024));
      const pos = [7, 70_000, 300_001, SIZE - 1024];
      for (const positions of [pos, pos.map(BigInt), Float64Array.from(pos), BigInt64Array.from(pos.map(BigInt))]) {
        new Uint8Array(backing).fill(0);
        assert.deepEqual(await readMany(fd, views, positions), [1024, 1024, 1024, 1024]);
        views.forEach((v, k) => assert.ok(Buffer.from(v).equals(data.subarray(pos[k], pos[k]! + 1024)), `view ${k}`));
      }
      await getRuntime().close();
    });

    test('the same buffers batch after batch: one detached is refused, one replaced is read into, DataViews too', async () => {
      const fd = await openat(file, 0);
      const bufs: ArrayBufferView[] = Array.from({ length: 8 }, () => Buffer.alloc(16));
      const pos = bufs.map((_, i) => i * 100);
      const check = (what: string) =>
        bufs.forEach((b, i) => {
          const bytes = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
          assert.ok(bytes.equals(data.subarray(pos[i]!, pos[i]! + 16)), `${what}: read ${i}`);
        });
      for (let round = 0; round < 3; round++) {
        pos.forEach((_, i) => (pos[i] = (round * 8 + i) * 1000));
        assert.deepEqual(await readMany(fd, bufs, pos), new Array(8).fill(16));
        check(`round ${round}`);
      }
      const gone = bufs[3]!.buffer as ArrayBuffer;
      structuredClone(gone, { transfer: [gone] });
      await assert.rejects(readMany(fd, bufs, pos), { code: 'ERR_INVALID_ARG_VALUE', message: /buffers\[3\]/ });
      bufs[3] = new DataView(new ArrayBuffer(16));
      for (let round = 0; round < 2; round++) {
        pos.forEach((_, i) => (pos[i] = 5000 + round * 300 + i * 17));
        assert.deepEqual(await readMany(fd, bufs, pos), new Array(8).fill(16));
        check(`with a DataView, round ${round}`);
      }
    });

    test('an empty batch resolves with [] without touching the ring', async () => {
      const fd = await openat(file, 0);
      const rt = getRuntime();
      const before = rt.stats.submits;
      assert.deepEqual(await readMany(fd, [], []), []);
      assert.equal(rt.stats.submits, before);
    });

    test('a batch goes to the kernel in one io_uring_enter', async () => {
      const fd = await openat(file, 0);
      const rt = getRuntime();
      await drained(rt);
      const enters = rt.stats.enters;
      const bufs = Array.from({ length: 64 }, () => Buffer.alloc(4096));
      const got = await readMany(
        fd,
        bufs,
        bufs.map((_, i) => i * 4096),
      );
      assert.deepEqual(got, new Array(64).fill(4096));
      // With SQPOLL the kernel thread takes the SQEs: an enter only to wake it.
      if (s === SQPOLL) assert.ok(rt.stats.enters - enters <= 1, `${rt.stats.enters - enters} enters`);
      else assert.equal(rt.stats.enters - enters, 1);
      bufs.forEach((b, i) => assert.ok(b.equals(data.subarray(i * 4096, (i + 1) * 4096))));
    });

    test('more reads than the ring holds: groups wait in the backlog and read the right places', async () => {
      // 8 SQEs and a CQ of 16: 1000 reads are 125 groups of 8, at most 2 in flight.
      const rt = s.runtime({ entries: 8, cqEntries: 16 });
      try {
        const fd = await openat(file, 0, 0, { runtime: rt });
        const rand = rng(7);
        const bufs = Array.from({ length: 1000 }, () => Buffer.alloc(64));
        const positions = bufs.map(() => Math.floor(rand() * (SIZE - 64)));
        const got = await readMany(fd, bufs, positions, { runtime: rt });
        assert.ok(rt.stats.backlogged > 0, 'some groups waited');
        assert.deepEqual(got, new Array(1000).fill(64));
        bufs.forEach((b, i) => assert.ok(b.equals(data.subarray(positions[i], positions[i]! + 64)), `read ${i}`));
        // Two batches waiting at once, and the caller's positions changed once
        // the call has returned: each batch's waiting groups read their own places.
        const a = Array.from({ length: 500 }, () => Buffer.alloc(64));
        const b = Array.from({ length: 500 }, () => Buffer.alloc(64));
        const posA = a.map((_, i) => i * 64);
        const posB = b.map((_, i) => SIZE - 64 - i * 64);
        const pa = readMany(fd, a, posA, { runtime: rt });
        const pb = readMany(fd, b, posB, { runtime: rt });
        posA.fill(0);
        posB.fill(0);
        await Promise.all([pa, pb]);
        a.forEach((x, i) => assert.ok(x.equals(data.subarray(i * 64, i * 64 + 64)), `first batch, read ${i}`));
        b.forEach((x, i) =>
          assert.ok(x.equals(data.subarray(SIZE - 64 - i * 64, SIZE - i * 64)), `second batch, read ${i}`),
        );
      } finally {
        await rt.close();
      }
    });

    test('the caller changing its buffers array after the call: the reads land in the buffers given', async () => {
      const rt = s.runtime({ entries: 8, cqEntries: 16 });
      try {
        const fd = await openat(file, 0, 0, { runtime: rt });
        const given = Array.from({ length: 200 }, () => Buffer.alloc(32));
        const arr = [...given];
        const p = readMany(
          fd,
          arr,
          arr.map((_, i) => i * 32),
          { runtime: rt },
        );
        assert.ok(rt.backlog > 0, 'groups wait in the backlog');
        const others = arr.map(() => Buffer.alloc(1));
        arr.splice(0, arr.length, ...others);
        gc();
        assert.deepEqual(await p, new Array(200).fill(32));
        given.forEach((b, i) => assert.ok(b.equals(data.subarray(i * 32, i * 32 + 32)), `read ${i}`));
        assert.ok(
          others.every((b) => b[0] === 0),
          'nothing was read into the new entries',
        );
      } finally {
        await rt.close();
      }
    });

    test('a buffer detached while its group waits in the backlog fails the batch; no read reaches it', async () => {
      const rt = s.runtime({ entries: 8, cqEntries: 16 });
      const f = fifo(dir.file(`fifo-detach-${s.name}`));
      const fd = openSync(file, 'r');
      try {
        // Sixteen reads of a FIFO nobody has written to fill the CQ: the batch must wait.
        const blockers = Array.from({ length: 16 }, () => read(f.fd, Buffer.alloc(1), { runtime: rt }));
        const bufs = Array.from({ length: 4 }, () => Buffer.alloc(16));
        const detached = new Uint8Array(16);
        const p = readMany(fd, [...bufs, detached], [0, 16, 32, 48, 64], { runtime: rt });
        assert.ok(rt.backlog > 0, 'the batch waits for room');
        structuredClone(detached.buffer, { transfer: [detached.buffer] });
        writeSync(f.fd, 'x'.repeat(16));
        assert.deepEqual(await Promise.all(blockers), new Array(16).fill(1));
        await assert.rejects(p, { code: 'ERR_INVALID_ARG_VALUE', message: /buffers\[4\]/ });
        await drained(rt);
        assert.ok(
          bufs.every((b) => b.every((x) => x === 0)),
          'the refused group read nothing',
        );
      } finally {
        await rt.close();
        f.close();
        closeSync(fd);
      }
    });

    test('kernel errors are node-shaped: EBADF, EISDIR; syscall read', async () => {
      await assert.rejects(readMany(0x7ffffff0, [Buffer.alloc(4)], [0]), { code: 'EBADF', syscall: 'read', errno: -9 });
      const d = await openat(dir.path, 0);
      await assert.rejects(readMany(d, [Buffer.alloc(4), Buffer.alloc(4)], [0, 0]), {
        code: 'EISDIR',
        syscall: 'read',
      });
    });

    test('bad arguments reject (never throw) with node-style codes', async () => {
      const fd = await openat(file, 0);
      const b = Buffer.alloc(4);
      const cases: [() => Promise<unknown>, string][] = [
        [() => readMany('3' as unknown as number, [b], [0]), 'ERR_INVALID_ARG_TYPE'],
        [() => readMany(fd, b as unknown as Buffer[], [0]), 'ERR_INVALID_ARG_TYPE'],
        [() => readMany(fd, [b], 0 as unknown as number[]), 'ERR_INVALID_ARG_TYPE'],
        [() => readMany(fd, [b, b], [0]), 'ERR_OUT_OF_RANGE'],
        [() => readMany(fd, [b], [-1]), 'ERR_OUT_OF_RANGE'],
        [() => readMany(fd, [b], [1.5]), 'ERR_OUT_OF_RANGE'],
        [() => readMany(fd, [b], [2n ** 60n]), 'ERR_OUT_OF_RANGE'],
        [() => readMany(fd, [b], ['0' as unknown as number]), 'ERR_INVALID_ARG_TYPE'],
        [() => readMany(fd, [b, 'x' as unknown as Buffer], [0, 0]), 'ERR_INVALID_ARG_TYPE'],
        [() => readMany(fd, [b], [0], { signal: 1 as unknown as AbortSignal }), 'ERR_INVALID_ARG_TYPE'],
        [() => readMany(fd, [b], [0], { timeout: 100 }), 'ERR_INVALID_ARG_VALUE'],
      ];
      for (const [call, code] of cases) {
        let p: Promise<unknown> | undefined;
        assert.doesNotThrow(() => (p = call()));
        await assert.rejects(p!, { code });
      }
      const gone = new Uint8Array(8);
      structuredClone(gone.buffer, { transfer: [gone.buffer] });
      await assert.rejects(readMany(fd, [gone], [0]), { code: 'ERR_INVALID_ARG_VALUE', message: /buffers\[0\]/ });
      await assert.rejects(readMany(fd, [b, 'x' as unknown as Buffer], [0, 0]), { message: /"buffers\[1\]"/ });
    });

    test('an error carries the caller in its stack', async () => {
      async function callerOfReadMany() {
        await readMany(0x7ffffff0, [Buffer.alloc(4)], [0]);
      }
      await assert.rejects(callerOfReadMany(), (err: Error) => {
        assert.match(err.stack!, /callerOfReadMany/);
        return true;
      });
    });

    test('an aborted signal rejects with AbortError; abort in flight cancels the reads', async () => {
      const fd = await openat(file, 0);
      await assert.rejects(readMany(fd, [Buffer.alloc(4)], [0], { signal: AbortSignal.abort() }), {
        name: 'AbortError',
      });
      const f = fifo(dir.file(`fifo-abort-${s.name}`));
      try {
        const ac = new AbortController();
        const rt = getRuntime();
        // Reads of an empty FIFO wait until written: only a cancel ends them.
        const bufs = [Buffer.alloc(1), Buffer.alloc(1), Buffer.alloc(1)];
        const base = rt.inflight;
        const p = readMany(f.fd, bufs, [0, 0, 0], { signal: ac.signal });
        await inKernel(rt, base + 1); // the reads (one op, three SQEs) wait in the kernel: the abort cancels them there
        ac.abort();
        await assert.rejects(p, { name: 'AbortError' });
        await drained(rt);
        assert.equal(rt.inflight, 0, 'every read was cancelled');
        writeSync(f.fd, 'abc');
        const b = Buffer.alloc(3);
        assert.equal(readSync(f.fd, b), 3, 'the cancelled reads took none of the bytes written after');
      } finally {
        f.close();
      }
    });
  });

  describe('writeMany', () => {
    test('writes land at their offsets; the file is what node writes the same way', async () => {
      const path = dir.file('wm');
      const ref = dir.file('wm-ref');
      writeFileSync(path, Buffer.alloc(0));
      writeFileSync(ref, Buffer.alloc(0));
      const fd = await openat(path, 2); // O_RDWR
      const rfd = openSync(ref, 'r+');
      const rand = rng(99);
      // Disjoint slots of 512 bytes in a 512 KiB file, shuffled, some left as holes.
      const slots = Array.from({ length: 1024 }, (_, i) => i).filter(() => rand() < 0.7);
      const bufs = slots.map((s) => randomBytes(1 + Math.floor(rand() * 512)));
      const positions = slots.map((s) => s * 512);
      const got = await writeMany(fd, bufs, positions);
      assert.deepEqual(
        got,
        bufs.map((b) => b.length),
      );
      bufs.forEach((b, i) => {
        const n = writeSync(rfd, b, 0, b.length, positions[i]!);
        assert.equal(n, b.length);
      });
      closeSync(rfd);
      assert.ok(readFileSync(path).equals(readFileSync(ref)));
    });

    test('writing to a read-only descriptor fails EBADF with syscall write', async () => {
      const fd = await openat(file, 0);
      await assert.rejects(writeMany(fd, [Buffer.from('x')], [0]), { code: 'EBADF', syscall: 'write' });
      assert.ok(readFileSync(file).equals(data), 'the file is untouched');
    });
  });

  describe('FileHandle.readMany / writeMany', () => {
    test('read and write through the handle; a closed handle rejects EBADF', async () => {
      const fh = await uringOpen(dir.file('fh'), 'w+');
      assert.deepEqual(await fh.writeMany([Buffer.from('abc'), Buffer.from('xyz')], [10, 0]), [3, 3]);
      const a = Buffer.alloc(3);
      const b = Buffer.alloc(3);
      assert.deepEqual(await fh.readMany([a, b], [0, 10]), [3, 3]);
      assert.equal(`${a}${b}`, 'xyzabc');
      const pending = fh.readMany([Buffer.alloc(13)], [0]);
      await fh.close(); // waits for the batch
      assert.deepEqual(await pending, [13]);
      await assert.rejects(fh.readMany([a], [0]), { code: 'EBADF', syscall: 'read' });
      await assert.rejects(fh.writeMany([a], [0]), { code: 'EBADF', syscall: 'write' });
    });
  });
});
