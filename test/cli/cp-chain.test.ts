// CopyChainOp, the small-file path of `uring cp`, on its own: what each
// outcome reports, with and without IOSQE_CQE_SKIP_SUCCESS on the opens and
// the read (where a chain posts fewer CQEs, and which come depends on where
// it fails: a wrong count would leave the op waiting forever, or settle it
// with a CQE still to come).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { getRuntime } from '../../src/runtime/index.js';
import { CopyChainOp, type CopyChainSink } from '../../src/ops/copy-chain.js';
import { CloseDirectOp } from '../../src/ops/close-direct.js';
import { directSlots } from '../../src/fs/direct.js';
import { native } from '../../src/native.js';
import { AT_FDCWD, IORING_FEAT_CQE_SKIP, IOSQE_CQE_SKIP_SUCCESS } from '../../src/ring/uapi.js';
import { tempDir } from '../helpers/tmp.js';

const ENOENT = -2;
const EEXIST = -17;
const ENOSPC = -28;

/** Copies `from` to `to` (whole paths) as one chain told the file has `size` bytes; the finished op. */
function copyChain(cqeSkip: number, from: string, to: string, size: number, excl = false): Promise<CopyChainOp> {
  const rt = getRuntime();
  const slots = directSlots(rt);
  const names = Buffer.from(`${from}\0${to}\0`);
  const lane = Buffer.alloc(Math.max(size, 1));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the chain never finished (a CQE count is wrong)')), 10_000);
    const sink: CopyChainSink = {
      cqeSkip,
      srcDirFd: AT_FDCWD,
      dstDirFd: AT_FDCWD,
      srcAddress: () => native().address(names),
      dstAddress: () => native().address(names) + Buffer.byteLength(from) + 1,
      laneAddress: () => native().address(lane),
      copyChainDone(op) {
        clearTimeout(timer);
        // The names and the lane stay referenced until here (this closure).
        void names;
        void lane;
        // A cut chain's opened slots are closed here, as the engine does, so the table stays clean.
        const frees: Promise<void>[] = [];
        for (const [slot, open] of [
          [op.srcSlot, op.cut && op.openSrcRes >= 0],
          [op.dstSlot, op.cut && op.openSrcRes >= 0 && op.openDstRes >= 0],
        ] as const) {
          if (!open) slots.release(slot);
          else frees.push(new Promise((r) => rt.submit(new CloseDirectOp(slot, () => (slots.release(slot), r())))));
        }
        void Promise.all(frees).then(() => resolve(op));
      },
    };
    rt.submit(new CopyChainOp(sink, 0, size, 0o644, excl, slots.alloc(), slots.alloc(), 0));
  });
}

const skips: [string, number][] = [['every CQE', 0]];
if (getRuntime().ring.features & IORING_FEAT_CQE_SKIP) skips.push(['CQE_SKIP_SUCCESS', IOSQE_CQE_SKIP_SUCCESS]);

for (const [name, skip] of skips) {
  test(`CopyChainOp (${name}): a copy, and each way it fails, with cp's outcomes`, async (t) => {
    const d = tempDir();
    t.after(() => d.remove());
    const data = randomBytes(5000);
    const src = d.write('src', data);

    const ok = await copyChain(skip, src, d.file('ok'), data.length);
    assert.equal(ok.lostError, undefined);
    assert.deepEqual([ok.openSrcRes, ok.openDstRes, ok.readRes, ok.writeRes, ok.cut], [0, 0, 5000, 5000, false]);
    assert.deepEqual([ok.closeSrcRes, ok.closeDstRes], [0, 0]);
    assert.ok(readFileSync(d.file('ok')).equals(data));

    const empty = await copyChain(skip, d.write('empty', ''), d.file('empty.copy'), 0);
    assert.deepEqual([empty.openSrcRes, empty.openDstRes, empty.cut], [0, 0, false]);
    assert.equal(statSync(d.file('empty.copy')).size, 0);

    // No source: nothing created.
    const missing = await copyChain(skip, d.file('missing'), d.file('missing.copy'), 10);
    assert.equal(missing.openSrcRes, ENOENT);
    assert.ok(missing.cut);
    assert.ok(!existsSync(d.file('missing.copy')));

    // The destination exists and -n (O_EXCL).
    const excl = await copyChain(skip, src, d.file('ok'), data.length, true);
    assert.deepEqual([excl.openSrcRes, excl.openDstRes, excl.cut], [0, EEXIST, true]);

    // The file is shorter than statx said: the short read cuts the chain before the write.
    const short = await copyChain(skip, src, d.file('short'), data.length + 100);
    assert.deepEqual([short.openSrcRes, short.openDstRes, short.readRes, short.cut], [0, 0, 5000, true]);
    assert.equal(statSync(d.file('short')).size, 0);

    // A write that fails (a full device): hard-linked, both closes still run.
    if (existsSync('/dev/full')) {
      const full = await copyChain(skip, src, '/dev/full', data.length);
      assert.deepEqual(
        [full.readRes, full.writeRes, full.closeSrcRes, full.closeDstRes, full.cut],
        [5000, ENOSPC, 0, 0, false],
      );
    }
  });
}
