// `uring cp` against GNU cp and node's fs.cp, run as a user runs them: each
// copy is a fresh process (`node bin/uring.js cp -r`, `cp -r`, `node -e
// fs.promises.cp(...)`), timed from spawn to exit, so node's start-up
// (about 0.1 s here) is in both node figures and not in cp's.
//
// Two jobs: a tree of 20,000 files shaped like a source tree (441
// directories of ~50 files; 5% under 1 KiB, 90% of 1-16 KiB, 5% of 16-200
// KiB: about 300 MiB) and one file of 1 GiB. On tmpfs (mounted at --tmpfs,
// 6 GiB, if it is not a mount point yet: needs root) and, with --ext4 DIR,
// also on that directory's file system. Variants interleaved, the order
// rotating each repetition; the destination is removed and dirty pages
// written back (sync) right before each copy (not timed); the source is read whole before each copy so it is in
// the page cache. Median of --reps (5) with min and max; "vs cp" is the
// median of the per-repetition ratios cp time / variant time (> 1: faster
// than cp). Each copy's CPU time (user + system of the child and its
// threads, io-wq workers included: /proc/self/stat's cutime + cstime across
// the spawn) is printed too, with "CPU vs cp" the median of cp's CPU over
// the variant's: on a machine other processes load, wall-clock ratios move
// with the scheduler, CPU time far less.
//
//   node dist/bench/fs-cp.js [--tmpfs /mnt/uring-cp] [--ext4 /var/tmp/uring-cp] [--reps 5] [--files 20000] [--big-mb 1024]
//     [--jobs tree,big] [--variants 'uring,GNU'] [--baseline /path/to/other/bin/uring.js] [--json out.json]
//
// --jobs picks the tree and/or the big file; --variants keeps the variants
// whose names contain one of the given substrings (GNU cp always runs: the
// ratios are to it); --baseline adds "uring cp (baseline)", the same copy
// through another build (an A/B in the same run, e.g. a copy of main's
// bin/, dist/ and build/ made before a change).
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  openSync,
  readSync,
  closeSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { machine, num, options, root, rotated, summarize, table } from './fs-common.js';

const opts = options();
const REPS = num(opts, 'reps', 5);
const FILES = num(opts, 'files', 20_000);
const BIG_MB = num(opts, 'big-mb', 1024);
const TMPFS = opts.get('tmpfs') ?? '/mnt/uring-cp';
const EXT4 = opts.get('ext4');
const uringBin = join(root, 'bin', 'uring.js');
const JOBS = (opts.get('jobs') ?? 'tree,big').split(',');
const PICK = opts.get('variants')?.split(',');
const BASELINE = opts.get('baseline');

function fsType(dir: string): string {
  return spawnSync('df', ['--output=fstype', dir], { encoding: 'utf8' }).stdout.trim().split('\n')[1] ?? '?';
}

function ensureTmpfs(dir: string): void {
  mkdirSync(dir, { recursive: true });
  if (spawnSync('mountpoint', ['-q', dir]).status === 0) return;
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=6g', 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) console.log(`(could not mount tmpfs on ${dir}: ${r.stderr.trim()}; using ${fsType(dir)})`);
}

/** A deterministic tree of `n` files like a source tree (sizes by a fixed LCG). */
function ensureTree(dir: string, n: number): void {
  const mark = join(dir, `.complete-${n}`);
  if (existsSync(mark)) return;
  spawnSync('rm', ['-rf', dir]);
  const data = randomBytes(256 << 10);
  let seed = 1;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  let made = 0;
  for (let d = 0; made < n; d++) {
    const sub = join(dir, `d${d % 40}`, `s${d}`);
    mkdirSync(sub, { recursive: true });
    for (let i = 0; i < 50 && made < n; i++, made++) {
      const r = rnd();
      const size =
        r < 0.05
          ? Math.floor(rnd() * 1024)
          : r < 0.95
            ? 1024 + Math.floor(rnd() * 15 * 1024)
            : 16384 + Math.floor(rnd() * 184 * 1024);
      writeFileSync(join(sub, `f${i}.ts`), data.subarray(0, size));
    }
  }
  writeFileSync(mark, '');
}

function ensureBig(path: string, mb: number): void {
  if (existsSync(path) && statSync(path).size === mb << 20) return;
  spawnSync('dd', ['if=/dev/urandom', `of=${path}`, 'bs=1M', `count=${mb}`, 'status=none']);
}

/** Reads every file under `p` (or `p` itself): the source in the page cache before each copy. */
function warm(p: string): void {
  const buf = Buffer.allocUnsafe(1 << 20);
  const walk = (q: string) => {
    const st = statSync(q);
    if (st.isDirectory()) {
      for (const name of readdirSync(q)) walk(join(q, name));
      return;
    }
    const fd = openSync(q, 'r');
    while (readSync(fd, buf, 0, buf.length, null) > 0);
    closeSync(fd);
  };
  walk(p);
}

type Variant = { name: string; argv: (src: string, dst: string) => string[] };
const allVariants: Variant[] = [
  { name: 'uring cp', argv: (s, d) => [process.execPath, uringBin, 'cp', '-r', s, d] },
  ...(BASELINE === undefined
    ? []
    : [
        {
          name: 'uring cp (baseline)',
          argv: (s: string, d: string) => [process.execPath, BASELINE, 'cp', '-r', s, d],
        },
      ]),
  { name: 'GNU cp', argv: (s, d) => ['cp', '-r', s, d] },
  {
    name: 'node fs.cp',
    argv: (s, d) => [
      process.execPath,
      '-e',
      `require('fs').promises.cp(${JSON.stringify(s)}, ${JSON.stringify(d)}, { recursive: true }).catch((e) => { console.error(e); process.exit(1); })`,
    ],
  },
];
const variants = allVariants.filter(
  (v) => v.name === 'GNU cp' || PICK === undefined || PICK.some((p) => v.name.includes(p)),
);

const hz = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** CPU ms of this process's reaped children so far (cutime + cstime). */
function childCpuMs(): number {
  const s = readFileSync('/proc/self/stat', 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[13]) + Number(f[14])) * 1000) / hz;
}

function run(job: string, src: string, dst: string): { times: Map<string, number[]>; cpu: Map<string, number[]> } {
  const times = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const cpu = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  for (let rep = 0; rep < REPS; rep++) {
    for (const v of rotated(variants, rep)) {
      spawnSync('rm', ['-rf', dst]);
      // Write back the last copy's dirty pages first (not timed): otherwise
      // the next copy, whichever it is, pays for the last one's writeback
      // (on ext4 a 1 GiB copy took 0.5 s or 12 s depending on what ran
      // before it).
      spawnSync('sync');
      warm(src);
      const argv = v.argv(src, dst);
      const c0 = childCpuMs();
      const t0 = performance.now();
      const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
      const ms = performance.now() - t0;
      const cpuMs = childCpuMs() - c0;
      if (r.status !== 0) throw new Error(`${v.name} failed on ${job}: ${r.stderr}`);
      times.get(v.name)!.push(ms);
      cpu.get(v.name)!.push(cpuMs);
    }
  }
  spawnSync('rm', ['-rf', dst]);
  return { times, cpu };
}

const results: Record<string, unknown>[] = [];
const places: [string, string][] = [];
ensureTmpfs(TMPFS);
places.push([TMPFS, fsType(TMPFS)]);
if (EXT4) {
  mkdirSync(EXT4, { recursive: true });
  places.push([EXT4, fsType(EXT4)]);
}
console.log(`uring cp vs GNU cp vs node fs.cp; each copy a fresh process; median of ${REPS} (min-max), interleaved`);
console.log(JSON.stringify(machine()));
for (const [dir, type] of places) {
  const tree = join(dir, 'tree');
  const big = join(dir, 'big');
  if (JOBS.includes('tree')) ensureTree(tree, FILES);
  if (JOBS.includes('big')) ensureBig(big, BIG_MB);
  const jobs: [string, string, string][] = [];
  if (JOBS.includes('tree')) jobs.push([`${FILES} files (-r)`, tree, join(dir, 'tree.copy')]);
  if (JOBS.includes('big')) jobs.push([`one ${BIG_MB} MiB file`, big, join(dir, 'big.copy')]);
  for (const [job, src, dst] of jobs) {
    const { times, cpu } = run(job, src, dst);
    // Ratio as speed against cp: cp's time over the variant's, per repetition.
    const cpTimes = times.get('GNU cp')!;
    const speed = new Map<string, number[]>();
    for (const [name, xs] of times)
      speed.set(
        name,
        xs.map((x, i) => cpTimes[i]! / x),
      );
    const cpCpu = cpu.get('GNU cp')!;
    const cpuSpeed = new Map<string, number[]>();
    for (const [name, xs] of cpu)
      cpuSpeed.set(
        name,
        xs.map((x, i) => cpCpu[i]! / x),
      );
    const s = summarize(times, 'GNU cp');
    const sp = summarize(speed, 'GNU cp');
    const c = summarize(cpu, 'GNU cp');
    const cs = summarize(cpuSpeed, 'GNU cp');
    const rows = [
      ['variant', 'ms median', 'min', 'max', 'speed vs GNU cp', 'CPU ms median', 'min', 'max', 'CPU vs GNU cp'],
    ];
    for (const [name, v] of s) {
      const k = c.get(name)!;
      rows.push([
        name,
        v.median.toFixed(0),
        v.min.toFixed(0),
        v.max.toFixed(0),
        sp.get(name)!.median.toFixed(2),
        k.median.toFixed(0),
        k.min.toFixed(0),
        k.max.toFixed(0),
        cs.get(name)!.median.toFixed(2),
      ]);
    }
    console.log(`\n${job} on ${type} (${dir})\n${table(rows)}`);
    for (const [name, v] of s)
      results.push({
        fs: type,
        job,
        variant: name,
        ms: v.values,
        medianMs: v.median,
        speedVsCp: sp.get(name)!.median,
        cpuMs: c.get(name)!.values,
        medianCpuMs: c.get(name)!.median,
        cpuVsCp: cs.get(name)!.median,
      });
  }
}
const json = opts.get('json');
if (json) writeFileSync(json, JSON.stringify({ machine: machine(), results }, null, 2));
