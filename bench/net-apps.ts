// Whole-app workloads through node's stream machinery: plain node against
// the same app on uring/http, or the same app file run under
// `node --import <dist/src/register.js>` (uring/register), in one run
// (issues 13 and 14).
//
//   ws echo     ws's WebSocketServer on node:http / on uring/http; --clients
//               ws clients (this process, node:net) each send --messages
//               messages one after another, each waiting for its echo
//   pipelined   node:http hello / uring/http hello under autocannon
//               -c --conns -p 10
//   hello       the same without pipelining (autocannon -c --conns)
//   express     Express's hello world on node:http / on uring/http
//   express-register  Express's hello world on node:http, plain / under the flag
//   fastify     Fastify's hello world, plain / under the flag
//
//   node dist/bench/net-apps.js [--reps 5] [--seconds 3] [--conns 64] [--clients 100]
//        [--messages 1000] [--only ws,pipelined,hello,express,express-register,fastify]
//        [--warmup 0]
//        [--server-cpu 0] [--client-cpu 1] [--json bench/out/net-apps.json]
//
// Every server starts once, pinned to --server-cpu; the load (autocannon,
// from devDependencies, as a child; the ws clients in this process) runs on
// --client-cpu. Each repetition measures both servers of a workload, the
// order alternating, after one warm-up slice each (none with --warmup 0). Reported: the median
// rate with min-max, uring / node (median of per-repetition ratios, with
// min-max), and server CPU per request or message (utime+stime of the
// server across the slice / its requests), the figure the machine's other
// tenants move least.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
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
  run,
  startServer,
  table,
  type Server,
} from './lib/harness.js';
import { serve } from './lib/servers.js';

const self = fileURLToPath(import.meta.url);
const registerPath = fileURLToPath(new URL('../src/register.js', import.meta.url));
const require = createRequire(import.meta.url);

interface Workload {
  name: string;
  node: string;
  uring: string;
  /** The uring side is the server kind `uring` run under `--import` of uring/register. */
  register?: boolean;
  /** What is counted: requests or messages. */
  unit: string;
  load: (port: number) => Promise<{ count: number; seconds: number; errors: number }>;
}

interface Slice {
  rep: number;
  count: number;
  seconds: number;
  rate: number;
  server_cpu_s: number;
  errors: number;
}

async function autocannon(
  port: number,
  seconds: number,
  conns: number,
  pipelining: number,
  cpu: number,
): Promise<{ count: number; seconds: number; errors: number }> {
  const bin = require.resolve('autocannon/autocannon.js');
  const args = [bin, '-c', String(conns), '-p', String(pipelining), '-d', String(seconds), '-j'];
  args.push(`http://127.0.0.1:${port}/`);
  const [cmd, argv] = hasTaskset
    ? ['taskset', ['-c', String(cpu), process.execPath, ...args]]
    : [process.execPath, args];
  const r = await run(cmd, argv, (seconds + 30) * 1000);
  let j: { requests?: { total: number }; duration?: number; errors?: number; timeouts?: number; non2xx?: number };
  try {
    j = JSON.parse(r.stdout) as typeof j;
  } catch {
    throw new Error(`autocannon failed (${r.code}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }
  return {
    count: j.requests?.total ?? NaN,
    seconds: j.duration ?? seconds,
    errors: (j.errors ?? 0) + (j.timeouts ?? 0) + (j.non2xx ?? 0),
  };
}

/** `clients` WebSockets, each sending `messages` 32-byte messages one after another. */
async function wsEcho(
  port: number,
  clients: number,
  messages: number,
): Promise<{ count: number; seconds: number; errors: number }> {
  const { WebSocket } = await import('ws');
  const socks = await Promise.all(
    Array.from(
      { length: clients },
      () =>
        new Promise<import('ws').WebSocket>((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
          ws.once('open', () => resolve(ws));
          ws.once('error', reject);
        }),
    ),
  );
  const payload = Buffer.alloc(32, 'x');
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(
    socks.map(
      (ws) =>
        new Promise<void>((resolve) => {
          let left = messages;
          ws.on('message', () => {
            if (--left === 0) resolve();
            else ws.send(payload);
          });
          ws.on('error', () => {
            errors++;
            resolve();
          });
          ws.send(payload);
        }),
    ),
  );
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all(
    socks.map(
      (ws) =>
        new Promise<void>((resolve) => {
          ws.once('close', () => resolve());
          ws.close();
        }),
    ),
  );
  return { count: clients * messages, seconds, errors };
}

async function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  const reps = Number(o.get('reps') ?? 5);
  const seconds = Math.max(1, Math.round(Number(o.get('seconds') ?? 3)));
  const conns = Number(o.get('conns') ?? 64);
  const clients = Number(o.get('clients') ?? 100);
  const messages = Number(o.get('messages') ?? 1000);
  const serverCpu = Number(o.get('server-cpu') ?? 0);
  const clientCpu = Number(o.get('client-cpu') ?? 1);
  const only = o.get('only')?.split(',');
  const warmup = o.get('warmup') !== '0';
  const jsonOut = o.get('json') ?? join(outDir, 'net-apps.json');

  const all: Workload[] = [
    {
      name: 'ws echo',
      node: 'ws-node',
      uring: 'ws-uring',
      unit: 'msg',
      load: (port) => wsEcho(port, clients, messages),
    },
    {
      name: 'pipelined',
      node: 'http-node',
      uring: 'http-uring',
      unit: 'req',
      load: (port) => autocannon(port, seconds, conns, 10, clientCpu),
    },
    {
      name: 'hello',
      node: 'http-node',
      uring: 'http-uring',
      unit: 'req',
      load: (port) => autocannon(port, seconds, conns, 1, clientCpu),
    },
    {
      name: 'express',
      node: 'express-node',
      uring: 'express-uring',
      unit: 'req',
      load: (port) => autocannon(port, seconds, conns, 1, clientCpu),
    },
    {
      name: 'express-register',
      node: 'express-node',
      uring: 'express-node',
      register: true,
      unit: 'req',
      load: (port) => autocannon(port, seconds, conns, 1, clientCpu),
    },
    {
      name: 'fastify',
      node: 'fastify-node',
      uring: 'fastify-node',
      register: true,
      unit: 'req',
      load: (port) => autocannon(port, seconds, conns, 1, clientCpu),
    },
  ];
  const workloads = all.filter((w) => !only || only.includes(w.name.split(' ')[0]!));
  if (workloads.some((w) => w.unit === 'req')) {
    try {
      require.resolve('autocannon/autocannon.js');
    } catch {
      throw new Error('autocannon is not installed (a devDependency: npm ci)');
    }
  }
  if (workloads.some((w) => w.register) && !existsSync(registerPath)) {
    throw new Error(`no ${registerPath}: run npx tsc -p . first`);
  }
  pinSelf(clientCpu);
  // A server is its kind, and the kind under the flag is another server (another process).
  const key = (w: Workload, side: 'node' | 'uring') =>
    side === 'uring' && w.register ? `${w.uring}+register` : w[side];
  const servers = new Map<string, Server>();
  process.on('exit', () => servers.forEach((s) => s.child.kill('SIGKILL')));
  for (const w of workloads) {
    for (const side of ['node', 'uring'] as const) {
      const k = key(w, side);
      if (servers.has(k)) continue;
      const flags = k.endsWith('+register') ? ['--import', registerPath] : [];
      const argv = [process.execPath, ...flags, self, '--serve', w[side], String(await freePort())];
      servers.set(k, await startServer(k, argv, serverCpu));
    }
  }
  const pinning = hasTaskset ? `servers on CPU ${serverCpu}, load on CPU ${clientCpu}` : 'unpinned (no taskset)';
  console.log(
    `whole apps, plain node vs uring/http or uring/register: ${reps} reps, autocannon ${seconds} s x ${conns} connections, ` +
      `ws ${clients} clients x ${messages} messages; ${pinning}; node ${process.version}`,
  );

  const slices: Record<string, Record<'node' | 'uring', Slice[]>> = {};
  for (const w of workloads) {
    slices[w.name] = { node: [], uring: [] };
    // A warm-up slice each (JIT, connection setup).
    if (warmup) for (const side of ['node', 'uring'] as const) await w.load(servers.get(key(w, side))!.port);
    for (let rep = 0; rep < reps; rep++) {
      const order = rep % 2 ? (['uring', 'node'] as const) : (['node', 'uring'] as const);
      for (const side of order) {
        const s = servers.get(key(w, side))!;
        const cpu0 = cpuSeconds(s.pid);
        const r = await w.load(s.port);
        const server_cpu_s = cpuSeconds(s.pid) - cpu0;
        if (r.errors) console.log(`  ${w.name} ${side}, rep ${rep + 1}: ${r.errors} errors`);
        slices[w.name]![side].push({ rep, ...r, rate: r.count / r.seconds, server_cpu_s });
      }
    }
  }
  for (const s of servers.values()) await s.stop();

  const summary = Object.fromEntries(
    workloads.map((w) => {
      const sl = slices[w.name]!;
      const side = (xs: Slice[]) => ({
        rate: {
          median: median(xs.map((x) => x.rate)),
          min: min(xs.map((x) => x.rate)),
          max: max(xs.map((x) => x.rate)),
        },
        server_cpu_us: median(xs.map((x) => (x.server_cpu_s / x.count) * 1e6)),
        errors: xs.reduce((a, x) => a + x.errors, 0),
      });
      const r = sl.uring.map((u, i) => u.rate / sl.node[i]!.rate).filter(Number.isFinite);
      const node = side(sl.node);
      const uring = side(sl.uring);
      return [
        w.name,
        {
          unit: w.unit,
          node,
          uring,
          /** uring / node, rate: median of per-repetition ratios. */
          ratio: { median: median(r), min: min(r), max: max(r) },
          /** node's server CPU per request / uring's: above 1, uring needs less. */
          cpu_ratio: node.server_cpu_us / uring.server_cpu_us,
        },
      ];
    }),
  );
  const rng = (r: { median: number; min: number; max: number }, f: (v: number) => string) =>
    `${f(r.median)} (${f(r.min)}-${f(r.max)})`;
  const rows = [
    ['workload', 'node /s', 'uring /s', 'uring / node', 'node CPU/op', 'uring CPU/op', 'CPU: node / uring'],
  ];
  for (const [name, s] of Object.entries(summary)) {
    rows.push([
      name,
      rng(s.node.rate, kfmt),
      rng(s.uring.rate, kfmt),
      rng(s.ratio, (v) => fixed(v)),
      `${fixed(s.node.server_cpu_us)} µs`,
      `${fixed(s.uring.server_cpu_us)} µs`,
      fixed(s.cpu_ratio),
    ]);
  }
  console.log('');
  console.log(table(rows));
  const meta = { ...machine(), reps, seconds, conns, clients, messages, serverCpu, clientCpu };
  mkdirSync(dirname(jsonOut), { recursive: true });
  writeFileSync(jsonOut, JSON.stringify({ benchmark: 'net-apps', ...meta, summary, slices }, null, 2) + '\n');
  console.log(`\nJSON: ${jsonOut}`);
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
