// `uring serve` against a node static server (serve-handler, what `npx serve`
// runs, on node:http) under wrk, in one run: one 4 KiB file (64 keep-alive
// connections: requests/s) and one 100 MB file (4 connections: MB/s), with
// `uring serve --workers 1` and `--workers 2`. Both servers run --quiet (no
// access log) and uncompressed (wrk sends no Accept-Encoding).
//
//   node dist/bench/serve-static.js [--reps 5] [--seconds 3] [--json FILE]
//
// Every server starts once; each repetition gives each one a 1 s warm-up and a
// --seconds measured wrk run, the order rotated. Reported: median with min and
// max, the ratio to serve-handler (median of the per-repetition ratios), and
// the server's CPU time per request (utime+stime from /proc across the run).
// Nothing is pinned: on a 2-core machine wrk shares the cores with the servers,
// --workers 2 most of all (its figure is a lower bound of what 2 cores give).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, closeSync, writeSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { freePort } from './lib/harness.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const reps = Number(opt('reps', '5'));
const seconds = Number(opt('seconds', '3'));
const json = opt('json', '');
const repo = fileURLToPath(new URL('../..', import.meta.url));

if (spawnSync('wrk', ['--version']).error) {
  console.log('serve-static: skipped, wrk is not installed (apt-get install wrk)');
  process.exit(0);
}

const root = mkdtempSync(join(tmpdir(), 'uring-bench-serve-'));
writeFileSync(join(root, 'small.bin'), randomBytes(4096));
{
  // 100 MB of random bytes (written in 1 MiB pieces).
  const fd = openSync(join(root, 'large.bin'), 'w');
  const piece = randomBytes(1 << 20);
  for (let i = 0; i < 100; i++) writeSync(fd, piece);
  closeSync(fd);
}

interface Server {
  name: string;
  child: ChildProcess;
  port: number;
}

async function waitPort(port: number): Promise<void> {
  const end = Date.now() + 20_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true))).once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing listening on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function start(name: string, argv: string[], port: number): Promise<Server> {
  const child = spawn(process.execPath, argv, { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });
  await waitPort(port);
  return { name, child, port };
}

function cpu(s: Server): number {
  // Every thread's time: /proc/PID/stat counts the whole process.
  const line = readFileSync(`/proc/${s.child.pid}/stat`, 'utf8');
  const f = line.slice(line.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in USER_HZ (100 on Linux)
}

function wrk(s: Server, path: string, conns: number, secs: number): { rps: number; bps: number } {
  const port = s.port;
  const r = spawnSync('wrk', ['-t1', `-c${conns}`, `-d${secs}s`, `http://127.0.0.1:${port}/${path}`], {
    encoding: 'utf8',
  });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1]);
  const m = /Transfer\/sec:\s+([\d.]+)([KMG]?B)/.exec(r.stdout);
  const unit = { B: 1, KB: 1024, MB: 1 << 20, GB: 1 << 30 }[m?.[2] ?? 'B'] ?? 1;
  const errors = /Socket errors:.*|Non-2xx.*/.exec(r.stdout);
  if (errors) console.error(`  wrk ${path} on ${s.name}: ${errors[0]}`);
  return { rps, bps: Number(m?.[1]) * unit };
}

const uring = join(repo, 'bin', 'uring.js');
const handlerScript =
  "const h=require('serve-handler');require('http').createServer((q,s)=>h(q,s,{public:process.argv[1]}))" +
  ".listen(Number(process.argv[2]),'127.0.0.1')";
const servers: Server[] = [];
const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
servers.push(await start('serve-handler', ['-e', handlerScript, root, String(p1)], p1));
servers.push(await start('uring serve -w 1', [uring, 'serve', root, '-p', String(p2), '-q', '-w', '1'], p2));
servers.push(await start('uring serve -w 2', [uring, 'serve', root, '-p', String(p3), '-q', '-w', '2'], p3));

const workloads = [
  { name: '4 KiB file, 64 conns', path: 'small.bin', conns: 64 },
  { name: '100 MB file, 4 conns', path: 'large.bin', conns: 4 },
];
type Row = { rps: number[]; bps: number[]; cpuPerReq: number[] };
const results: Record<string, Record<string, Row>> = {};
try {
  for (const w of workloads) {
    results[w.name] = {};
    for (const s of servers) results[w.name]![s.name] = { rps: [], bps: [], cpuPerReq: [] };
    for (let rep = 0; rep < reps; rep++) {
      const order = servers.map((_, i) => servers[(i + rep) % servers.length]!);
      for (const s of order) {
        wrk(s, w.path, w.conns, 1);
        const c0 = cpu(s);
        const r = wrk(s, w.path, w.conns, seconds);
        const row = results[w.name]![s.name]!;
        row.rps.push(r.rps);
        row.bps.push(r.bps);
        row.cpuPerReq.push(((cpu(s) - c0) / (r.rps * seconds)) * 1e6);
      }
    }
  }
} finally {
  for (const s of servers) s.child.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const fmt = (xs: number[], f: (x: number) => string) =>
  `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
const k = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0));
const mb = (x: number) => `${(x / (1 << 20)).toFixed(0)}`;
for (const w of workloads) {
  console.log(`\n${w.name} (median of ${reps}, min–max)`);
  const base = results[w.name]!['serve-handler']!;
  for (const s of servers) {
    const row = results[w.name]![s.name]!;
    const ratio = median(row.rps.map((x, i) => x / base.rps[i]!));
    console.log(
      `  ${s.name.padEnd(18)} ${fmt(row.rps, k).padEnd(24)} req/s  ${fmt(row.bps, mb).padEnd(18)} MiB/s  ` +
        `${ratio.toFixed(2)}×  CPU/req ${median(row.cpuPerReq).toFixed(0)} µs`,
    );
  }
}
if (json) writeFileSync(json, JSON.stringify(results, null, 2));
