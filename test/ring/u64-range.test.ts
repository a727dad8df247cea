// 64-bit SQE fields (off, addr, addr3, user data) and the 32/16/8-bit ones
// take what fits them, and refuse the rest with ERR_OUT_OF_RANGE: written
// as is, 2n ** 64n wrapped to 0 (a write at offset 0) and 2n ** 64n + 5n to
// 5 (a truncation to 5 bytes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fstatSync, readFileSync } from 'node:fs';
import { Ring, Timespec, writeU64, AT_FDCWD } from '../../src/ring/index.js';
import { fallocate, ftruncate, openat, read, readv, write, writev } from '../../src/ops/index.js';
import { open } from '../../src/fs/index.js';
import * as fsp from '../../src/fs/promises.js';
import { tempDir } from '../helpers/tmp.js';

const RANGE = { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' };

test('writev and write at 2n ** 64n are refused, not written at offset 0', async () => {
  const dir = tempDir();
  try {
    const fd = dir.open('f', 'w+');
    const buf = Buffer.from('abc');
    await assert.rejects(writev(fd, [buf], 2n ** 64n), RANGE);
    await assert.rejects(write(fd, buf, { position: 2n ** 64n }), RANGE);
    await assert.rejects(write(fd, buf, { position: 2n ** 63n }), RANGE, 'past the signed loff_t');
    await assert.rejects(read(fd, buf, { position: 2n ** 64n + 1n }), RANGE);
    await assert.rejects(readv(fd, [buf], 2n ** 64n), RANGE);
    await assert.rejects(
      write(fd, buf, { position: 2 ** 53 + 2 }),
      RANGE,
      'a number past 2 ** 53 is not the integer written',
    );
    await assert.rejects(write(fd, buf, { position: -2n }), RANGE);
    assert.equal(fstatSync(fd).size, 0, 'nothing was written');
    // What fits still works.
    assert.equal(await writev(fd, [buf], 2n), 3);
    assert.equal(readFileSync(dir.file('f'), 'latin1'), '\0\0abc');
  } finally {
    dir.remove();
  }
});

test('ftruncate and fallocate: 2n ** 64n + 5n is out of range, not 5', async () => {
  const dir = tempDir();
  try {
    const fd = dir.open('f', 'w+');
    await write(fd, Buffer.alloc(100));
    await assert.rejects(ftruncate(fd, 2n ** 64n + 5n), RANGE);
    await assert.rejects(ftruncate(fd, -1), RANGE);
    await assert.rejects(ftruncate(fd, 2 ** 64), RANGE);
    await assert.rejects(fallocate(fd, 0, 2n ** 64n + 5n), RANGE);
    await assert.rejects(fallocate(fd, 2n ** 64n, 1), RANGE);
    assert.equal(fstatSync(fd).size, 100, 'the file kept its size');
    await ftruncate(fd, 5n);
    assert.equal(fstatSync(fd).size, 5);
  } finally {
    dir.remove();
  }
});

test('FileHandle positions past 2n ** 63n - 1n are ERR_OUT_OF_RANGE (drop-in)', async () => {
  const dir = tempDir();
  try {
    const fh = await open(dir.file('f'), 'w+');
    try {
      const buf = Buffer.from('x');
      await assert.rejects(fh.write(buf, 0, 1, 2n ** 64n), RANGE);
      await assert.rejects(fh.read(Buffer.alloc(1), 0, 1, 2n ** 63n), RANGE);
      await assert.rejects(fh.writev([buf], 2n ** 64n), RANGE);
      await assert.rejects(fh.readv([buf], 2n ** 64n + 5n), RANGE);
      assert.equal((await fh.stat()).size, 0);
      // As node:fs/promises: truncate takes numbers only.
      await assert.rejects(fh.truncate((2n ** 64n + 5n) as unknown as number), { code: 'ERR_INVALID_ARG_TYPE' });
    } finally {
      await fh.close();
    }
    await assert.rejects(fsp.truncate(dir.file('f'), (2n ** 64n) as unknown as number), {
      code: 'ERR_INVALID_ARG_TYPE',
    });
  } finally {
    dir.remove();
  }
});

test('Sqe fields refuse what does not fit them, and keep what does', () => {
  const ring = new Ring(4);
  try {
    const sqe = ring.getSqe()!;
    for (const field of ['off', 'addr', 'addr3', 'userData'] as const) {
      assert.throws(() => (sqe[field] = 2n ** 64n), RANGE, field);
      assert.throws(() => (sqe[field] = -(2n ** 63n) - 1n), RANGE, field);
      assert.throws(() => (sqe[field] = 2 ** 64), RANGE, field);
      assert.throws(() => (sqe[field] = 1.5), RANGE, field);
      assert.throws(() => (sqe[field] = '1' as unknown as number), { code: 'ERR_INVALID_ARG_TYPE' }, field);
      sqe[field] = 2n ** 64n - 1n;
      assert.equal(sqe[field], 2n ** 64n - 1n, field);
      sqe[field] = -1; // two's complement: all ones
      assert.equal(sqe[field], 2n ** 64n - 1n, field);
      sqe[field] = 2 ** 53 - 1;
      assert.equal(sqe[field], 2n ** 53n - 1n, field);
    }
    assert.throws(() => sqe.prepRw(0, 0, 0, 0, 2n ** 64n), RANGE, 'off through prepRw');
    assert.throws(() => sqe.prepRw(0, 0, 2n ** 64n + 5n, 0, 0), RANGE, 'addr through prepRw');
    assert.throws(() => sqe.prepRw(0, 0, 0, 2 ** 32, 0), RANGE, 'len is 32 bits');
    assert.throws(() => sqe.prepRw(256, 0, 0, 0, 0), RANGE, 'the opcode is 8 bits');
    assert.throws(() => sqe.prepRw(0, 2 ** 31, 0, 0, 0), RANGE, 'fd is an i32');
    assert.throws(() => sqe.prepOpenat(AT_FDCWD, '/x', 2 ** 32), RANGE, 'open flags 2 ** 32 are not O_RDONLY');
    assert.throws(() => sqe.prepFtruncate(3, 2n ** 64n + 5n), RANGE);
    assert.throws(() => sqe.prepFallocate(3, 0, 0, 2n ** 64n), RANGE);
    assert.throws(() => sqe.prepTimeout(new Timespec(1), 2 ** 64), RANGE);
    assert.throws(() => sqe.prepCancel64(2n ** 64n), RANGE);
    assert.throws(() => sqe.prepMsgRing(3, 0, 2n ** 64n), RANGE);
    assert.throws(() => sqe.prepFutexWait(new Uint32Array(1), 2n ** 64n, 0n, 2), RANGE);
    assert.throws(() => sqe.setUserData(-1), RANGE);
    assert.throws(() => (sqe.len = 2 ** 32), RANGE);
    assert.throws(() => (sqe.bufIndex = 65536), RANGE);
    assert.throws(() => (sqe.flags = 256), RANGE);
    assert.throws(() => (sqe.opFlags = 1n as unknown as number), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => (sqe.fileIndex = Symbol('x') as unknown as number), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => Timespec.of(2n ** 64n), RANGE);
    assert.throws(() => writeU64(new Uint32Array(2), 0, 2n ** 64n), RANGE);
    assert.throws(() => writeU64(new Uint32Array(2), 1, 0), RANGE, 'the word pair must lie inside the array');
  } finally {
    ring.close();
  }
});

test('openat: flags and mode must fit their 32-bit fields', async () => {
  await assert.rejects(openat('/nonexistent', 2 ** 32), RANGE);
  await assert.rejects(openat('/nonexistent', 0, 2 ** 32), RANGE);
  await assert.rejects(openat('/nonexistent', 1n as unknown as number), { code: 'ERR_INVALID_ARG_TYPE' });
});

test('readv/writev: a sparse buffers array is refused at its hole, never read as an empty iovec', async () => {
  const { readv, writev } = await import('../../src/ops/index.js');
  const { Iovecs } = await import('../../src/ring/structs.js');
  // eslint-disable-next-line no-sparse-arrays
  const holes = [Buffer.alloc(4), , Buffer.alloc(4)] as Buffer[];
  assert.throws(() => new Iovecs(holes), { code: 'ERR_INVALID_ARG_TYPE', message: /buffers\[1\]/ });
  await assert.rejects(readv(0, holes, 0), { code: 'ERR_INVALID_ARG_TYPE', message: /buffers\[1\]/ });
  await assert.rejects(writev(1, new Array(2) as Buffer[], 0), {
    code: 'ERR_INVALID_ARG_TYPE',
    message: /buffers\[0\]/,
  });
});
