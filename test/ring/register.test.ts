// Registered files (direct descriptors) and registered buffers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { Ring, IOSQE_FIXED_FILE } from '../../src/ring/index.js';
import { tempDir } from '../helpers/tmp.js';
import { E, reap, sqe } from '../helpers/ring.js';

function setup(t: { after(fn: () => void): void }) {
  const ring = new Ring(8);
  const dir = tempDir();
  t.after(() => {
    ring.close();
    dir.remove();
  });
  return { ring, dir };
}

function readFixed(ring: Ring, slot: number, n: number): { res: number; data: Buffer } {
  const data = Buffer.alloc(n);
  sqe(ring).prepRead(slot, data, n, 0).addFlags(IOSQE_FIXED_FILE);
  ring.submit();
  const [c] = reap(ring, 1);
  return { res: c!.res, data: data.subarray(0, Math.max(0, c!.res)) };
}

test('registerFiles: a read through the slot index with IOSQE_FIXED_FILE', (t) => {
  const { ring, dir } = setup(t);
  dir.write('a', 'contents of a');
  dir.write('b', 'and of b');
  const fa = dir.open('a');
  const fb = dir.open('b');
  ring.registerFiles([fa, fb]);
  // Slot 1 is b, whatever fd number 1 is in this process.
  const r1 = readFixed(ring, 1, 64);
  assert.equal(r1.data.toString(), 'and of b');
  const r0 = readFixed(ring, 0, 64);
  assert.equal(r0.data.toString(), 'contents of a');
  // Beyond the table: EBADF.
  assert.equal(readFixed(ring, 2, 8).res, -E.EBADF);
  ring.unregisterFiles();
  assert.equal(readFixed(ring, 0, 8).res, -E.EBADF, 'no table after unregister');
});

test('registerFilesSparse + registerFilesUpdate fill empty slots', (t) => {
  const { ring, dir } = setup(t);
  dir.write('x', 'xxxx');
  dir.write('y', 'yyyyyy');
  const fx = dir.open('x');
  const fy = dir.open('y');
  ring.registerFilesSparse(4);
  assert.equal(readFixed(ring, 2, 8).res, -E.EBADF, 'a sparse slot is empty');
  assert.equal(ring.registerFilesUpdate(2, [fx]), 1);
  assert.equal(readFixed(ring, 2, 8).data.toString(), 'xxxx');
  assert.equal(ring.registerFilesUpdate(0, Int32Array.of(fy, -1, fy)), 3);
  assert.equal(readFixed(ring, 0, 8).data.toString(), 'yyyyyy');
  assert.equal(readFixed(ring, 1, 8).res, -E.EBADF, '-1 clears a slot');
  assert.equal(readFixed(ring, 2, 8).data.toString(), 'yyyyyy', 'slot 2 replaced');
  assert.equal(readFixed(ring, 3, 8).res, -E.EBADF);
  // The registered table holds its own reference: closing our fd keeps the slot usable.
  const fz = openSync(dir.file('x'), 'r'); // not through dir.open: closed here, not twice
  ring.registerFilesUpdate(3, [fz]);
  closeSync(fz);
  assert.equal(readFixed(ring, 3, 8).data.toString(), 'xxxx');
});

test('registered buffers: write_fixed and read_fixed', (t) => {
  const { ring, dir } = setup(t);
  const fd = dir.open('fixed', 'w+');
  const src = Buffer.alloc(16384);
  const dst = new Uint8Array(16384);
  randomBytes(16384).copy(src);
  ring.registerBuffers([src, dst]);
  assert.equal(ring.registeredBuffers.length, 2);

  // The whole of buffer 0, then a part of it at an offset inside it.
  sqe(ring).prepWriteFixed(fd, src, undefined, 0, 0).setUserData(1);
  ring.submit();
  assert.equal(reap(ring, 1)[0]!.res, 16384);
  sqe(ring).prepWriteFixed(fd, src.subarray(100, 600), undefined, 20000, 0).setUserData(2);
  ring.submit();
  assert.equal(reap(ring, 1)[0]!.res, 500);
  const onDisk = readFileSync(dir.file('fixed'));
  assert.deepEqual(onDisk.subarray(0, 16384), src);
  assert.deepEqual(onDisk.subarray(20000, 20500), src.subarray(100, 600));

  sqe(ring).prepReadFixed(fd, dst, undefined, 0, 1).setUserData(3);
  ring.submit();
  assert.equal(reap(ring, 1)[0]!.res, 16384);
  assert.deepEqual(Buffer.from(dst), src);
  const part = dst.subarray(8000, 8500);
  sqe(ring).prepReadFixed(fd, part, undefined, 20000, 1).setUserData(4);
  ring.submit();
  assert.equal(reap(ring, 1)[0]!.res, 500);
  assert.deepEqual(Buffer.from(part), src.subarray(100, 600));

  // A buffer outside the registered one it names is refused by the kernel.
  const stray = Buffer.alloc(64);
  sqe(ring).prepReadFixed(fd, stray, undefined, 0, 0).setUserData(5);
  ring.submit();
  assert.equal(reap(ring, 1)[0]!.res, -E.EFAULT);

  ring.unregisterBuffers();
  assert.equal(ring.registeredBuffers.length, 0);
  sqe(ring).prepReadFixed(fd, dst, undefined, 0, 1).setUserData(6);
  ring.submit();
  assert.ok(reap(ring, 1)[0]!.res < 0, 'no registered buffers after unregister');
});
