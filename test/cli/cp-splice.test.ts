// CopySpliceOp, the large-file path of `uring cp`: pieces of a file moved
// through a pipe on the ring, checked byte for byte, and what its results
// say when the file is shorter than the chain expects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { getRuntime } from '../../src/runtime/index.js';
import { CopySpliceOp } from '../../src/ops/copy-splice.js';
import { pipe, spliceSupported } from '../../src/ops/splice.js';
import { native } from '../../src/native.js';
import { tempDir } from '../helpers/tmp.js';

const ECANCELED = -125;
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
