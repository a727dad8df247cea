// Buffers whose only reference is the op: the op (and so the runtime) must
// keep them alive, and where they are, until the kernel is done with them.
// Small typed arrays (<= 64 bytes) start on V8's heap, where a GC may move
// them; the address the kernel was given must stay theirs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync, writeSync } from 'node:fs';
import { type Runtime, read, readOp, type ReadOp } from '../../src/index.js';
import { tempDir } from '../helpers/tmp.js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { drained, fifo } from './util.js';
import { quietFor, waitFor, within } from '../helpers/wait.js';
import { forEachSetup } from '../helpers/runtimes.js';

const FILE_SIZE = 64 * 1024;
const READS = 100_000;
const GC_EVERY = 100;
const FULL_GC_EVERY = 2000; // a full GC costs ~10 ms; a scavenge (which moves young objects) 0.05 ms

// V8's gc(), as --expose-gc gives it, with its options: { type: 'minor' } scavenges.
setFlagsFromString('--expose-gc');
const v8gc = runInNewContext('gc') as (options?: { type: 'minor' | 'major' }) => void;
const gc = (i: number) => v8gc(i % FULL_GC_EVERY === 0 ? undefined : { type: 'minor' });

/** A view of `size` bytes in a buffer only the op will hold (made and dropped here). */
function freshView(kind: number, size: number): ArrayBufferView {
  switch (kind) {
    case 0:
      return new Uint8Array(size); // on V8's heap when small
    case 1:
      return Buffer.allocUnsafeSlow(size);
    case 2:
      return new DataView(new ArrayBuffer(size));
    case 3: {
      // A window into a bigger buffer: the op must keep the whole buffer.
      const big = new Uint8Array(size + 32);
      return big.subarray(16, 16 + size);
    }
    default:
      return new Uint16Array(new ArrayBuffer(size + (size & 1))).subarray(0, size >> 1 || 1);
  }
}

function sizeFor(i: number, rnd: () => number): number {
  // Half small (1..64 bytes), the rest up to 4 KiB.
  return i % 2 === 0 ? 1 + Math.floor(rnd() * 64) : 65 + Math.floor(rnd() * 4032);
}

function start(fd: number, rt: Runtime, i: number, rnd: () => number): { op: ReadOp; position: number } {
  const view = freshView(i % 5, sizeFor(i, rnd));
  const position = Math.floor(rnd() * (FILE_SIZE - view.byteLength + 1));
  return { op: readOp(fd, view, { position, runtime: rt }), position };
}

forEachSetup((s) => {
  const N = s.count(READS);
  test(`${N} reads into buffers only the op holds, with a GC every ${GC_EVERY}`, async (t) => {
    const dir = tempDir('uring-gc-');
    const pattern = new Uint8Array(FILE_SIZE);
    for (let i = 0; i < FILE_SIZE; i++) pattern[i] = i & 255;
    const path = dir.write('pattern', pattern);
    const fd = openSync(path, 'r');
    const rt = s.runtime();
    t.after(async () => {
      await rt.close();
      closeSync(fd);
      dir.remove();
    });

    let seed = 0x2545f491;
    const rnd = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 4294967296;
    };

    let corrupted = 0;
    let short = 0;
    let small = 0;
    const first: string[] = [];
    const t0 = performance.now();
    for (let base = 0; base < N; base += GC_EVERY) {
      const batch: { op: ReadOp; position: number }[] = [];
      for (let i = base; i < base + GC_EVERY; i++) {
        batch.push(start(fd, rt, i, rnd));
        // GCs at different points of the ops' lives: SQE written but not yet
        // submitted (the flush runs at the end of the turn), and in flight.
        if (i === base + GC_EVERY / 2) gc(i);
      }
      gc(base);
      if ((base / GC_EVERY) % 4 === 0) {
        await new Promise((r) => setImmediate(r));
        gc(base + 1);
      }
      const results = await within(Promise.all(batch.map((b) => b.op.promise)), 10_000, `batch at ${base}`);
      for (let j = 0; j < batch.length; j++) {
        const { op, position } = batch[j]!;
        const n = results[j]!;
        const view = op.view; // the bytes the kernel was told to fill
        if (view.byteLength <= 64) small++;
        if (n !== view.byteLength) short++;
        // The view is a window on the buffer the caller passed (op.keep).
        assert.equal(view.buffer, op.keep.buffer);
        for (let k = 0; k < n; k++) {
          if (view[k] !== ((position + k) & 255)) {
            corrupted++;
            if (first.length < 5)
              first.push(
                `read #${base + j} (${view.byteLength} bytes at ${position}): byte ${k} is ${view[k]}, want ${(position + k) & 255}`,
              );
            break;
          }
        }
      }
    }
    const dt = performance.now() - t0;
    await drained(rt);
    t.diagnostic(
      `${N} reads (${small} of <= 64 bytes) in ${dt.toFixed(0)} ms, a GC every ${GC_EVERY} (${N / FULL_GC_EVERY} of them full): ${corrupted} corrupted, ${short} short`,
    );
    assert.deepEqual(first, []);
    assert.equal(corrupted, 0);
    assert.equal(short, 0);
    assert.ok(small > N / 3);
  });

  test("the runtime holds a pending read's buffer (the caller holds only the promise), and lets it go after", async (t) => {
    const dir = tempDir('uring-gc-');
    const pipe = fifo(dir.file('fifo'));
    const rt = s.runtime();
    t.after(async () => {
      await rt.close();
      pipe.close();
      dir.remove();
    });
    const COUNT = 100;
    let finalized = 0;
    const registry = new FinalizationRegistry<number>(() => finalized++);
    let promises: Promise<number>[] | undefined = [];
    for (let i = 0; i < COUNT; i++) {
      const buf = new Uint8Array(16);
      registry.register(buf, i);
      promises.push(read(pipe.fd, buf, { runtime: rt }));
    }
    // Collections while the reads wait: nothing the kernel may write into goes.
    for (let i = 0; i < 3; i++) {
      v8gc();
      await quietFor(5);
    }
    assert.equal(finalized, 0, 'a buffer the kernel may still write into was collected');
    assert.equal(writeSync(pipe.fd, Buffer.alloc(COUNT * 16, 1)), COUNT * 16);
    const got = await within(Promise.all(promises), 5000, 'pipe reads');
    assert.equal(
      got.reduce((a, b) => a + b, 0),
      COUNT * 16,
    );
    promises = undefined;
    await drained(rt);
    await waitFor(
      () => {
        v8gc();
        return finalized >= COUNT * 0.9;
      },
      { timeout: 5000, what: () => `the buffers to be collected after their last CQE (${finalized} of ${COUNT})` },
    );
  });
});
