// Multi-core scaling (issue 13, part 4): the same server with 1 and with 2
// workers, under one keep-alive load, in one run.
//
//   node:http        hello world under node:cluster (node's default
//                    scheduling: the primary accepts and hands each
//                    connection to a worker, round-robin)
//   uring threads    uring/http hello world, one runtime (ring) per worker
//                    thread, each thread's own listening socket on the port
//                    (reusePort: SO_REUSEPORT), as `uring serve` runs
//   uring cluster    the same under node:cluster: each worker binds the port
//                    itself with reusePort (what `--import uring/register`
//                    does for cluster apps)
//   serve-handler    node's static server (what `npx serve` runs) under
//                    node:cluster, GET of one 4 KiB file
//   uring serve      `uring serve --workers N -q`, the same file
//
//   node dist/bench/scaling.js [--reps 5] [--seconds 3] [--conns 64]
//        [--workers 1,2] [--only hello,static] [--load autocannon|wrk]
//        [--server-cpus 0|0,1] [--client-cpu 1] [--json bench/out/scaling.json]
//
// Pinning on a 2-core machine: a 1-worker server runs on CPU 0 and a 2-worker
// one on CPUs 0 and 1 (every thread and process of it, the cluster primary
// too), the load generator on CPU 1 always. So the 1-worker figure has a core
// to itself, and the 2-worker figure shares CPU 1 with the load generator:
// whatever the generator takes of CPU 1 (reported: "load cores") is what the
// second worker cannot have, so the 2-worker rate is bounded by
// (2 − load cores) / server CPU per request. Reported per slice: requests/s,
// the server's CPU per request (utime+stime of its process tree / requests),
// the cores it used, the cores the load generator used (its cutime, read by
// the shell that waited for it), and what the rest of the machine took
// (all CPUs' busy time minus those two: the other tenants). Every server
// starts once and gets one warm-up slice; each repetition measures every
// server, the order rotated. Median of --reps with min–max; "2 / 1" is the
// median of the per-repetition ratios of a server's 2-worker rate to its
// 1-worker rate.
import cluster from 'node:cluster';
import http from 'node:http';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import {
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
  root as repo,
  rotated,
  run,
  stopChild,
  table,
} from './lib/harness.js';

const self = fileURLToPath(import.meta.url);
const require = createRequire(import.meta.url);
const HOST = '127.0.0.1';

type Kind = 'node-http' | 'uring-threads' | 'uring-cluster' | 'serve-handler' | 'uring-serve';

const KINDS: { kind: Kind; label: string; workload: 'hello' | 'static' }[] = [
  { kind: 'node-http', label: 'node:http, cluster', workload: 'hello' },
  { kind: 'uring-threads', label: 'uring/http, threads', workload: 'hello' },
  { kind: 'uring-cluster', label: 'uring/http, cluster', workload: 'hello' },
  { kind: 'serve-handler', label: 'serve-handler, cluster', workload: 'static' },
  { kind: 'uring-serve', label: 'uring serve', workload: 'static' },
];

const hello = (_req: http.IncomingMessage, res: http.ServerResponse) => res.end('hello');

// ---------------------------------------------------------------- servers
//
// `node dist/bench/scaling.js --serve <kind> <workers> <port> <root>`: prints
// "listening <port>" once every worker listens.

async function uringCreateServer(): Promise<typeof http.createServer> {
  const mod = (await import('../src/http/index.js')) as { createServer: typeof http.createServer };
  return mod.createServer;
}

/** One worker's server (a cluster worker or a thread); resolves once it listens. */
async function listenOne(kind: Kind, port: number, root: string, reusePort: boolean): Promise<void> {
  let server: http.Server;
  if (kind === 'node-http') server = http.createServer(hello);
  else if (kind === 'serve-handler') {
    const handler = require('serve-handler') as (
      req: http.IncomingMessage,
      res: http.ServerResponse,
      o: { public: string },
    ) => Promise<void>;
    server = http.createServer((req, res) => void handler(req, res, { public: root }));
  } else server = (await uringCreateServer())(hello);
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    if (kind === 'uring-threads' || kind === 'uring-cluster') server.listen({ port, host: HOST, reusePort }, done);
    else server.listen(port, HOST, done);
  });
}

async function serveMain(kind: Kind, workers: number, port: number, root: string): Promise<void> {
  if (kind === 'uring-threads') {
    // The main thread is the first worker; the others are threads with their own rings.
    await listenOne(kind, port, root, workers > 1);
    await Promise.all(
      Array.from(
        { length: workers - 1 },
        () =>
          new Promise<void>((done, fail) => {
            const w = new Worker(self, { workerData: { kind, port, root } });
            w.once('message', () => done());
            w.once('error', fail);
          }),
      ),
    );
  } else {
    // node:cluster: the primary forks the workers and waits until each listens.
    cluster.setupPrimary({ exec: self, args: ['--cluster-worker', kind, String(port), root] });
    await Promise.all(
      Array.from(
        { length: workers },
        () =>
          new Promise<void>((done, fail) => {
            // A message, not 'listening': uring/http's listen does not go through the primary.
            const w = cluster.fork();
            w.once('message', () => done());
            w.once('exit', (code) => fail(new Error(`a worker exited (${code})`)));
          }),
      ),
    );
  }
  console.log(`listening ${port}`);
}

// ---------------------------------------------------------------- load

interface Load {
  requests: number;
  seconds: number;
  errors: number;
  /** CPU-seconds the load generator used. */
  loadCpu: number;
}

async function load(tool: string, url: string, seconds: number, conns: number, cpu: number): Promise<Load> {
  const pin = hasTaskset ? `taskset -c ${cpu} ` : '';
  const cmd =
    tool === 'wrk'
      ? `${pin}wrk -t1 -c${conns} -d${seconds}s ${url}`
      : `${pin}'${process.execPath}' '${require.resolve('autocannon/autocannon.js')}' -c ${conns} -d ${seconds} -j ${url}`;
  // The shell waits for the generator, so its cutime is the generator's CPU.
  const r = await run('sh', ['-c', `${cmd}; echo; cat /proc/$$/stat`], (seconds + 30) * 1000);
  const lines = r.stdout.trim().split('\n');
  const loadCpu = childCpuSeconds(lines.pop()!);
  const out = lines.join('\n');
  if (tool === 'wrk') {
    const done = /(\d+) requests in ([\d.]+)(us|ms|s)/.exec(out);
    if (!done) throw new Error(`wrk failed (${r.code}): ${r.stderr.trim() || out.trim()}`);
    const secs = Number(done[2]) / (done[3] === 's' ? 1 : done[3] === 'ms' ? 1e3 : 1e6);
    const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
    const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
    const errors = (se ? se.slice(1).reduce((a, x) => a + Number(x), 0) : 0) + (non2xx ? Number(non2xx[1]) : 0);
    return { requests: Number(done[1]), seconds: secs, errors, loadCpu };
  }
  let j: { requests?: { total: number }; duration?: number; errors?: number; timeouts?: number; non2xx?: number };
  try {
    j = JSON.parse(out.trim().split('\n').pop()!) as typeof j;
  } catch {
    throw new Error(`autocannon failed (${r.code}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }
  return {
    requests: j.requests?.total ?? NaN,
    seconds: j.duration ?? seconds,
    errors: (j.errors ?? 0) + (j.timeouts ?? 0) + (j.non2xx ?? 0),
    loadCpu,
  };
}

/** A process and every process under it (the cluster's workers), from /proc. */
function tree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const s = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(e));
      children.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []));
  return out;
}

function treeCpu(pids: number[]): number {
  let s = 0;
  for (const p of pids) {
    try {
      s += cpuSeconds(p);
    } catch {
      // an exited worker: its time is lost to the sum, and the slice shows it
    }
  }
  return s;
}

interface Running {
  kind: Kind;
  label: string;
  workload: 'hello' | 'static';
  workers: number;
  port: number;
  child: ChildProcess;
  pids: number[];
}

function start(k: (typeof KINDS)[number], workers: number, port: number, root: string, cpus: string): Promise<Running> {
  const argv =
    k.kind === 'uring-serve'
      ? [
          process.execPath,
          join(repo, 'bin', 'uring.js'),
          'serve',
          root,
          '-p',
          String(port),
          '-q',
          '-w',
          String(workers),
        ]
      : [process.execPath, self, '--serve', k.kind, String(workers), String(port), root];
  const [cmd, args] = hasTaskset ? ['taskset', ['-c', cpus, ...argv]] : [argv[0]!, argv.slice(1)];
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-2000)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${k.label} x${workers}: not listening within 20 s: ${err}`));
    }, 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${k.label} x${workers} exited (${code}): ${err}`));
    });
    child.stdout!.setEncoding('utf8').on('data', function onData(d: string) {
      out += d;
      // Ours print "listening <port>"; uring serve "serving <dir> at http://...".
      if (!/listening \d+|serving .* at http/.test(out)) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.stdout!.resume();
      child.removeAllListeners('exit');
      resolve({ ...k, workers, port, child, pids: tree(child.pid!) });
    });
  });
}

interface Slice {
  rep: number;
  rate: number;
  requests: number;
  seconds: number;
  errors: number;
  server_cpu_s: number;
  load_cpu_s: number;
  busy_s: number;
  /** The slice's wall time, the generator's start-up included: what the cores are per. */
  wall_s: number;
}

async function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  const reps = Number(o.get('reps') ?? 5);
  const seconds = Math.max(1, Math.round(Number(o.get('seconds') ?? 3)));
  const conns = Number(o.get('conns') ?? 64);
  const workerCounts = (o.get('workers') ?? '1,2').split(',').map(Number);
  const only = o.get('only')?.split(',');
  const tool = o.get('load') ?? 'autocannon';
  const clientCpu = Number(o.get('client-cpu') ?? 1);
  const serverCpus = (n: number) =>
    o.get('server-cpus') ?? (n === 1 ? '0' : Array.from({ length: n }, (_, i) => i).join(','));
  const jsonOut = o.get('json') ?? join(outDir, 'scaling.json');
  if (tool === 'autocannon') require.resolve('autocannon/autocannon.js');

  const root = mkdtempSync(join(tmpdir(), 'uring-bench-scaling-'));
  writeFileSync(join(root, 'small.bin'), randomBytes(4096));
  pinSelf(clientCpu);
  const servers: Running[] = [];
  process.on('exit', () => servers.forEach((s) => s.child.kill('SIGKILL')));
  try {
    for (const k of KINDS.filter((k) => !only || only.includes(k.workload) || only.includes(k.kind)))
      for (const n of workerCounts) servers.push(await start(k, n, await freePort(), root, serverCpus(n)));
    // The cluster's workers are forked after "listening": the tree again.
    for (const s of servers) s.pids = tree(s.child.pid!);
    const url = (s: Running) => `http://${HOST}:${s.port}/${s.workload === 'static' ? 'small.bin' : ''}`;
    console.log(
      `scaling: ${reps} reps, ${tool} ${seconds} s x ${conns} keep-alive connections on CPU ${clientCpu}; ` +
        `servers with N workers on CPUs ${workerCounts.map((n) => `${n}: ${serverCpus(n)}`).join(', ')}` +
        `${hasTaskset ? '' : ' (unpinned: no taskset)'}; node ${process.version}`,
    );
    for (const s of servers) await load(tool, url(s), 1, conns, clientCpu); // warm-up
    const slices = new Map<Running, Slice[]>(servers.map((s) => [s, []]));
    for (let rep = 0; rep < reps; rep++) {
      for (const s of rotated(servers, rep)) {
        const c0 = treeCpu(s.pids);
        const b0 = allBusySeconds();
        const t0 = performance.now();
        const r = await load(tool, url(s), seconds, conns, clientCpu);
        const wall_s = (performance.now() - t0) / 1000;
        const busy_s = allBusySeconds() - b0;
        const server_cpu_s = treeCpu(s.pids) - c0;
        if (r.errors) console.log(`  ${s.label} x${s.workers}, rep ${rep + 1}: ${r.errors} errors`);
        slices.get(s)!.push({
          rep,
          rate: r.requests / r.seconds,
          requests: r.requests,
          seconds: r.seconds,
          errors: r.errors,
          server_cpu_s,
          load_cpu_s: r.loadCpu,
          busy_s,
          wall_s,
        });
      }
    }
    for (const s of servers) await stopChild(s.child);

    const rows = [['server', 'workers', 'req/s', '2 / 1', 'CPU/req', 'server cores', 'load cores', 'others cores']];
    const summary: Record<string, unknown>[] = [];
    for (const s of servers) {
      const xs = slices.get(s)!;
      const rates = xs.map((x) => x.rate);
      const one = servers.find((t) => t.kind === s.kind && t.workers === 1);
      const ratio =
        s.workers > 1 && one
          ? median(xs.map((x, i) => x.rate / slices.get(one)![i]!.rate).filter(Number.isFinite))
          : NaN;
      const cpuUs = median(xs.map((x) => (x.server_cpu_s / x.requests) * 1e6));
      const serverCores = median(xs.map((x) => x.server_cpu_s / x.wall_s));
      const loadCores = median(xs.map((x) => x.load_cpu_s / x.wall_s));
      const others = median(xs.map((x) => (x.busy_s - x.server_cpu_s - x.load_cpu_s) / x.wall_s));
      rows.push([
        s.label,
        String(s.workers),
        `${kfmt(median(rates))} (${kfmt(min(rates))}-${kfmt(max(rates))})`,
        Number.isFinite(ratio) ? fixed(ratio) : '',
        `${fixed(cpuUs, 1)} µs`,
        fixed(serverCores),
        fixed(loadCores),
        fixed(others),
      ]);
      summary.push({
        server: s.kind,
        workers: s.workers,
        rate: { median: median(rates), min: min(rates), max: max(rates) },
        ratio_to_1_worker: ratio,
        server_cpu_us_per_req: cpuUs,
        server_cores: serverCores,
        load_cores: loadCores,
        other_cores: others,
        slices: xs,
      });
    }
    console.log('');
    console.log(table(rows));
    const meta = { ...machine(), reps, seconds, conns, tool, clientCpu, workerCounts };
    mkdirSync(dirname(jsonOut), { recursive: true });
    writeFileSync(jsonOut, JSON.stringify({ benchmark: 'scaling', ...meta, summary }, null, 2) + '\n');
    console.log(`\nJSON: ${jsonOut}`);
  } finally {
    for (const s of servers) s.child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  }
}

const argv = process.argv.slice(2);
const fail = (e: unknown) => {
  console.error(e);
  process.exit(1);
};
if (!isMainThread) {
  const { kind, port, root } = workerData as { kind: Kind; port: number; root: string };
  const { parentPort } = await import('node:worker_threads');
  listenOne(kind, port, root, true).then(() => parentPort!.postMessage('listening'), fail);
} else if (argv[0] === '--cluster-worker') {
  // A node:cluster worker: node:http listens through the primary; uring/http binds with SO_REUSEPORT.
  listenOne(argv[1] as Kind, Number(argv[2]), argv[3]!, true).then(() => process.send!('listening'), fail);
} else if (argv[0] === '--serve') {
  serveMain(argv[1] as Kind, Number(argv[2]), Number(argv[3]), argv[4]!).catch(fail);
} else {
  main().catch(fail);
}
