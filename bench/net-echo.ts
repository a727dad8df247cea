// TCP echo, ping-pong: uring's sockets against node:net and two C servers (io_uring
// and epoll), driven by one C load generator (bench/c/loadgen.c), in one run.
//
//   node dist/bench/net-echo.js [--reps 5] [--seconds 3] [--warmup 1] [--conns 64]
//        [--sizes 64,4096] [--only name,name] [--server-cpu 0] [--client-cpu 1]
//        [--engine epoll|uring] [--load-ms 1000] [--json bench/out/net-echo.json]
//
// Every server starts once, pinned to --server-cpu, and stays up; then for each
// message size, 5 repetitions, and in each repetition every server gets one
// slice (the load generator pinned to --client-cpu: --warmup s, then --seconds s
// measured), the order rotated each repetition. Reported per server: median
// messages/s with min and max, the ratio to the C io_uring server (median of the
// per-repetition ratios: both measured in the same repetition), server CPU per
// message (utime+stime of the server process over the measured window / the
// messages), server and load-generator CPU use, the CPU everything else took
// meanwhile (all CPUs' busy time from /proc/stat minus those two: a sign of
// a contended slice), round-trip p50/p99.
//
// The uring variants need uring's net layer built (dist/src/net/); without it
// they are skipped, with the reason.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  backgroundLoad,
  buildC,
  fixed,
  freePort,
  kfmt,
  machine,
  max,
  median,
  min,
  options,
  outDir,
  pinned,
  pinSelf,
  hasTaskset,
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
}

interface Slice {
  rep: number;
  msgs_per_s: number;
  messages: number;
  seconds: number;
  server_cpu_s: number;
  loadgen_cpu_s: number;
  all_cpu_busy_s: number;
  p50_us: number;
  p99_us: number;
  errors: number;
}

const self = fileURLToPath(import.meta.url);

async function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  const reps = Number(o.get('reps') ?? 5);
  const seconds = Number(o.get('seconds') ?? 3);
  const warmup = Number(o.get('warmup') ?? 1);
  const conns = Number(o.get('conns') ?? 64);
  const sizes = (o.get('sizes') ?? '64,4096').split(',').map(Number);
  const serverCpu = Number(o.get('server-cpu') ?? 0);
  const clientCpu = Number(o.get('client-cpu') ?? 1);
  const engine = o.get('engine') ?? 'epoll';
  const only = o.get('only')?.split(',');
  const jsonOut = o.get('json') ?? join(outDir, 'net-echo.json');

  const echoUring = buildC('echo-uring');
  const echoEpoll = buildC('echo-epoll');
  const loadgen = buildC('loadgen');
  const node = (kind: string) => (port: number) => [process.execPath, self, '--serve', kind, String(port)];
  const all: Variant[] = [
    { name: 'C io_uring', argv: (port) => [echoUring, String(port)] },
    { name: 'C epoll', argv: (port) => [echoEpoll, String(port)] },
    { name: 'node:net', argv: node('echo-node-net') },
    { name: 'uring (node:net API)', argv: node('echo-uring-node') },
    { name: 'uring (native API)', argv: node('echo-uring') },
  ];
  const variants = all.filter((v) => !only || only.includes(v.name) || v.name === 'C io_uring');
  pinSelf(clientCpu); // keep this process off the server's core

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
  if (!servers.some((s) => s.name === 'C io_uring')) {
    throw new Error(`the C io_uring server did not start: ${skipped['C io_uring']}`);
  }

  // --load-ms 0 skips the check (the quick gate does: it costs a second per benchmark).
  const loadMs = Number(o.get('load-ms') ?? 1000);
  const load = loadMs > 0 ? await backgroundLoad(loadMs) : NaN;
  if (load > 0.1) console.log(`warning: the machine was busy before the run (${(load * 100).toFixed(0)}% of a core)`);
  const pinning = hasTaskset
    ? `server on CPU ${serverCpu}, load generator (C, ${engine}) on CPU ${clientCpu}`
    : 'unpinned (no taskset)';
  console.log(
    `TCP echo, ping-pong, ${conns} connections; ${reps} x ${seconds} s slices after ${warmup} s warmup, ` +
      `interleaved; ${pinning}; node ${process.version}`,
  );
  const results: Record<string, Record<string, Slice[]>> = {};
  for (const size of sizes) {
    const bySize: Record<string, Slice[]> = Object.fromEntries(servers.map((s) => [s.name, []]));
    results[size] = bySize;
    for (let rep = 0; rep < reps; rep++) {
      for (const s of rotated(servers, rep)) {
        const argv = [loadgen, '-e', engine, '-c', String(conns), '-s', String(size), '-w', String(warmup)];
        argv.push('-d', String(seconds), '-p', String(s.pid), '127.0.0.1', String(s.port));
        const [cmd, args] = pinned(clientCpu, argv);
        const r = await run(cmd, args, (warmup + seconds + 20) * 1000);
        const line = r.stdout.trim().split('\n').pop() ?? '';
        if (r.code !== 0 || !line.startsWith('{')) {
          console.log(`  ${s.name}, ${size} B, rep ${rep + 1}: load generator failed (${r.code}): ${r.stderr.trim()}`);
          continue;
        }
        const slice = { rep, ...JSON.parse(line) } as Slice;
        if (slice.errors) console.log(`  ${s.name}, ${size} B, rep ${rep + 1}: ${slice.errors} errors`);
        bySize[s.name]!.push(slice);
      }
    }
    report(size, bySize, seconds);
  }
  for (const s of servers) await s.stop();
  const summary = Object.fromEntries(
    Object.entries(results).map(([size, bySize]) => [size, summarize(bySize, seconds)]),
  );
  const meta = { ...machine(), backgroundLoad: load, conns, reps, seconds, warmup, engine, serverCpu, clientCpu };
  const json = { benchmark: 'net-echo', ...meta, skipped, summary, slices: results };
  writeFileSync(jsonOut, JSON.stringify(json, null, 2) + '\n');
  console.log(`\nJSON: ${jsonOut}`);
}

function summarize(bySize: Record<string, Slice[]>, seconds: number) {
  const base = bySize['C io_uring'] ?? [];
  return Object.fromEntries(
    Object.entries(bySize).map(([name, xs]) => {
      const rate = xs.map((x) => x.msgs_per_s);
      // Ratios within a repetition: both slices measured in the same round.
      const ratios = xs
        .map((x) => x.msgs_per_s / (base.find((b) => b.rep === x.rep)?.msgs_per_s ?? NaN))
        .filter(Number.isFinite);
      const cpuPerMsg = xs.map((x) => (x.server_cpu_s / x.messages) * 1e6);
      return [
        name,
        {
          msgs_per_s: { median: median(rate), min: min(rate), max: max(rate) },
          vs_c_uring: { median: median(ratios), min: min(ratios), max: max(ratios) },
          server_cpu_us_per_msg: median(cpuPerMsg),
          server_cpu_use: median(xs.map((x) => x.server_cpu_s / x.seconds)),
          loadgen_cpu_use: median(xs.map((x) => x.loadgen_cpu_s / x.seconds)),
          other_cpu_use: median(
            xs.map((x) => Math.max(0, x.all_cpu_busy_s - x.server_cpu_s - x.loadgen_cpu_s) / x.seconds),
          ),
          p50_us: median(xs.map((x) => x.p50_us)),
          p99_us: median(xs.map((x) => x.p99_us)),
          errors: xs.reduce((a, x) => a + x.errors, 0),
          slices: xs.length,
          seconds,
        },
      ];
    }),
  );
}

function report(size: number, bySize: Record<string, Slice[]>, seconds: number): void {
  const sum = summarize(bySize, seconds);
  const cBase = sum['C io_uring']?.server_cpu_us_per_msg ?? NaN;
  const header = [
    ['server', 'msgs/s median (min-max)', 'vs C io_uring', 'CPU/msg', 'vs C'],
    ['server CPU', 'loadgen CPU', 'other CPU', 'p50/p99 µs'],
  ].flat();
  const rows = [header];
  for (const [name, s] of Object.entries(sum)) {
    rows.push([
      name,
      `${kfmt(s.msgs_per_s.median)} (${kfmt(s.msgs_per_s.min)}-${kfmt(s.msgs_per_s.max)})`,
      `${fixed(s.vs_c_uring.median)} (${fixed(s.vs_c_uring.min)}-${fixed(s.vs_c_uring.max)})`,
      `${fixed(s.server_cpu_us_per_msg)} µs`,
      `${fixed(s.server_cpu_us_per_msg / cBase)}x`,
      `${(s.server_cpu_use * 100).toFixed(0)}%`,
      `${(s.loadgen_cpu_use * 100).toFixed(0)}%`,
      `${(s.other_cpu_use * 100).toFixed(0)}%`,
      `${s.p50_us.toFixed(0)}/${s.p99_us.toFixed(0)}`,
    ]);
  }
  console.log(`\n${size} B messages`);
  console.log(table(rows));
}

if (process.argv[2] === '--serve') {
  const port = Number(process.argv[4]);
  serve(process.argv[3]!, port).catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
