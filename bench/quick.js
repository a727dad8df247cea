// `npm run bench -- --quick`: the regression gate. A short run of each
// benchmark (fewer repetitions, shorter slices, smaller data sets), then one
// table of the headline ratios against their floors in bench/floors.json.
// Exit 0 when every ratio is at or above its floor, 1 when one is below,
// 2 when a benchmark failed to run or a floored ratio is missing from its
// output (a regression outranks a failure to run: 1 wins over 2).
// Benchmarks that need a tool that is not installed are SKIPs, not failures.
//
// Each benchmark's own output goes to bench/out/quick/<name>.log and its
// JSON to bench/out/quick/<name>.json; only the summary is printed.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Median of numbers (NaN for none). */
function median(xs) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** Median over repetitions of a[i] / b[i]: both measured in the same repetition. */
const pairs = (a, b) => median((a ?? []).map((x, i) => x / b?.[i]));

/** net-echo: the same, its slices matched by their repetition number. */
function echoPairs(slices, name, base) {
  const b = slices?.[base] ?? [];
  return median((slices?.[name] ?? []).map((x) => x.msgs_per_s / b.find((y) => y.rep === x.rep)?.msgs_per_s));
}

const has = (cmd) => !spawnSync(cmd, ['--version'], { stdio: 'ignore' }).error;

const hz = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/**
 * Busy ticks of all CPUs (/proc/stat), and the CPU ticks of this process and
 * its reaped children (/proc/self/stat utime, stime, cutime, cstime): a
 * benchmark's children are reaped by it, and it by us, so across a run the
 * difference is what other processes took.
 */
function ticks() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  const self = readFileSync('/proc/self/stat', 'utf8');
  const g = self
    .slice(self.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  return { busy: f[0] + f[1] + f[2] + f[5] + f[6] + f[7], ours: g[11] + g[12] + g[13] + g[14] };
}

// The quick variant of each benchmark: its arguments, how long it may take,
// what it needs installed, and the ratios it yields from its JSON
// ([id, value]; the ids are the keys of bench/floors.json).
const QUICK = {
  nop: {
    args: ['--reps', '5', '--slice-ms', '100'],
    ratios: (j) => j.results.map((r) => [`nop batch ${r.batch}: TS ring / C`, r.ratio]),
  },
  runtime: {
    pin: true,
    args: ['--reps', '5', '--slice-ms', '100'],
    ratios: (j) => j.results.map((r) => [`runtime ${r.inflight} in flight: awaited nop / raw ring`, r.ratio]),
  },
  'net-echo': {
    args: [
      ['--sizes', '64,4096', '--reps', '3', '--seconds', '0.4', '--warmup', '0.2', '--load-ms', '0'],
      ['--only', 'node:net,uring (node:net API)'],
    ].flat(),
    // Messages per second, and messages per second of server CPU (C's or
    // node's CPU per message / uring's): the host's other tenants move the
    // first far more than the second.
    ratios: (j) =>
      ['64', '4096'].flatMap((size) => {
        const s = j.summary[size] ?? {};
        const u = s['uring (node:net API)'];
        const perCpu = (base) => s[base]?.server_cpu_us_per_msg / u?.server_cpu_us_per_msg;
        return [
          [`echo ${size} B: uring (node:net API) / C io_uring`, u?.vs_c_uring.median],
          [
            `echo ${size} B: uring (node:net API) / node:net`,
            echoPairs(j.slices[size], 'uring (node:net API)', 'node:net'),
          ],
          [`echo ${size} B per CPU-s: uring (node:net API) / C io_uring`, perCpu('C io_uring')],
          [`echo ${size} B per CPU-s: uring (node:net API) / node:net`, perCpu('node:net')],
        ];
      }),
  },
  'net-http': {
    needs: ['wrk'],
    args: [
      ['--reps', '2', '--seconds', '1', '--warmup', '1', '--warmup-once', '--load-ms', '0'],
      ['--only', 'node:http over uring/net,uring/http'],
    ].flat(),
    // Requests per second follow the host's other tenants; CPU per request
    // (node:http's / uring/http's) is the figure to read.
    ratios: (j) => [
      ['http hello: node:http over uring/net / node:http', j.summary['node:http over uring/net']?.vs_base.median],
      ['http hello: uring/http / node:http', j.summary['uring/http']?.vs_base.median],
      ['http hello per CPU-s: uring/http / node:http', j.summary['uring/http']?.cpu_vs_base?.median],
    ],
  },
  'net-apps': {
    args: ['--reps', '3', '--seconds', '2', '--messages', '300', '--warmup', '0', '--only', 'ws,pipelined'],
    // Requests (messages) per second, and per server CPU-second (node's CPU
    // per request / uring's): autocannon's rate moves with the host's load.
    // Express (~130 us a request, so few per slice) is in the full run only.
    ratios: (j) =>
      [
        ['ws echo', 'ws echo 100 clients'],
        ['pipelined', 'http pipelined x10'],
      ].flatMap(([k, label]) => [
        [`${label}: uring/http / node:http`, j.summary[k]?.ratio.median],
        [`${label} per CPU-s: uring/http / node:http`, j.summary[k]?.cpu_ratio],
      ]),
  },
  'fs-read': {
    args: [
      ['--file', '/tmp/uring-bench/256m', '--size-mb', '256', '--reps', '3', '--ms', '300', '--warm-ms', '100'],
      ['--variants', 'readMany,read() (ops),node:fs/promises'],
    ].flat(),
    ratios: (j) => {
      const r = j.results;
      const node = r['node:fs/promises FileHandle.read']?.values;
      const many = Object.keys(r).find((k) => k.startsWith('uring readMany()'));
      return [
        ['randread: readMany / C', r[many]?.ratio],
        ['randread: read() / C', r['uring read() (ops)']?.ratio],
        ['randread: read() / node FileHandle.read', pairs(r['uring read() (ops)']?.values, node)],
        ['randread per CPU-s: readMany / C', j.perCpuSecond[many]?.ratio],
        ['randread per CPU-s: read() / C', j.perCpuSecond['uring read() (ops)']?.ratio],
      ];
    },
  },
  'fs-files': {
    args: [
      ['--sets', '4k', '--files', '2000', '--reps', '3', '--ms', '300', '--warm-ms', '100'],
      ['--variants', 'uring readFiles,forEachFile,fs.promises.readFile,uring/fs/promises,scratch buffers'],
    ].flat(),
    ratios: (j) => {
      const r = j.sets['4k'].results;
      const node = Object.keys(r).find((k) => k.startsWith('node fs.promises.readFile'));
      const each = Object.keys(r).find((k) => k.startsWith('uring forEachFile'));
      return [
        ['4 KiB files: readFiles / C', r['uring readFiles']?.ratio],
        ['4 KiB files: forEachFile / C', r[each]?.ratio],
        ['4 KiB files: readFiles / node readFile', pairs(r['uring readFiles']?.values, r[node]?.values)],
        [
          '4 KiB files: uring/fs/promises readFile / node readFile',
          pairs(r[Object.keys(r).find((k) => k.startsWith('uring/fs/promises readFile'))]?.values, r[node]?.values),
        ],
      ];
    },
  },
  // A tmpfs of its own: fs-cp remakes its tree when the file count differs, and the full run's is 20,000.
  'fs-cp': {
    args: ['--tmpfs', '/mnt/uring-cp-quick', '--files', '2000', '--big-mb', '128', '--reps', '3'],
    ratios: (j) => {
      const at = (job, variant) => j.results.find((r) => r.job.startsWith(job) && r.variant === variant);
      return [
        ['2000 files', 'cp -r 2,000 files'],
        ['one 128 MiB', 'cp 128 MiB'],
      ].flatMap(([job, label]) => [
        [`${label}: uring cp / GNU cp (speed)`, at(job, 'uring cp')?.speedVsCp],
        // cp's CPU time over ours (io-wq workers included): moves far less than wall time under load.
        [`${label}: uring cp / GNU cp (CPU)`, at(job, 'uring cp')?.cpuVsCp],
        [`${label}: uring cp / node fs.cp (speed)`, pairs(at(job, 'node fs.cp')?.ms, at(job, 'uring cp')?.ms)],
      ]);
    },
  },
  'idle-conns': { none: 'memory per connection, fresh processes per repetition: too slow for a quick run' },
  'fs-stream': {
    args: ['--dir', '/dev/shm/uring-stream-quick', '--size-mb', '256', '--reps', '3', '--hwm', '16,64,1024'],
    ratios: (j) =>
      [16, 64, 1024].map((k) => [
        `stream copy hwm ${k} KiB: uring / node (speed)`,
        j.results[`copy hwm ${k} KiB uring`]?.speedVsNode,
      ]),
  },
  'fs-copy': {
    args: ['--file', '/tmp/uring-bench/256m', '--size-mb', '256', '--reps', '5', '--variants', 'uring copyFile'],
    ratios: (j) => [
      ['copy 256 MiB: copyFile / node copyFile (speed)', j.results['uring copyFile (256 KiB x 16)']?.speedVsNode],
    ],
  },
};

const fmt = (v) => (Number.isFinite(v) ? v.toFixed(2) : '-');

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r) =>
    r
      .map((cell, c) => cell.padEnd(widths[c]))
      .join(' | ')
      .trimEnd();
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.slice(1).map(line)].join('\n');
}

/**
 * One quick run of benchmark `name`: its ratios ([id, value]), or throws
 * with why it did not run. Its output goes to <out>/<name>.log.
 */
function runOnce(name, q, { root, all, out }) {
  const script = join(root, 'dist', 'bench', all[name][0]);
  const json = join(out, `${name}.json`);
  const argv = [script, ...q.args, '--json', json];
  // As in the full run: the runtime comparison pins itself to one core.
  const [cmd, args] = q.pin ? ['taskset', ['-c', '1', process.execPath, ...argv]] : [process.execPath, argv];
  writeFileSync(json, '');
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000, maxBuffer: 16 << 20 });
  writeFileSync(join(out, `${name}.log`), `$ ${[cmd, ...args].join(' ')}\n${r.stdout ?? ''}${r.stderr ?? ''}`);
  if (r.status !== 0) {
    // The error's own line (node prints its source line and a caret first), or the last lines.
    const lines = (r.stderr || r.stdout || '').trim().split('\n');
    const why = lines.find((l) => /^\s*(\w*Error|error)\b/.test(l)) ?? lines.slice(-3).join(' | ');
    throw new Error(`exited ${r.status ?? r.signal}: ${why.trim()}`);
  }
  return q.ratios(JSON.parse(readFileSync(json, 'utf8')));
}

/**
 * Runs the quick benchmarks (all, or those in `wanted`) and prints the gate's
 * table; returns the exit code. `all` is run.js's table (name -> script
 * file), `root` the repository.
 *
 * A benchmark with a ratio below its floor runs a second time, and the ratio
 * fails only if it is below in both runs: on these shared machines one short
 * run in five or so catches a noisy stretch, and a real regression shows in
 * both.
 */
export function quick(wanted, { root, all }) {
  const out = join(root, 'bench', 'out', 'quick');
  mkdirSync(out, { recursive: true });
  const floors = JSON.parse(readFileSync(join(root, 'bench', 'floors.json'), 'utf8')).floors;
  const rows = [['benchmark', 'ratio', 'value', 'floor', 'result']];
  let fail = 0;
  let broken = 0;
  let busiest = 0;
  let skipped = 0;
  const started = performance.now();
  console.log(`quick gate; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ', 3).join(' ')}`);
  for (const name of Object.keys(all)) {
    if (wanted.length && !wanted.includes(name)) continue;
    const q = QUICK[name];
    if (!q || q.none) {
      rows.push([name, '', '', '', `not in the gate: ${q?.none ?? 'no quick variant yet (bench/quick.js)'}`]);
      continue;
    }
    const missing = (q.needs ?? []).filter((cmd) => !has(cmd));
    if (missing.length) {
      skipped++;
      rows.push([name, '', '', '', `SKIP (${missing.join(', ')} not installed)`]);
      console.log(`${name}: SKIP, ${missing.join(', ')} not installed`);
      continue;
    }
    const below = (ratios) => ratios.filter(([id, v]) => floors[id] && v < floors[id].floor).map(([id]) => id);
    const t0 = performance.now();
    const k0 = ticks();
    let ratios;
    let again = null;
    try {
      ratios = runOnce(name, q, { root, all, out });
      if (below(ratios).length) {
        console.log(`${name}: below a floor (${below(ratios).join('; ')}); running it again`);
        again = new Map(runOnce(name, q, { root, all, out }));
      }
    } catch (e) {
      broken++;
      rows.push([name, '', '', '', 'ERROR (did not run; see the log)']);
      const secs = (performance.now() - t0) / 1000;
      console.log(`${name}: ERROR after ${secs.toFixed(1)} s: ${e.message}\n  log: ${join(out, `${name}.log`)}`);
      continue;
    }
    const secs = (performance.now() - t0) / 1000;
    const k = ticks();
    // CPU (in cores) that other processes took meanwhile: a sign of a noisy run.
    const others = Math.max(0, k.busy - k0.busy - (k.ours - k0.ours)) / hz / secs;
    busiest = Math.max(busiest, others);
    console.log(`${name}: ${secs.toFixed(1)} s; other processes took ${others.toFixed(2)} cores meanwhile`);
    for (const [id, first] of ratios) {
      const f = floors[id];
      // A second run counts only for the ratios it was run for.
      const retried = again && f && first < f.floor;
      const value = retried ? Math.max(first, again.get(id) ?? NaN) : first;
      let result = 'no floor';
      if (!Number.isFinite(value)) {
        result = f ? 'ERROR (missing)' : 'missing';
        if (f) broken++;
      } else if (f) {
        result = value >= f.floor ? 'PASS' : 'FAIL';
        if (value < f.floor) fail++;
      }
      if (retried) result += ' (2nd run)';
      const shown = retried ? `${fmt(first)}, ${fmt(again.get(id))}` : fmt(value);
      rows.push([name, id, shown, f ? fmt(f.floor) : '-', result]);
    }
  }
  console.log(`\n${table(rows)}`);
  const total = (performance.now() - started) / 1000;
  let verdict = fail ? `${fail} below its floor` : broken ? `${broken} failed to run` : 'all at or above their floors';
  if (skipped) verdict += ` (${skipped} skipped)`;
  console.log(`\nquick gate: ${verdict}; ${total.toFixed(0)} s (floors: bench/floors.json, logs: ${out})`);
  if (fail && busiest > 0.5) {
    console.log(
      `other processes took up to ${busiest.toFixed(1)} of the machine's cores during the run: ` +
        'confirm a FAIL when the machine is quiet before hunting a regression',
    );
  }
  return fail ? 1 : broken ? 2 : 0;
}
