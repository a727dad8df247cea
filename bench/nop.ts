// NOPs through uring's TypeScript ring against the C reference on raw system
// calls (bench/c/nop.c), in one run: for each batch size the two alternate in
// short slices, pinned to the same core, 5 times. Prints median / min / max
// ops/s and the ratio TypeScript / C (median of the per-pair ratios).
//
//   node dist/bench/nop.js [--slice-ms 500] [--reps 5] [--cpu 1] [--json out.json]
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Ring } from '../src/ring/index.js';
import { buildC } from './lib/harness.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const SLICE_MS = opt('slice-ms', 500);
const REPS = opt('reps', 5);
const CPU = opt('cpu', 1);
const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;

const hasTaskset = spawnSync('taskset', ['-c', String(CPU), 'true']).status === 0;

/** One C slice in a child pinned to CPU: ops/s. */
function cSlice(batch: number): number {
  const cmd = hasTaskset ? 'taskset' : bin;
  const argv = hasTaskset
    ? ['-c', String(CPU), bin, String(batch), String(SLICE_MS)]
    : [String(batch), String(SLICE_MS)];
  const out = execFileSync(cmd, argv, { encoding: 'utf8' }).trim().split(/\s+/);
  return Number(out[0]) / Number(out[1]);
}

/** One TypeScript slice: the same loop through Ring. */
function tsSlice(ring: Ring, batch: number): number {
  const noop = () => {};
  let ops = 0;
  const start = performance.now();
  const end = start + SLICE_MS;
  while (performance.now() < end) {
    for (let r = 0; r < 64; r++) {
      for (let i = 0; i < batch; i++) ring.getSqe()!.prepNop().setUserData(i);
      ring.submit(batch);
      ops += ring.forEachCqe(noop);
    }
  }
  return ops / ((performance.now() - start) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (v: number) => `${(v / 1e6).toFixed(2)} M/s`;

const bin = buildC('nop');
if (hasTaskset) {
  // Pin this process too, so both variants run on the same core.
  spawnSync('taskset', ['-pc', String(CPU), String(process.pid)]);
}
const ring = new Ring(256, { cqEntries: 512 });
tsSlice(ring, 32); // warm the JIT
console.log(
  `NOPs: uring's TypeScript ring vs C on raw syscalls; ${REPS} x ${SLICE_MS} ms slices, alternating, ${hasTaskset ? `both on CPU ${CPU}` : 'unpinned'}; node ${process.version}`,
);
console.log('batch | TypeScript median (min-max)       | C median (min-max)                 | TS/C');
const results = [];
for (const batch of [1, 32, 256]) {
  const ts: number[] = [],
    c: number[] = [],
    ratios: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    const a = cSlice(batch);
    const b = tsSlice(ring, batch);
    c.push(a);
    ts.push(b);
    ratios.push(b / a);
  }
  const row = {
    batch,
    ts: { median: median(ts), min: Math.min(...ts), max: Math.max(...ts) },
    c: { median: median(c), min: Math.min(...c), max: Math.max(...c) },
    ratio: median(ratios),
  };
  results.push(row);
  console.log(
    `${String(batch).padStart(5)} | ${fmt(row.ts.median)} (${fmt(row.ts.min)}-${fmt(row.ts.max)}) | ${fmt(row.c.median)} (${fmt(row.c.min)}-${fmt(row.c.max)}) | ${row.ratio.toFixed(2)}`,
  );
}
ring.close();
if (jsonOut)
  writeFileSync(jsonOut, JSON.stringify({ node: process.version, sliceMs: SLICE_MS, reps: REPS, results }, null, 2));
