// Awaited NOPs through the runtime (a Promise per op, flushed once per turn)
// against the raw ring doing the same batches synchronously, in one run,
// interleaved in short slices. Prints median / min / max of 5 and the ratio.
//
//   node dist/bench/runtime.js [--slice-ms 400] [--reps 5] [--json out.json]
import { writeFileSync } from 'node:fs';
import { Ring } from '../src/ring/index.js';
import { Runtime } from '../src/runtime/index.js';
import { nop } from '../src/ops/index.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const SLICE_MS = opt('slice-ms', 400);
const REPS = opt('reps', 5);
const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;

/** Raw ring: fill `batch` SQEs, submit and wait for them, drain. */
function ringSlice(ring: Ring, batch: number, ms: number): number {
  let ops = 0;
  const noop = () => {};
  const end = performance.now() + ms;
  while (performance.now() < end) {
    for (let r = 0; r < 64; r++) {
      for (let i = 0; i < batch; i++) ring.getSqe()!.prepNop().setUserData(i);
      ring.submit(batch);
      ops += ring.forEachCqe(noop);
    }
  }
  return ops;
}

/** Runtime: `inflight` async workers, each awaiting one nop after another. */
async function runtimeSlice(rt: Runtime, inflight: number, ms: number): Promise<number> {
  let ops = 0;
  const end = performance.now() + ms;
  const opts = { runtime: rt };
  const worker = async () => {
    while (performance.now() < end) {
      for (let i = 0; i < 64; i++) await nop(opts);
      ops += 64;
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  return ops;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (v: number) => `${(v / 1e6).toFixed(2)} M/s`;

const results: Record<string, unknown>[] = [];
const ring = new Ring(256, { cqEntries: 512 });
const rt = new Runtime({ entries: 256 });
// Warm the JIT on both paths.
ringSlice(ring, 32, 200);
await runtimeSlice(rt, 32, 200);

console.log(
  `awaited NOPs (runtime) vs the raw ring, ${REPS} x ${SLICE_MS} ms slices, interleaved; node ${process.version}`,
);
console.log('in flight | runtime median (min-max)        | raw ring median (min-max)       | ratio (median of pairs)');
for (const n of [1, 32, 256]) {
  const rr: number[] = [],
    rw: number[] = [],
    ratios: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    const a = (ringSlice(ring, n, SLICE_MS) * 1000) / SLICE_MS;
    const b = ((await runtimeSlice(rt, n, SLICE_MS)) * 1000) / SLICE_MS;
    rw.push(a);
    rr.push(b);
    ratios.push(b / a);
  }
  const row = {
    inflight: n,
    runtime: { median: median(rr), min: Math.min(...rr), max: Math.max(...rr) },
    ring: { median: median(rw), min: Math.min(...rw), max: Math.max(...rw) },
    ratio: median(ratios),
  };
  results.push(row);
  console.log(
    `${String(n).padStart(9)} | ${fmt(row.runtime.median)} (${fmt(row.runtime.min)}-${fmt(row.runtime.max)}) | ${fmt(row.ring.median)} (${fmt(row.ring.min)}-${fmt(row.ring.max)}) | ${row.ratio.toFixed(2)}`,
  );
}
ring.close();
await rt.close();
if (jsonOut)
  writeFileSync(jsonOut, JSON.stringify({ node: process.version, sliceMs: SLICE_MS, reps: REPS, results }, null, 2));
