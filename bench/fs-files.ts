// Reading many whole files: uring's readFiles (one linked
// openat -> read -> close chain per file on direct descriptors) against
// node's fs.promises.readFile with 64 in flight (and the same loop through
// uring/fs/promises' readFile: a drop-in user's code), a readFileSync loop, and
// bench/c/readfiles.c, the same chains on raw io_uring system calls. Two
// sets: 10,000 files of 4 KiB and 2,000 of 64 KiB, hot in the page cache.
//
// The C program runs twice: reading every file into its slot's scratch
// buffer (reused, cache-hot: the least any program can do, and the
// reference of the ratios), and `keep`, copying each file out into memory of
// its own that it holds to the end of the pass, as readFiles and node must
// when they hand back one Buffer per file.
//
// forEachFile does readFiles' chains but hands each file to a callback as a
// view of its lane buffer, reused for the next file: no memory per file, the
// same work as the C scratch reference.
//
// Two last rows do no I/O: node allocating one Buffer per file and filling it
// from a cache-hot template, held to the end of the pass, and the same in
// the layout readFiles gives its results (files of at most 8 KiB as views
// of shared 64 KiB chunks). They are the cost of handing back fresh memory
// alone, which every node variant pays and the C scratch reference does not.
//
// Each slice is a fresh process pinned to one CPU: whole passes over the set
// for a warm-up, then whole passes for the measured time. Variants
// alternate, 5 repetitions, the files re-read (residency checked with
// fincore on a sample) before every slice. Each slice also reports its CPU
// time (process.cpuUsage; /usr/bin/time for C), printed per file: other
// tenants of a shared machine move wall-clock rates far more.
//
//   node dist/bench/fs-files.js [--dir /tmp/uring-bench] [--ms 1500] [--warm-ms 300]
//     [--reps 5] [--depth 64] [--cpu 1] [--sets 4k,64k] [--files N] [--variants readFiles,C] [--json out.json]
import { mkdirSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { forEachFile, readFiles } from '../src/fs/read-files.js';
import * as uringFsp from '../src/fs/promises.js';
import { getRuntime } from '../src/runtime/index.js';
import {
  buildC,
  kfmt,
  machine,
  median,
  num,
  options,
  pinned,
  residency,
  rotated,
  slice,
  summarize,
  table,
  timed,
  warm,
} from './fs-common.js';

const opts = options();
const DIR = opts.get('dir') ?? '/tmp/uring-bench';
const MS = num(opts, 'ms', 1500);
const WARM = num(opts, 'warm-ms', 300);
const DEPTH = num(opts, 'depth', 64);
const BUFFER = 64 * 1024; // readFiles' default bufferSize; C reads bufferSize + 1 like it

interface FileSet {
  name: string;
  dir: string;
  count: number;
  size: number;
}

// --files N reads only the first N files of each set (the quick gate: 2,000).
const FILES = num(opts, 'files', Infinity);
const SETS: FileSet[] = [
  { name: '4k', dir: join(DIR, 'files-4k'), count: Math.min(10_000, FILES), size: 4096 },
  { name: '64k', dir: join(DIR, 'files-64k'), count: Math.min(2_000, FILES), size: 65536 },
];

function pathsOf(set: FileSet): string[] {
  return Array.from({ length: set.count }, (_, i) => join(set.dir, String(i)));
}

/** The set's files, made once (kept between runs). */
function ensureSet(set: FileSet): void {
  const last = join(set.dir, String(set.count - 1));
  if (existsSync(last) && statSync(last).size === set.size) return;
  mkdirSync(set.dir, { recursive: true });
  const data = randomBytes(set.size + 4096);
  for (let i = 0; i < set.count; i++)
    writeFileSync(join(set.dir, String(i)), data.subarray(i % 4096, (i % 4096) + set.size));
}

interface SliceResult {
  files: number;
  seconds: number;
  /** CPU seconds (user + system, all threads) of the counted part, where known. */
  cpu?: number;
}

// ------------------------------------------------------------------ children

async function child(variant: string, set: FileSet): Promise<SliceResult> {
  const paths = pathsOf(set);
  const n = paths.length;
  let check = 0;
  let r: { units: number; seconds: number };
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  switch (variant) {
    case 'uring-readfiles':
      r = await timed(
        async () => {
          const bufs = await readFiles(paths, { concurrency: DEPTH });
          check += bufs[n - 1]!.length;
          return n;
        },
        WARM,
        MS,
      );
      await getRuntime().close();
      break;
    case 'uring-foreach': {
      // forEachFile: each file's bytes handed to a callback as a view of the
      // reused lane buffer, nothing kept: the same work as the C scratch
      // reference (which counts the bytes read, as this does).
      let bytes = 0;
      const onFile = (data: Buffer) => {
        bytes += data.length;
      };
      r = await timed(
        async () => {
          await forEachFile(paths, onFile, { concurrency: DEPTH });
          return n;
        },
        WARM,
        MS,
      );
      check += bytes;
      await getRuntime().close();
      break;
    }
    case 'node-readfile':
    case 'uring-fsp-readfile': {
      // The same loop through either module: a drop-in user's code.
      // (one signature: TypeScript cannot call a union of two overloaded functions)
      const readFile: (path: string) => Promise<Buffer> =
        variant === 'node-readfile' ? fsp.readFile : uringFsp.readFile;
      r = await timed(
        async () => {
          let next = 0;
          const out = new Array<Buffer>(n);
          const worker = async () => {
            while (next < n) {
              const i = next++;
              out[i] = await readFile(paths[i]!);
            }
          };
          await Promise.all(Array.from({ length: DEPTH }, worker));
          check += out[n - 1]!.length;
          return n;
        },
        WARM,
        MS,
      );
      if (variant !== 'node-readfile') await getRuntime().close();
      break;
    }
    case 'node-readfilesync':
      r = await timed(
        () => {
          const out = new Array<Buffer>(n);
          for (let i = 0; i < n; i++) out[i] = readFileSync(paths[i]!);
          check += out[n - 1]!.length;
          return n;
        },
        WARM,
        MS,
      );
      break;
    case 'js-buffers-only': {
      // No I/O at all: a Buffer of the file's size per file, filled from a
      // cache-hot template and held to the end of the pass. What handing
      // back fresh memory alone costs.
      const template = Buffer.alloc(set.size, 1);
      r = await timed(
        () => {
          const out = new Array<Buffer>(n);
          for (let i = 0; i < n; i++) {
            const b = Buffer.allocUnsafeSlow(set.size);
            template.copy(b);
            out[i] = b;
          }
          check += out[n - 1]!.length;
          return n;
        },
        WARM,
        MS,
      );
      break;
    }
    case 'js-chunks-only': {
      // The same, laid out as readFiles lays out its results: files of at
      // most 8 KiB as views cut from 64 KiB chunks, larger ones a Buffer each.
      const template = Buffer.alloc(set.size, 1);
      const chunked = set.size <= 8 * 1024;
      r = await timed(
        () => {
          const out = new Array<Buffer>(n);
          let chunk = Buffer.alloc(0);
          let off = 0;
          for (let i = 0; i < n; i++) {
            if (!chunked) {
              const b = Buffer.allocUnsafeSlow(set.size);
              template.copy(b);
              out[i] = b;
              continue;
            }
            if (off + set.size > chunk.length) {
              chunk = Buffer.allocUnsafeSlow(64 * 1024);
              off = 0;
            }
            template.copy(chunk, off);
            out[i] = chunk.subarray(off, off + set.size);
            off += (set.size + 7) & ~7;
          }
          check += out[n - 1]!.length;
          return n;
        },
        WARM,
        MS,
      );
      break;
    }
    default:
      throw new Error(`unknown variant ${variant}`);
  }
  if (check === 0 && set.size > 0) throw new Error('no bytes read');
  // Busy throughout (warm-up passes, then counted ones): the counted part's
  // share of the CPU time is its share of the time.
  const c = process.cpuUsage(c0);
  const all = (performance.now() - t0) / 1000;
  return { files: r.units, seconds: r.seconds, cpu: ((c.user + c.system) / 1e6) * (r.seconds / all) };
}

// ------------------------------------------------------------------ parent

const self = fileURLToPath(import.meta.url);

const hasTime = spawnSync('/usr/bin/time', ['-f', '%U', 'true']).status === 0;

/**
 * A C slice, under /usr/bin/time when there is one, for its CPU time. The
 * program is busy from start to end, so the counted part's share of the CPU
 * time is its share of the run (warm-up + measured).
 */
function cSlice(argv: string[], cpu: number): SliceResult & { errors: number } {
  type R = SliceResult & { errors: number };
  if (!hasTime) return slice<R>(argv, cpu);
  const [cmd, args] = pinned(cpu, ['/usr/bin/time', '-f', 'cpu %U %S', ...argv]);
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0)
    throw new Error(
      `${argv.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr.trim().split('\n').slice(-5).join(' | ')}`,
    );
  const out = r.stdout.trim();
  const res = JSON.parse(out.slice(out.lastIndexOf('\n') + 1)) as R;
  const m = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr);
  if (m) res.cpu = (Number(m[1]) + Number(m[2])) * (MS / (WARM + MS));
  return res;
}

interface Variant {
  name: string;
  run(set: FileSet): SliceResult;
}

function variants(cpu: number, cbin: string): Variant[] {
  const node =
    (v: string, env?: NodeJS.ProcessEnv): Variant['run'] =>
    (set) =>
      slice<SliceResult>(
        [
          process.execPath,
          self,
          '--child',
          v,
          '--set',
          set.name,
          '--files',
          String(set.count),
          '--dir',
          DIR,
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
  const c =
    (keep: boolean): Variant['run'] =>
    (set) => {
      const argv = [cbin, set.dir, String(set.count), String(BUFFER + 1), String(DEPTH), String(WARM), String(MS)];
      const r = cSlice(keep ? [...argv, 'keep'] : argv, cpu);
      if (r.errors) throw new Error(`readfiles.c: ${r.errors} errors`);
      return r;
    };
  return [
    { name: 'uring readFiles', run: node('uring-readfiles') },
    // An experiment, not a setting readFiles makes: glibc returning the top
    // of its heap to the kernel once the GC frees a pass's results, and the
    // kernel faulting those pages in again under the next pass's reads, is
    // part of what result memory costs (README-fs.md).
    {
      name: "readFiles, glibc's heap never trimmed (MALLOC_TRIM_THRESHOLD_)",
      run: node('uring-readfiles', {
        ...process.env,
        MALLOC_TRIM_THRESHOLD_: '4294967295',
        MALLOC_TOP_PAD_: '67108864',
      }),
    },
    { name: 'uring forEachFile (a view of a reused buffer per file)', run: node('uring-foreach') },
    { name: `node fs.promises.readFile, ${DEPTH} in flight`, run: node('node-readfile') },
    { name: `uring/fs/promises readFile, ${DEPTH} in flight`, run: node('uring-fsp-readfile') },
    { name: 'node readFileSync loop', run: node('node-readfilesync') },
    { name: 'C raw io_uring, scratch buffers (readfiles.c)', run: c(false) },
    { name: 'C raw io_uring, keeps every file (readfiles.c keep)', run: c(true) },
    { name: 'no I/O: node allocating and filling the Buffers only', run: node('js-buffers-only') },
    { name: "no I/O: the same in readFiles' layout (64 KiB chunks for files <= 8 KiB)", run: node('js-chunks-only') },
  ];
}

async function main(): Promise<void> {
  const childVariant = opts.get('child');
  if (childVariant) {
    const set = SETS.find((s) => s.name === opts.get('set'))!;
    console.log(JSON.stringify(await child(childVariant, set)));
    return;
  }
  const reps = num(opts, 'reps', 5);
  const cpu = num(opts, 'cpu', 1);
  const wanted = (opts.get('sets') ?? '4k,64k').split(',');
  const cbin = buildC('readfiles');
  // --variants: a comma-separated list of substrings of the variant names (default all).
  const only = opts.get('variants')?.split(',');
  const list = variants(cpu, cbin).filter((v) => !only || only.some((w) => v.name.includes(w)));
  const ref = 'C raw io_uring, scratch buffers (readfiles.c)';
  const m = machine();
  const started = Date.now();
  const report: Record<string, unknown> = {};
  console.log(
    `Reading whole files hot in the page cache (${DIR}, ${m.fs}); node ${m.node}, Linux ${m.kernel}, ${m.cpu}, ${m.cores} cores, load ${m.load}`,
  );
  console.log(
    `every slice a fresh process pinned to CPU ${cpu}: ${WARM} ms of warm-up passes, then whole passes for ${MS} ms; ${reps} repetitions, variants interleaved; ${DEPTH} files in flight`,
  );
  for (const set of SETS.filter((s) => wanted.includes(s.name))) {
    ensureSet(set);
    const paths = pathsOf(set);
    const sample = paths.filter((_, i) => i % 50 === 0);
    const values = new Map<string, number[]>(list.map((v) => [v.name, []]));
    const perCpu = new Map<string, number[]>(list.map((v) => [v.name, []]));
    const resident: number[] = [];
    for (let rep = 0; rep < reps; rep++) {
      for (const v of rotated(list, rep)) {
        warm(paths);
        resident.push(residency(sample));
        const r = v.run(set);
        values.get(v.name)!.push(r.files / r.seconds);
        perCpu.get(v.name)!.push(r.cpu ? r.files / r.cpu : NaN);
      }
    }
    const s = summarize(values, ref);
    console.log(
      `\n${set.count.toLocaleString('en')} files of ${set.size / 1024} KiB; residency of a 2% sample before the slices: min ${(Math.min(...resident) * 100).toFixed(1)}%`,
    );
    const keepRef = s.get('C raw io_uring, keeps every file (readfiles.c keep)');
    const rows = [['variant', 'files/s median', 'min', 'max', 'ratio to C', 'ratio to C keep']];
    for (const [name, x] of s) {
      const toKeep = keepRef ? median(x.values.map((v, i) => v / keepRef.values[i]!)) : NaN;
      rows.push([name, kfmt(x.median), kfmt(x.min), kfmt(x.max), x.ratio.toFixed(2), toKeep.toFixed(2)]);
    }
    console.log(table(rows));
    // On a shared machine other tenants move wall-clock rates far more than
    // the CPU time a file costs.
    const sc = summarize(perCpu, ref);
    console.log('per CPU-second (user + system of the counted part):');
    const crows = [['variant', 'CPU µs/file median', 'min', 'max', 'files/CPU-s ratio to C']];
    for (const [name, x] of sc)
      crows.push([
        name,
        (1e6 / x.median).toFixed(2),
        (1e6 / x.max).toFixed(2),
        (1e6 / x.min).toFixed(2),
        x.ratio.toFixed(2),
      ]);
    console.log(table(crows));
    report[set.name] = {
      count: set.count,
      size: set.size,
      resident,
      results: Object.fromEntries(s),
      perCpu: Object.fromEntries(sc),
    };
  }
  console.log(`\ntotal ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const json = opts.get('json');
  if (json)
    writeFileSync(
      json,
      JSON.stringify({ machine: m, dir: DIR, ms: MS, warmMs: WARM, reps, cpu, depth: DEPTH, sets: report }, null, 2),
    );
}

await main();
