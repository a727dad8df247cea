// uring/https's server and uring/http's client against node's, in one run:
//
// - https: "hello" over TLS, keep-alive, under wrk (-t1, --conns connections):
//   node:https against uring/https (node's TLSSocket over a uring socket, its
//   bytes through a JS stream). Does TLS over a uring socket still pay?
// - client: requests/s and client CPU per request of node's http.Agent
//   against uring/http's Agent (keep-alive, --conns sockets, as many requests
//   in flight), both against the same node:http "hello" server.
//
//   node dist/bench/http-client.js [--reps 5] [--seconds 3] [--conns 64]
//        [--server-cpu 0] [--client-cpu 1] [--only https,client]
//
// Each server runs in its own process, pinned to --server-cpu; wrk and this
// process (the client) to --client-cpu. Each repetition measures every variant
// once, the order rotated; reported: median requests/s (min-max), the median
// of the per-repetition ratios to node's, and CPU per request: the server's
// for https (utime+stime of its process over the wrk run), the client's for
// client (this process's cpuUsage over the run). The keys are the test
// fixture's (test/helpers/tls-fixture.ts), self-signed.
import http from 'node:http';
import https from 'node:https';
import { fileURLToPath } from 'node:url';
import {
  cpuSeconds,
  childCpuSeconds,
  fixed,
  freePort,
  hasTaskset,
  kfmt,
  max,
  median,
  min,
  options,
  pinSelf,
  rotated,
  run,
  startServer,
  table,
  type Server,
} from './lib/harness.js';
import { serverKey, serverCert } from '../test/helpers/tls-fixture.js';

const self = fileURLToPath(import.meta.url);
const HOST = '127.0.0.1';
const hello = (_req: http.IncomingMessage, res: http.ServerResponse) => res.end('hello');

async function serve(kind: string, port: number): Promise<void> {
  const ready = () => process.stdout.write(`listening ${port}\n`);
  process.on('SIGTERM', () => process.exit(0));
  const tlsOptions = { key: serverKey, cert: serverCert };
  if (kind === 'https-node') https.createServer(tlsOptions, hello).listen(port, HOST, ready);
  else if (kind === 'https-uring') {
    const { createServer } = await import('../src/https/index.js');
    createServer(tlsOptions, hello).listen(port, HOST, ready);
  } else if (kind === 'http-node') http.createServer(hello).listen(port, HOST, ready);
  else throw new Error(`unknown server ${kind}`);
}

interface Slice {
  rep: number;
  rps: number;
  /** CPU µs per request: the server's (https) or the client's (client). */
  cpuUs: number;
}

/** wrk against an https port, pinned; requests/s and its requests. */
async function wrk(port: number, seconds: number, conns: number, cpu: number) {
  const pin = hasTaskset ? `taskset -c ${cpu} ` : '';
  const script = `${pin}wrk -t1 -c${conns} -d${seconds}s https://${HOST}:${port}/; echo; cat /proc/$$/stat`;
  const r = await run('sh', ['-c', script], (seconds + 30) * 1000);
  const done = /(\d+) requests in ([\d.]+)(us|ms|s)/.exec(r.stdout);
  if (r.code !== 0 || !done) throw new Error(`wrk failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  const secs = Number(done[2]) / (done[3] === 's' ? 1 : done[3] === 'ms' ? 1e3 : 1e6);
  const statLine = r.stdout.trim().split('\n').pop()!;
  return { requests: Number(done[1]), rps: Number(done[1]) / secs, wrkCpu: childCpuSeconds(statLine) };
}

/** `conns` loops of sequential GETs through `agent` for `seconds`; requests/s and this process's CPU per request. */
async function drive(agent: http.Agent, port: number, seconds: number, conns: number) {
  let requests = 0;
  const end = performance.now() + seconds * 1000;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      http
        .get({ host: HOST, port, path: '/', agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
        .on('error', reject);
    });
  const loop = async () => {
    while (performance.now() < end) {
      await one();
      requests++;
    }
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: conns }, loop));
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { rps: requests / secs, cpuUs: (cpu.user + cpu.system) / requests };
}

function summarize(title: string, slices: Record<string, Slice[]>, base: string, cpuWhat: string): void {
  const rows = [['variant', 'req/s median (min-max)', `vs ${base}`, `${cpuWhat} CPU/req median (min-max)`]];
  for (const [name, xs] of Object.entries(slices)) {
    const rps = xs.map((x) => x.rps);
    const cpu = xs.map((x) => x.cpuUs);
    const ratio = xs
      .map((x) => x.rps / (slices[base]!.find((b) => b.rep === x.rep)?.rps ?? NaN))
      .filter(Number.isFinite);
    rows.push([
      name,
      `${kfmt(median(rps))} (${kfmt(min(rps))}-${kfmt(max(rps))})`,
      `${fixed(median(ratio))} (${fixed(min(ratio))}-${fixed(max(ratio))})`,
      `${fixed(median(cpu), 1)} µs (${fixed(min(cpu), 1)}-${fixed(max(cpu), 1)})`,
    ]);
  }
  console.log(`\n${title}\n${table(rows)}`);
}

async function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  const reps = Number(o.get('reps') ?? 5);
  const seconds = Math.max(1, Math.round(Number(o.get('seconds') ?? 3)));
  const conns = Number(o.get('conns') ?? 64);
  const serverCpu = Number(o.get('server-cpu') ?? 0);
  const clientCpu = Number(o.get('client-cpu') ?? 1);
  const only = o.get('only')?.split(',') ?? ['https', 'client'];
  pinSelf(clientCpu);
  const servers: Server[] = [];
  process.on('exit', () => servers.forEach((s) => s.child.kill('SIGKILL')));
  const start = async (name: string, kind: string) => {
    const s = await startServer(name, [process.execPath, self, '--serve', kind, String(await freePort())], serverCpu);
    servers.push(s);
    return s;
  };
  const pinning = hasTaskset ? `server on CPU ${serverCpu}, client on CPU ${clientCpu}` : 'unpinned';
  console.log(`${reps} x ${seconds} s slices, ${conns} keep-alive connections, ${pinning}; node ${process.version}`);

  if (only.includes('https')) {
    const targets = [await start('node:https', 'https-node'), await start('uring/https', 'https-uring')];
    const slices: Record<string, Slice[]> = { 'node:https': [], 'uring/https': [] };
    for (const s of targets) await wrk(s.port, 1, conns, clientCpu); // warm-up
    for (let rep = 0; rep < reps; rep++) {
      for (const s of rotated(targets, rep)) {
        const cpu0 = cpuSeconds(s.pid);
        const w = await wrk(s.port, seconds, conns, clientCpu);
        slices[s.name]!.push({ rep, rps: w.rps, cpuUs: ((cpuSeconds(s.pid) - cpu0) / w.requests) * 1e6 });
      }
    }
    summarize(`https "hello", wrk -t1 -c${conns}, keep-alive`, slices, 'node:https', 'server');
  }

  if (only.includes('client')) {
    const server = await start('node:http', 'http-node');
    const { Agent } = await import('../src/http/index.js');
    const make: Record<string, () => http.Agent> = {
      'node http.Agent': () => new http.Agent({ keepAlive: true, maxSockets: conns }),
      'uring/http Agent': () => new Agent({ keepAlive: true, maxSockets: conns }),
    };
    const names = Object.keys(make);
    const slices: Record<string, Slice[]> = Object.fromEntries(names.map((n) => [n, []]));
    for (const n of names) {
      const a = make[n]!();
      await drive(a, server.port, 1, conns); // warm-up
      a.destroy();
    }
    for (let rep = 0; rep < reps; rep++) {
      for (const n of rotated(names, rep)) {
        const a = make[n]!();
        const r = await drive(a, server.port, seconds, conns);
        a.destroy();
        slices[n]!.push({ rep, ...r });
      }
    }
    summarize(
      `http client: GET "hello" from a node:http server, ${conns} in flight`,
      slices,
      'node http.Agent',
      'client',
    );
  }
  for (const s of servers) await s.stop();
}

const argv = process.argv.slice(2);
if (argv[0] === '--serve') await serve(argv[1]!, Number(argv[2]));
else await main();
