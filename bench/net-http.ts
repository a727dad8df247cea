// HTTP "hello" under wrk: uring/http and node:http over uring/net (the
// hand-made 'connection' pattern) against plain node:http, the same three for
// Express's hello world, and a minimal responder (find "\r\n\r\n", write one
// fixed 200 "hello") on uring sockets, on node:net and in C on io_uring
// (bench/c/http-uring.c), in one run. The Express variants' ratio is to
// Express on node:http.
//
//   node dist/bench/net-http.js [--reps 5] [--seconds 3] [--warmup 1] [--conns 64]
//        [--only name,name] [--server-cpu 0] [--client-cpu 1] [--warmup-once] [--load-ms 1000]
//        [--json bench/out/net-http.json]
//
// wrk (apt-get install wrk) runs with one thread and --conns keep-alive
// connections, pinned to --client-cpu; every server starts once, pinned to
// --server-cpu. Each repetition gives every server one slice, the order rotated:
// a --warmup s wrk run, then a --seconds s measured one. Reported per server:
// median requests/s with min and max, the ratios to the C responder and to plain
// node:http (medians of per-repetition ratios), server CPU per request
// (utime+stime of the server process across the measured wrk run / its
// requests; the window includes wrk's connecting and closing, a few ms), server
// and wrk CPU use, the CPU everything else took meanwhile (all CPUs' busy time
// from /proc/stat minus those two, the shell and this process included: a sign
// of a contended slice), wrk's p50/p99 latency; and the base's CPU per request
// over this server's ("CPU: base / this", median of per-repetition ratios).
// Read that one on a shared machine: requests per second follow which slices
// caught a quiet core (a 2026-12-01 run put node:http over uring/net at 1.75x
// node:http's rate; the same servers measured 0.9-1.1x by CPU per request
// on 2026-12-06), CPU per request much less.
//
// The uring variants need uring's net layer built (dist/src/net/); without it
// they are skipped, with the reason.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  backgroundLoad,
  buildC,
  allBusySeconds,
  childCpuSeconds,
  cpuSeconds,
  fixed,
  freePort,
  hasTaskset,
  kfmt,
  machine,
  max,
  median,
  min,
  options,
  outDir,
  pinSelf,
  rotated,
  run,
  startServer,
  table,
  type Server,
} from './lib/harness.js';
import { serve } from './lib/servers.js';

interface Variant {
  name: string;
  argv: (port: number) => string[];
  /** What its ratio is taken against (default node:http). */
  base?: string;
}

interface Slice {
  rep: number;
  requests: number;
  seconds: number;
  rps: number;
  server_cpu_s: number;
  wrk_cpu_s: number;
  other_cpu_s: number;
  p50_us: number;
  p99_us: number;
  errors: number;
}

const self = fileURLToPath(import.meta.url);

/** "188.00us" / "1.20ms" / "2.00s" -> µs */
function micros(v: string, unit: string): number {
  return Number(v) * (unit === 's' ? 1e6 : unit === 'ms' ? 1e3 : 1);
}

/** One wrk run against port, pinned; its figures and its own CPU (through the shell's cutime). */
type WrkRun = Omit<Slice, 'rep' | 'server_cpu_s' | 'other_cpu_s'>;

async function wrk(port: number, seconds: number, conns: number, clientCpu: number): Promise<WrkRun> {
  const pin = hasTaskset ? `taskset -c ${clientCpu} ` : '';
  const script = `${pin}wrk -t1 -c${conns} -d${seconds}s --latency http://127.0.0.1:${port}/; echo; cat /proc/$$/stat`;
  const r = await run('sh', ['-c', script], (seconds + 30) * 1000);
  const out = r.stdout;
  const done = /(\d+) requests in ([\d.]+)(us|ms|s)/.exec(out);
  if (r.code !== 0 || !done) throw new Error(`wrk failed (${r.code}): ${r.stderr.trim() || out.trim()}`);
  const pct = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(out);
    return m ? micros(m[1]!, m[2]!) : NaN;
  };
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const errors =
    (socketErrors ? socketErrors.slice(1).reduce((a, x) => a + Number(x), 0) : 0) + (non2xx ? Number(non2xx[1]) : 0);
  const secs = micros(done[2]!, done[3]!) / 1e6;
  const requests = Number(done[1]);
  const statLine = out.trim().split('\n').pop()!;
  const wrk_cpu_s = childCpuSeconds(statLine);
  return { requests, seconds: secs, rps: requests / secs, wrk_cpu_s, p50_us: pct('50'), p99_us: pct('99'), errors };
}

async function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  const reps = Number(o.get('reps') ?? 5);
  const seconds = Math.max(1, Math.round(Number(o.get('seconds') ?? 3))); // wrk takes whole seconds
  const warmup = Math.round(Number(o.get('warmup') ?? 1));
  const conns = Number(o.get('conns') ?? 64);
  const serverCpu = Number(o.get('server-cpu') ?? 0);
  const clientCpu = Number(o.get('client-cpu') ?? 1);
  const only = o.get('only')?.split(',');
  // --warmup-once: warm each server before its first slice only (the quick gate; wrk runs whole seconds).
  const warmupOnce = o.get('warmup-once') === 'true';
  const jsonOut = o.get('json') ?? join(outDir, 'net-http.json');

  if (spawnSync('wrk', ['--version']).error) {
    throw new Error('wrk is not installed: apt-get update && apt-get install -y wrk');
  }
  const httpUring = buildC('http-uring');
  const node = (kind: string) => (port: number) => [process.execPath, self, '--serve', kind, String(port)];
  const all: Variant[] = [
    { name: 'C io_uring minimal', argv: (port) => [httpUring, String(port)] },
    { name: 'node:net minimal', argv: node('min-node-net') },
    { name: 'uring minimal (node:net API)', argv: node('min-uring-node') },
    { name: 'uring minimal (native API)', argv: node('min-uring') },
    { name: 'node:http', argv: node('http-node') },
    { name: 'node:http over uring/net', argv: node('http-node-uring') },
    { name: 'uring/http', argv: node('http-uring') },
    { name: 'Express on node:http', argv: node('express-node'), base: 'Express on node:http' },
    { name: 'Express on node:http over uring/net', argv: node('express-node-uring'), base: 'Express on node:http' },
    { name: 'Express on uring/http', argv: node('express-uring'), base: 'Express on node:http' },
  ];
  const variants = all.filter(
    (v) =>
      !only ||
      only.includes(v.name) ||
      v.name === 'C io_uring minimal' ||
      v.name === 'node:http' ||
      all.some((w) => only.includes(w.name) && w.base === v.name),
  );
  const baseOf = Object.fromEntries(all.map((v) => [v.name, v.base ?? 'node:http']));
  pinSelf(clientCpu);

  const servers: Server[] = [];
  const skipped: Record<string, string> = {};
  process.on('exit', () => servers.forEach((s) => s.child.kill('SIGKILL')));
  for (const v of variants) {
    try {
      servers.push(await startServer(v.name, v.argv(await freePort()), serverCpu));
    } catch (e) {
      skipped[v.name] = (e as Error).message;
      console.log(`skipping ${v.name}: ${(e as Error).message}`);
    }
  }

  // --load-ms 0 skips the check (the quick gate does: it costs a second per benchmark).
  const loadMs = Number(o.get('load-ms') ?? 1000);
  const load = loadMs > 0 ? await backgroundLoad(loadMs) : NaN;
  if (load > 0.1) console.log(`warning: the machine was busy before the run (${(load * 100).toFixed(0)}% of a core)`);
  const pinning = hasTaskset ? `server on CPU ${serverCpu}, wrk on CPU ${clientCpu}` : 'unpinned (no taskset)';
  console.log(
    `HTTP "hello", wrk -t1 -c${conns}, keep-alive; ${reps} x ${seconds} s slices after ${warmup} s warmup, ` +
      `interleaved; ${pinning}; node ${process.version}`,
  );
  const slices: Record<string, Slice[]> = Object.fromEntries(servers.map((s) => [s.name, []]));
  for (let rep = 0; rep < reps; rep++) {
    for (const s of rotated(servers, rep)) {
      try {
        if (warmup > 0 && (rep === 0 || !warmupOnce)) await wrk(s.port, warmup, conns, clientCpu);
        const cpu0 = cpuSeconds(s.pid);
        const busy0 = allBusySeconds();
        const w = await wrk(s.port, seconds, conns, clientCpu);
        const busy = allBusySeconds() - busy0;
        const server_cpu_s = cpuSeconds(s.pid) - cpu0;
        const other_cpu_s = Math.max(0, busy - server_cpu_s - w.wrk_cpu_s);
        const slice: Slice = { rep, ...w, server_cpu_s, other_cpu_s };
        if (slice.errors) console.log(`  ${s.name}, rep ${rep + 1}: ${slice.errors} errors`);
        slices[s.name]!.push(slice);
      } catch (e) {
        console.log(`  ${s.name}, rep ${rep + 1}: ${(e as Error).message}`);
      }
    }
  }
  for (const s of servers) await s.stop();

  const summary = summarize(slices, baseOf);
  report(summary);
  const meta = { ...machine(), backgroundLoad: load, conns, reps, seconds, warmup, serverCpu, clientCpu };
  writeFileSync(jsonOut, JSON.stringify({ benchmark: 'net-http', ...meta, skipped, summary, slices }, null, 2) + '\n');
  console.log(`\nJSON: ${jsonOut}`);
}

/** Ratios to `base` within each repetition (both slices measured in the same round). */
function ratios(xs: Slice[], base: Slice[] | undefined) {
  const r = xs.map((x) => x.rps / (base?.find((b) => b.rep === x.rep)?.rps ?? NaN)).filter(Number.isFinite);
  return { median: median(r), min: min(r), max: max(r) };
}

/** The base's CPU per request over this server's, within each repetition. */
function cpuRatios(xs: Slice[], base: Slice[] | undefined) {
  const per = (x: Slice) => x.server_cpu_s / x.requests;
  const r = xs
    .map((x) => {
      const b = base?.find((y) => y.rep === x.rep);
      return b ? per(b) / per(x) : NaN;
    })
    .filter(Number.isFinite);
  return { median: median(r), min: min(r), max: max(r) };
}

function summarize(slices: Record<string, Slice[]>, baseOf: Record<string, string>) {
  return Object.fromEntries(
    Object.entries(slices).map(([name, xs]) => {
      const rps = xs.map((x) => x.rps);
      return [
        name,
        {
          rps: { median: median(rps), min: min(rps), max: max(rps) },
          vs_c_minimal: ratios(xs, slices['C io_uring minimal']),
          /** Against node:http, or Express on node:http for the Express variants (base). */
          base: baseOf[name] ?? 'node:http',
          vs_base: ratios(xs, slices[baseOf[name] ?? 'node:http']),
          /** The base's server CPU per request / this one's, per repetition: above 1, this one needs less. */
          cpu_vs_base: cpuRatios(xs, slices[baseOf[name] ?? 'node:http']),
          server_cpu_us_per_req: median(xs.map((x) => (x.server_cpu_s / x.requests) * 1e6)),
          server_cpu_use: median(xs.map((x) => x.server_cpu_s / x.seconds)),
          wrk_cpu_use: median(xs.map((x) => x.wrk_cpu_s / x.seconds)),
          other_cpu_use: median(xs.map((x) => x.other_cpu_s / x.seconds)),
          p50_us: median(xs.map((x) => x.p50_us)),
          p99_us: median(xs.map((x) => x.p99_us)),
          errors: xs.reduce((a, x) => a + x.errors, 0),
          slices: xs.length,
        },
      ];
    }),
  );
}

function report(sum: ReturnType<typeof summarize>): void {
  const range = (r: { median: number; min: number; max: number }) =>
    `${fixed(r.median)} (${fixed(r.min)}-${fixed(r.max)})`;
  const cBase = sum['C io_uring minimal']?.server_cpu_us_per_req ?? NaN;
  const header = [
    [
      'server',
      'req/s median (min-max)',
      'vs C minimal',
      'vs node:http (Express: vs Express on node)',
      'CPU/req',
      'vs C',
      'CPU: base / this',
    ],
    ['server CPU', 'wrk CPU', 'other CPU', 'p50/p99 µs'],
  ].flat();
  const rows = [header];
  for (const [name, s] of Object.entries(sum)) {
    rows.push([
      name,
      `${kfmt(s.rps.median)} (${kfmt(s.rps.min)}-${kfmt(s.rps.max)})`,
      range(s.vs_c_minimal),
      range(s.vs_base),
      `${fixed(s.server_cpu_us_per_req)} µs`,
      `${fixed(s.server_cpu_us_per_req / cBase)}x`,
      range(s.cpu_vs_base),
      `${(s.server_cpu_use * 100).toFixed(0)}%`,
      `${(s.wrk_cpu_use * 100).toFixed(0)}%`,
      `${(s.other_cpu_use * 100).toFixed(0)}%`,
      `${s.p50_us.toFixed(0)}/${s.p99_us.toFixed(0)}`,
    ]);
  }
  console.log('');
  console.log(table(rows));
}

if (process.argv[2] === '--serve') {
  serve(process.argv[3]!, Number(process.argv[4])).catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
