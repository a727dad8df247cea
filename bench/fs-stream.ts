// Copying a file through streams, as a node:fs user does:
//
//   await pipeline(createReadStream(src, { highWaterMark }), createWriteStream(dest, { highWaterMark }))
//
// with uring/fs's streams and with node:fs's, in the same process, for
// several highWaterMarks, on a tmpfs (both files in memory, so what is
// measured is the streams' own cost: per-chunk overhead, and how much of
// the reading and writing overlaps). Also a read-only pass (the same read
// stream drained into nothing), which shows the read side alone; and a
// 4 KiB file copied the same way `--small N` times in turn (default 500;
// 0 leaves it out), where what is measured is a stream's set-up and
// teardown: opens, stats, closes.
//
// One process; the variants rotate within each repetition, the destination
// is unlinked right before each copy. Wall time, and the process's CPU time
// (process.cpuUsage: every thread, so libuv's pool and io_uring's io-wq
// workers count too). Median / min / max; 'speed vs node' is the median of
// the per-repetition ratios node ms / uring ms.
//
//   node dist/bench/fs-stream.js [--dir /dev/shm/uring-stream] [--size-mb 1024] [--hwm 16,64,1024] [--reps 5]
//     [--read-only] [--small 500] [--json out.json]
import { existsSync, unlinkSync, writeFileSync } from 'node:fs';
import * as nodeFs from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as uringFs from '../src/fs/index.js';
import { getRuntime } from '../src/runtime/index.js';
import { ensureFile, machine, median, num, options, rotated, table } from './fs-common.js';

const opts = options();
const DIR = opts.get('dir') ?? '/dev/shm/uring-stream';
const SRC = `${DIR}/src`;
const DEST = `${DIR}/dest`;
const SMALL = `${DIR}/small`;

type Fs = Pick<typeof nodeFs, 'createReadStream' | 'createWriteStream'>;

interface Variant {
  name: string;
  hwm: number;
  impl: 'uring' | 'node';
  kind: 'copy' | 'read' | 'small';
  run(): Promise<void>;
}

function copy(fs: Fs, hwm: number, src = SRC): Promise<void> {
  return pipeline(fs.createReadStream(src, { highWaterMark: hwm }), fs.createWriteStream(DEST, { highWaterMark: hwm }));
}

async function copySmall(fs: Fs, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await copy(fs, 64 * 1024, SMALL);
}

function drain(fs: Fs, hwm: number): Promise<void> {
  const sink = new Writable({
    highWaterMark: hwm,
    write(_chunk, _enc, cb) {
      cb();
    },
  });
  return pipeline(fs.createReadStream(SRC, { highWaterMark: hwm }), sink);
}

async function main(): Promise<void> {
  const reps = num(opts, 'reps', 5);
  const sizeMb = num(opts, 'size-mb', 1024);
  const hwms = (opts.get('hwm') ?? '16,64,1024').split(',').map((k) => Number(k) * 1024);
  const kinds: ('copy' | 'read')[] = opts.has('read-only') ? ['copy', 'read'] : ['copy'];
  ensureFile(SRC, sizeMb << 20);
  const small = num(opts, 'small', 500);
  if (!existsSync(SMALL)) writeFileSync(SMALL, Buffer.alloc(4096, 'x'));
  const list: Variant[] = [];
  for (const kind of kinds)
    for (const hwm of hwms)
      for (const impl of ['uring', 'node'] as const) {
        const fs = impl === 'uring' ? (uringFs as unknown as Fs) : nodeFs;
        list.push({
          name: `${kind} hwm ${hwm >> 10} KiB ${impl}`,
          hwm,
          impl,
          kind,
          run: kind === 'copy' ? () => copy(fs, hwm) : () => drain(fs, hwm),
        });
      }
  if (small > 0)
    for (const impl of ['uring', 'node'] as const) {
      const fs = impl === 'uring' ? (uringFs as unknown as Fs) : nodeFs;
      list.push({
        name: `small 4 KiB x${small} ${impl}`,
        hwm: 0,
        impl,
        kind: 'small',
        run: () => copySmall(fs, small),
      });
    }
  const ms = new Map<string, number[]>(list.map((v) => [v.name, []]));
  const cpu = new Map<string, number[]>(list.map((v) => [v.name, []]));
  const started = Date.now();
  // Warm both implementations (JIT, the ring, libuv's pool) on a small copy.
  for (const v of list) if (v.kind !== 'read') await v.run().then(() => unlinkSync(DEST));
  for (let rep = 0; rep < reps; rep++) {
    for (const v of rotated(list, rep)) {
      if (existsSync(DEST)) unlinkSync(DEST);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await v.run();
      ms.get(v.name)!.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.get(v.name)!.push((c.user + c.system) / 1000);
    }
  }
  if (existsSync(DEST)) unlinkSync(DEST);
  await getRuntime().close();
  const m = machine();
  const gib = sizeMb / 1024;
  console.log(
    `Streams over a ${sizeMb} MiB file on ${DIR}; node ${m.node}, Linux ${m.kernel}, ${m.cpu}, ${m.cores} cores, load ${m.load}`,
  );
  console.log(
    `one process, unpinned; ${reps} repetitions, variants rotated; total ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  const rows = [['variant', 'ms median', 'min', 'max', 'GiB/s', 'CPU ms', 'speed vs node', 'CPU vs node']];
  const results: Record<string, unknown> = {};
  for (const v of list) {
    const xs = ms.get(v.name)!;
    const cs = cpu.get(v.name)!;
    const base = list.find((b) => b.kind === v.kind && b.hwm === v.hwm && b.impl === 'node')!;
    const speed = median(xs.map((x, i) => ms.get(base.name)![i]! / x));
    const cpuRatio = median(cs.map((x, i) => cpu.get(base.name)![i]! / x));
    rows.push([
      v.name,
      median(xs).toFixed(0),
      Math.min(...xs).toFixed(0),
      Math.max(...xs).toFixed(0),
      v.kind === 'small' ? '' : (gib / (median(xs) / 1000)).toFixed(2),
      median(cs).toFixed(0),
      speed.toFixed(2),
      cpuRatio.toFixed(2),
    ]);
    results[v.name] = {
      kind: v.kind,
      hwm: v.hwm,
      impl: v.impl,
      median: median(xs),
      min: Math.min(...xs),
      max: Math.max(...xs),
      cpuMedian: median(cs),
      speedVsNode: speed,
      cpuVsNode: cpuRatio,
      values: xs,
      cpu: cs,
    };
  }
  console.log(table(rows));
  const json = opts.get('json');
  if (json) writeFileSync(json, JSON.stringify({ machine: m, dir: DIR, sizeMb, reps, results }, null, 2));
}

await main();
