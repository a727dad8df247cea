// read / write / readv / writev on a regular file: explicit offsets, and
// offset -1 (the file position, which the op advances).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Ring, Iovecs } from '../../src/ring/index.js';
import { tempDir } from '../helpers/tmp.js';
import { reap, sqe } from '../helpers/ring.js';

function setup(t: { after(fn: () => void): void }) {
  const ring = new Ring(16);
  const dir = tempDir();
  t.after(() => {
    ring.close();
    dir.remove();
  });
  return { ring, dir };
}

test('write at offsets, read back byte for byte', (t) => {
  const { ring, dir } = setup(t);
  const fd = dir.open('data', 'w+');
  const a = randomBytes(4096);
  const b = randomBytes(1000);
  sqe(ring).prepWrite(fd, a, a.length, 0).setUserData(1);
  sqe(ring).prepWrite(fd, b, b.length, 10_000).setUserData(2);
  ring.submit();
  const w = reap(ring, 2);
  for (const c of w) assert.equal(c.res, c.userDataNumber === 1 ? 4096 : 1000);

  const onDisk = readFileSync(dir.file('data'));
  assert.equal(onDisk.length, 11_000);
  assert.deepEqual(onDisk.subarray(0, 4096), a);
  assert.ok(
    onDisk.subarray(4096, 10_000).every((x) => x === 0),
    'the hole reads as zeroes',
  );
  assert.deepEqual(onDisk.subarray(10_000), b);

  // Read a range that straddles both writes, into the middle of a larger buffer.
  const out = Buffer.alloc(8192, 0xee);
  const view = out.subarray(100, 100 + 6500);
  sqe(ring).prepRead(fd, view, undefined, 4000).setUserData(3);
  ring.submit();
  const [r] = reap(ring, 1);
  assert.equal(r!.res, 6500);
  assert.deepEqual(view, onDisk.subarray(4000, 10_500));
  assert.ok(
    out.subarray(0, 100).every((x) => x === 0xee),
    'no byte written before the view',
  );
  assert.ok(
    out.subarray(6600).every((x) => x === 0xee),
    'no byte written after the view',
  );

  // nbytes shorter than the buffer; and a read past EOF is short.
  const small = Buffer.alloc(64, 0xee);
  sqe(ring).prepRead(fd, small, 10, 5).setUserData(4);
  sqe(ring).prepRead(fd, Buffer.alloc(100), 100, 10_950).setUserData(5);
  ring.submit();
  const rs = new Map(reap(ring, 2).map((c) => [c.userDataNumber, c.res]));
  assert.equal(rs.get(4), 10);
  assert.deepEqual(small.subarray(0, 10), a.subarray(5, 15));
  assert.ok(small.subarray(10).every((x) => x === 0xee));
  assert.equal(rs.get(5), 50);
});

test('offset -1 uses and advances the file position', (t) => {
  const { ring, dir } = setup(t);
  const fd = dir.open('pos', 'w+');
  // Two writes at the file position: the second lands after the first.
  // (Linked, so they run in order even if one went async.)
  sqe(ring).prepWrite(fd, Buffer.from('hello'), undefined, -1).setUserData(1).addFlags(4 /* IOSQE_IO_LINK */);
  sqe(ring).prepWrite(fd, Buffer.from(' world'), undefined, -1).setUserData(2);
  ring.submit();
  assert.deepEqual(
    reap(ring, 2)
      .map((c) => c.res)
      .sort(),
    [5, 6],
  );
  assert.equal(readFileSync(dir.file('pos'), 'utf8'), 'hello world');

  // A new fd starts at position 0: consecutive reads at -1 walk the file.
  const rfd = dir.open('pos', 'r');
  const parts: string[] = [];
  for (const n of [5, 1, 5, 5]) {
    const buf = Buffer.alloc(n);
    sqe(ring).prepRead(rfd, buf, n, -1);
    ring.submit();
    const [c] = reap(ring, 1);
    parts.push(buf.subarray(0, c!.res).toString());
  }
  assert.deepEqual(parts, ['hello', ' ', 'world', '']);

  // The default offset is -1 too.
  const wfd = dir.open('default', 'w+');
  sqe(ring).prepWrite(wfd, Buffer.from('abc'));
  ring.submit();
  reap(ring, 1);
  sqe(ring).prepWrite(wfd, Buffer.from('def'));
  ring.submit();
  reap(ring, 1);
  assert.equal(readFileSync(dir.file('default'), 'utf8'), 'abcdef');
});

test('writev gathers and readv scatters, with offsets', (t) => {
  const { ring, dir } = setup(t);
  const fd = dir.open('vec', 'w+');
  const parts = [randomBytes(100), randomBytes(4096), randomBytes(1), randomBytes(7000)];
  const total = parts.reduce((n, p) => n + p.length, 0);
  const wv = new Iovecs(parts);
  assert.equal(wv.length, 4);
  sqe(ring).prepWritev(fd, wv, 512);
  ring.submit();
  assert.equal(reap(ring, 1)[0]!.res, total);
  const expected = Buffer.concat(parts);
  const onDisk = readFileSync(dir.file('vec'));
  assert.equal(onDisk.length, 512 + total);
  assert.deepEqual(onDisk.subarray(512), expected);

  // Scatter into three buffers of other sizes (a Uint16Array among them).
  const r1 = Buffer.alloc(3000);
  const r2 = new Uint16Array(1000); // 2000 bytes
  const r3 = Buffer.alloc(total - 5000 + 10); // 10 bytes more than is left
  sqe(ring).prepReadv(fd, new Iovecs([r1, r2, r3]), 512);
  ring.submit();
  assert.equal(reap(ring, 1)[0]!.res, total);
  const got = Buffer.concat([r1, Buffer.from(r2.buffer, r2.byteOffset, r2.byteLength), r3.subarray(0, total - 5000)]);
  assert.deepEqual(got, expected);

  // readv / writev at the file position (-1).
  const pfd = dir.open('vecpos', 'w+');
  sqe(ring).prepWritev(pfd, new Iovecs([Buffer.from('ab'), Buffer.from('cd')]), -1);
  ring.submit();
  reap(ring, 1);
  sqe(ring).prepWritev(pfd, new Iovecs([Buffer.from('ef')]));
  ring.submit();
  reap(ring, 1);
  assert.equal(readFileSync(dir.file('vecpos'), 'utf8'), 'abcdef');
  const rfd = dir.open('vecpos', 'r');
  const x = Buffer.alloc(2),
    y = Buffer.alloc(2);
  sqe(ring).prepReadv(rfd, new Iovecs([x]), -1);
  ring.submit();
  reap(ring, 1);
  sqe(ring).prepReadv(rfd, new Iovecs([y]), -1);
  ring.submit();
  reap(ring, 1);
  assert.equal(`${x}${y}`, 'abcd');
});

test('a read on a bad fd completes with -EBADF', (t) => {
  const { ring } = setup(t);
  sqe(ring).prepRead(1_000_000, Buffer.alloc(8), 8, 0);
  ring.submit();
  assert.equal(reap(ring, 1)[0]!.res, -9);
});

test('large offsets (above 2^32) as number and bigint', (t) => {
  const { ring, dir } = setup(t);
  const fd = dir.open('sparse', 'w+');
  const data = Buffer.from('far away');
  const off = 2 ** 32 + 12345;
  sqe(ring).prepWrite(fd, data, undefined, off);
  ring.submit();
  assert.equal(reap(ring, 1)[0]!.res, data.length);
  const back = Buffer.alloc(data.length);
  sqe(ring).prepRead(fd, back, undefined, BigInt(off));
  ring.submit();
  assert.equal(reap(ring, 1)[0]!.res, data.length);
  assert.deepEqual(back, data);
});
