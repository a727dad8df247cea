// Random 4 KiB reads from a 1 GiB file hot in the page cache, 32 in flight:
// uring against node:fs, node with libuv's io_uring, a readSync loop, fio's
// io_uring engine and a C program on raw io_uring system calls
// (bench/c/randread.c), in one run. Each slice is a fresh process pinned to
// one CPU that warms up and then counts reads; the variants alternate,
// 5 repetitions, the file re-read (and its residency checked with fincore)
// before every slice. Prints median / min / max reads/s and the median of
// the per-repetition ratios to C, then the same per CPU-second: on a shared
// machine the other tenants move wall-clock figures far more than the CPU
// time a read costs (each slice reports the CPU time of its counted part:
// node's process.cpuUsage, fio's usr/sys_cpu, /usr/bin/time for C).
//
//   node dist/bench/fs-read.js [--file /tmp/uring-bench/1g] [--size-mb 1024]
//     [--ms 1500] [--warm-ms 300] [--reps 5] [--depth 32] [--cpu 1] [--variants readMany,read()] [--json out.json]
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readSync, statSync, writeFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { openat, read, readMany } from '../src/ops/index.js';
import { open as uringOpen } from '../src/fs/index.js';
import { getRuntime } from '../src/runtime/index.js';
import {
  buildC,
  ensureFile,
  kfmt,
  machine,
  num,
  options,
  pinned,
  rotated,
  slice,
  summarize,
  table,
  timed,
  warmAndCheck,
} from './fs-common.js';

const BS = 4096;
const opts = options();
const FILE = opts.get('file') ?? '/tmp/uring-bench/1g';
const MS = num(opts, 'ms', 1500);
const WARM = num(opts, 'warm-ms', 300);
const DEPTH = num(opts, 'depth', 32);

interface SliceResult {
  ops: number;
  seconds: number;
  /** CPU seconds (user + system, all threads) of the counted part, where known. */
  cpu?: number;
}

// ------------------------------------------------------------------ children

/**
 * `depth` async workers, each awaiting one random read at a time, until the
 * time is up. The clock is read every 16 reads, not left to a timer: reads
 * that complete inside io_uring_enter can keep the runtime's flush loop in
 * nextTick/microtasks without ever reaching the event loop's timer phase.
 */
async function workers(depth: number, readAt: (buf: Buffer, pos: number) => Promise<unknown>): Promise<SliceResult> {
  const blocks = Math.floor(statSync(FILE).size / BS);
  let end = 0;
  let ops = 0;
  const run = async () => {
    const buf = Buffer.alloc(BS);
    while (performance.now() < end) {
      for (let i = 0; i < 16; i++) await readAt(buf, Math.floor(Math.random() * blocks) * BS);
      ops += 16;
    }
  };
  const go = async (ms: number) => {
    ops = 0;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    end = t0 + ms;
    await Promise.all(Array.from({ length: depth }, run));
    const c = process.cpuUsage(c0);
    return { ops, seconds: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 };
  };
  await go(WARM);
  return go(MS);
}

async function child(variant: string): Promise<SliceResult> {
  switch (variant) {
    case 'uring-read': {
      const fd = await openat(FILE, 0);
      const r = await workers(DEPTH, (buf, position) => read(fd, buf, { position }));
      await getRuntime().close();
      return r;
    }
    case 'uring-readmany': {
      // The same 32 reads in flight, one promise per batch of 32 (readMany)
      // instead of one per read: every completion of a batch is in before
      // the next batch goes out, as in the C loop, where all 32 complete
      // inside each io_uring_enter (the file is in the page cache).
      const fd = await openat(FILE, 0);
      const blocks = Math.floor(statSync(FILE).size / BS);
      const bufs = Array.from({ length: DEPTH }, () => Buffer.alloc(BS));
      const positions = new Float64Array(DEPTH);
      let ops = 0;
      const pass = async (ms: number) => {
        ops = 0;
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const end = t0 + ms;
        while (performance.now() < end) {
          for (let j = 0; j < 4; j++) {
            for (let i = 0; i < DEPTH; i++) positions[i] = Math.floor(Math.random() * blocks) * BS;
            await readMany(fd, bufs, positions);
          }
          ops += 4 * DEPTH;
        }
        const c = process.cpuUsage(c0);
        return { ops, seconds: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 };
      };
      await pass(WARM);
      const r = await pass(MS);
      await getRuntime().close();
      return r;
    }
    case 'uring-filehandle': {
      const fh = await uringOpen(FILE, 'r');
      const r = await workers(DEPTH, (buf, position) => fh.read(buf, 0, BS, position));
      await fh.close();
      await getRuntime().close();
      return r;
    }
    case 'node-filehandle': {
      // The same code runs with UV_USE_IO_URING=1 for the 'node-uv-uring' variant.
      const fh = await fsp.open(FILE, 'r');
      const r = await workers(DEPTH, (buf, position) => fh.read(buf, 0, BS, position));
      await fh.close();
      return r;
    }
    case 'node-readsync': {
      const fd = openSync(FILE, 'r');
      const blocks = Math.floor(statSync(FILE).size / BS);
      const buf = Buffer.alloc(BS);
      const c0 = process.cpuUsage();
      const r = await timed(
        () => {
          for (let i = 0; i < 256; i++) readSync(fd, buf, 0, BS, Math.floor(Math.random() * blocks) * BS);
          return 256;
        },
        WARM,
        MS,
      );
      const c = process.cpuUsage(c0);
      closeSync(fd);
      // A busy loop throughout: the counted part's share of the CPU time is its share of the time.
      return { ops: r.units, seconds: r.seconds, cpu: ((c.user + c.system) / 1e6) * (MS / (WARM + MS)) };
    }
    default:
      throw new Error(`unknown variant ${variant}`);
  }
}

// ------------------------------------------------------------------ parent

const self = fileURLToPath(import.meta.url);

const hasTime = spawnSync('/usr/bin/time', ['-f', '%U', 'true']).status === 0;

/**
 * A C slice, under /usr/bin/time when there is one for its CPU time. The
 * program is busy from start to end, so the counted part's share of the CPU
 * time is its share of the run (warm-up + measured).
 */
function cSlice(argv: string[], cpu: number): SliceResult {
  if (!hasTime) return slice<SliceResult>(argv, cpu);
  const [cmd, args] = pinned(cpu, ['/usr/bin/time', '-f', 'cpu %U %S', ...argv]);
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0)
    throw new Error(
      `${argv.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr.trim().split('\n').slice(-5).join(' | ')}`,
    );
  const out = r.stdout.trim();
  const res = JSON.parse(out.slice(out.lastIndexOf('\n') + 1)) as SliceResult;
  const m = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr);
  if (m) res.cpu = (Number(m[1]) + Number(m[2])) * (MS / (WARM + MS));
  return res;
}

function hasFio(): boolean {
  if (spawnSync('fio', ['--version']).status === 0) return true;
  // Installed on demand: apt on these machines (Debian).
  console.error('fio is missing: apt-get install -y fio');
  spawnSync('apt-get', ['install', '-y', 'fio'], { stdio: 'ignore' });
  return spawnSync('fio', ['--version']).status === 0;
}

interface Variant {
  name: string;
  run(): SliceResult;
}

function variants(cpu: number, randread: string, fio: boolean): Variant[] {
  const node =
    (v: string, env?: NodeJS.ProcessEnv): Variant['run'] =>
    () =>
      slice<SliceResult>(
        [
          process.execPath,
          self,
          '--child',
          v,
          '--file',
          FILE,
          '--ms',
          String(MS),
          '--warm-ms',
          String(WARM),
          '--depth',
          String(DEPTH),
        ],
        cpu,
        env,
      );
  const list: Variant[] = [
    { name: 'uring read() (ops)', run: node('uring-read') },
    { name: `uring readMany(), batches of ${DEPTH}`, run: node('uring-readmany') },
    { name: 'uring FileHandle.read', run: node('uring-filehandle') },
    {
      name: 'node:fs/promises FileHandle.read',
      run: node('node-filehandle', { ...process.env, UV_USE_IO_URING: '0' }),
    },
    {
      name: 'node FileHandle.read, UV_USE_IO_URING=1',
      run: node('node-filehandle', { ...process.env, UV_USE_IO_URING: '1' }),
    },
    { name: 'node readSync loop (depth 1)', run: node('node-readsync') },
    {
      name: 'C raw io_uring (randread.c)',
      run: () => cSlice([randread, FILE, String(DEPTH), String(WARM), String(MS)], cpu),
    },
  ];
  if (fio) {
    list.push({
      name: 'fio io_uring engine',
      run: () => {
        const r = slice<{
          jobs: { usr_cpu: number; sys_cpu: number; read: { iops: number; runtime: number; total_ios: number } }[];
        }>(
          // --invalidate=0: by default fio drops the file's pages from the page cache first.
          [
            'fio',
            '--name=r',
            `--filename=${FILE}`,
            '--rw=randread',
            '--bs=4k',
            '--ioengine=io_uring',
            `--iodepth=${DEPTH}`,
            '--direct=0',
            '--invalidate=0',
            `--ramp_time=${WARM}ms`,
            `--runtime=${MS}ms`,
            '--time_based',
            '--output-format=json',
          ],
          cpu,
        );
        const job = r.jobs[0]!;
        const seconds = job.read.runtime / 1000;
        return { ops: job.read.total_ios, seconds, cpu: ((job.usr_cpu + job.sys_cpu) / 100) * seconds };
      },
    });
  }
  return list;
}

async function main(): Promise<void> {
  const childVariant = opts.get('child');
  if (childVariant) {
    console.log(JSON.stringify(await child(childVariant)));
    return;
  }
  const reps = num(opts, 'reps', 5);
  const cpu = num(opts, 'cpu', 1);
  const sizeMb = num(opts, 'size-mb', 1024);
  ensureFile(FILE, sizeMb << 20);
  const randread = buildC('randread');
  // --variants: a comma-separated list of substrings of the variant names (default all; C is always run).
  const only = opts.get('variants')?.split(',');
  // Look for fio (and install it) only when it is wanted: --quick runs leave it out.
  const fio = (!only || only.some((w) => 'fio io_uring engine'.includes(w))) && hasFio();
  const list = variants(cpu, randread, fio).filter(
    (v) => !only || v.name.startsWith('C ') || only.some((w) => v.name.includes(w)),
  );
  const ref = 'C raw io_uring (randread.c)';
  const values = new Map<string, number[]>(list.map((v) => [v.name, []]));
  const perCpu = new Map<string, number[]>(list.map((v) => [v.name, []]));
  const resident: number[] = [];
  const started = Date.now();
  for (let rep = 0; rep < reps; rep++) {
    for (const v of rotated(list, rep)) {
      resident.push(warmAndCheck([FILE]));
      const r = v.run();
      values.get(v.name)!.push(r.ops / r.seconds);
      perCpu.get(v.name)!.push(r.cpu ? r.ops / r.cpu : NaN);
    }
    // Rotation would put a different variant first in each repetition; ratios are per repetition.
  }
  const s = summarize(values, ref);
  const m = machine();
  console.log(
    `Random ${BS} B reads, ${DEPTH} in flight, from a ${sizeMb} MiB file in the page cache (${FILE}, ${m.fs})`,
  );
  console.log(
    `node ${m.node}, Linux ${m.kernel}, ${m.cpu}, ${m.cores} cores, load ${m.load}; every slice a fresh process pinned to CPU ${cpu}, ${WARM} ms warm-up + ${MS} ms measured; ${reps} repetitions, variants interleaved`,
  );
  console.log(
    `page-cache residency before the slices: min ${(Math.min(...resident) * 100).toFixed(1)}%, median ${(resident.sort()[resident.length >> 1]! * 100).toFixed(1)}%; total ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  const rows = [['variant', 'reads/s median', 'min', 'max', 'ratio to C']];
  for (const [name, x] of s) rows.push([name, kfmt(x.median), kfmt(x.min), kfmt(x.max), x.ratio.toFixed(2)]);
  console.log(table(rows));
  const sc = summarize(perCpu, ref);
  console.log('\nper CPU-second (user + system of the counted part):');
  const crows = [['variant', 'reads/CPU-s median', 'min', 'max', 'ratio to C']];
  for (const [name, x] of sc)
    crows.push([name, kfmt(x.median), kfmt(x.min), kfmt(x.max), Number.isFinite(x.ratio) ? x.ratio.toFixed(2) : '-']);
  console.log(table(crows));
  const json = opts.get('json');
  if (json) {
    const out = {
      machine: m,
      file: FILE,
      sizeMb,
      depth: DEPTH,
      ms: MS,
      warmMs: WARM,
      reps,
      cpu,
      resident,
      results: Object.fromEntries(s),
      perCpuSecond: Object.fromEntries(sc),
    };
    writeFileSync(json, JSON.stringify(out, null, 2));
  }
}

await main();
