// CopySpliceOp, the large-file path of `uring cp`: pieces of a file moved
// through a pipe on the ring, checked byte for byte, and what its results
// say when the file is shorter than the chain expects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getRuntime } from '../../src/runtime/index.js';
import { CopySpliceOp } from '../../src/ops/copy-splice.js';
import { pipe, spliceSupported } from '../../src/ops/splice.js';
import { native } from '../../src/native.js';
import { tempDir } from '../helpers/tmp.js';

const ECANCELED = -125;
const bin = fileURLToPath(new URL('../../../bin/uring.js', import.meta.url));

function cp(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, 'cp', ...args], { timeout: 60_000 }, (err, _stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr });
    });
  });
}

/** GNU cp, if there is one here. */
const gnuCp = spawnSync('cp', ['--version'], { encoding: 'utf8' }).stdout?.includes('GNU') ?? false;
const F_GETPIPE_SZ = 1032;

function splice(
  src: number,
  dst: number,
  r: number,
  w: number,
  pos: number,
  len: number,
  pairs: number,
  end: number,
): Promise<CopySpliceOp> {
  return new Promise((resolve) => {
    getRuntime().submit(new CopySpliceOp({ copySpliceDone: resolve }, src, dst, r, w, pos, len, pairs, end, 0));
  });
}

test('CopySpliceOp copies pieces through a pipe; the last piece stops at the end; a short piece cancels the rest', async (t) => {
  if (!spliceSupported(getRuntime())) return t.skip('no IORING_OP_SPLICE and IORING_OP_PIPE here');
  const d = tempDir();
  t.after(() => d.remove());
  const [r, w] = await pipe();
  t.after(() => {
    native().closeFd(r);
    native().closeFd(w);
  });
  const len = native().fcntl(w, F_GETPIPE_SZ, 0);
  assert.ok(len >= 4096);
  const data = randomBytes(3 * len + 123);
  const src = openSync(d.write('src', data), 'r');
  const dst = openSync(d.file('dst'), 'w');
  t.after(() => {
    closeSync(src);
    closeSync(dst);
  });
  // Two pieces from `len` on, then the rest: 3 * len + 123 in all.
  const a = await splice(src, dst, r, w, len, len, 2, data.length);
  assert.equal(a.lostError, undefined);
  assert.deepEqual([...a.res], [len, len, len, len]);
  const b = await splice(src, dst, r, w, 0, len, 1, data.length);
  assert.deepEqual([...b.res], [len, len]);
  const c = await splice(src, dst, r, w, 3 * len, len, 1, data.length);
  assert.equal(c.pairLen(0), 123);
  assert.deepEqual([...c.res], [123, 123]);
  assert.ok(readFileSync(d.file('dst')).equals(data));

  // The file is shorter than the chain was told: the first short splice
  // into the pipe cancels the splice out of it and everything after.
  writeFileSync(d.file('short'), data.subarray(0, len + 10));
  const s = openSync(d.file('short'), 'r');
  t.after(() => closeSync(s));
  const e = await splice(s, dst, r, w, 0, len, 3, 3 * len);
  assert.deepEqual([...e.res], [len, len, 10, ECANCELED, ECANCELED, ECANCELED]);
  // The pipe holds the 10 bytes the cancelled splice did not move.
  assert.deepEqual(e.pairPos(1), len);
  assert.throws(() => new CopySpliceOp({ copySpliceDone() {} }, s, dst, r, w, 0, len, 2, len, 0), RangeError);
});

test('uring cp of a large sparse file keeps its holes, as GNU cp; onto a larger file, truncates it', async (t) => {
  const d = tempDir();
  t.after(() => d.remove());
  // 24 MiB: holes around two runs of data, and a hole at the end.
  const a = randomBytes(3 << 20);
  const b = randomBytes(5000);
  const src = d.file('sparse');
  const fd = openSync(src, 'w');
  writeSync(fd, a, 0, a.length, 4 << 20);
  writeSync(fd, b, 0, b.length, 16 << 20);
  closeSync(fd);
  truncateSync(src, 24 << 20);
  const srcBlocks = statSync(src).blocks;
  if (srcBlocks * 512 >= 20 << 20) return t.skip('this file system keeps no holes');
  // An existing destination larger than the source, with data where the source has holes.
  d.write('dst', randomBytes(30 << 20));
  const r = await cp([src, d.file('dst')]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(readFileSync(d.file('dst')).equals(readFileSync(src)));
  const got = statSync(d.file('dst'));
  assert.equal(got.size, 24 << 20);
  // The data's blocks (and a few more where the file system rounds up), not 24 MiB of zeros.
  assert.ok(got.blocks <= srcBlocks + 64, `${got.blocks} blocks copied for ${srcBlocks}`);
  if (gnuCp) {
    execFileSync('cp', [src, d.file('gnu')]);
    assert.ok(got.blocks <= statSync(d.file('gnu')).blocks + 64);
  }
  // All holes: the length, no data.
  truncateSync(d.write('holes', ''), 5 << 20);
  const h = await cp([d.file('holes'), d.file('holes-copy')]);
  assert.equal(h.code, 0, h.stderr);
  assert.equal(statSync(d.file('holes-copy')).size, 5 << 20);
  assert.ok(readFileSync(d.file('holes-copy')).equals(Buffer.alloc(5 << 20)));
});

test('uring cp onto a full file system: the message and exit status of GNU cp; the copy is a prefix', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to mount a tmpfs');
  const d = tempDir();
  const mnt = d.file('mnt');
  execFileSync('mkdir', [mnt]);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=12m', 'tmpfs', mnt], { stdio: 'ignore' });
  } catch {
    d.remove();
    return t.skip('mount -t tmpfs failed');
  }
  // Unmounted before the directory is removed (after hooks run in the order added).
  t.after(() => {
    execFileSync('umount', [mnt]);
    d.remove();
  });
  const data = randomBytes(20 << 20);
  const src = d.write('src', data);
  const r = await cp([src, `${mnt}/u`]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `uring cp: error writing '${mnt}/u': No space left on device\n`);
  // Whatever was written is the source's beginning, with no hole in it
  // (the pieces in flight past the failure are cut off, as a copy front
  // to back never wrote them).
  const got = readFileSync(`${mnt}/u`);
  assert.ok(got.length > 0 && got.length < data.length);
  assert.ok(got.equals(data.subarray(0, got.length)), 'the copy is not a prefix of the source');
  if (gnuCp) {
    const uSize = got.length;
    rmSync(`${mnt}/u`);
    const g = spawnSync('cp', [src, `${mnt}/g`], { encoding: 'utf8' });
    assert.equal(g.status, r.code);
    // GNU cp 9.x says "error copying A to B" where copy_file_range fails, "error writing B" where write does.
    assert.match(g.stderr, /^cp: error (writing|copying) .*No space left on device\n$/);
    assert.ok(uSize <= statSync(`${mnt}/g`).size);
  }
});
