// uring/register: `node --import uring/register app` with apps that know
// nothing of uring (fixtures/, CommonJS and ESM): Express serving through
// uring sockets with sane keep-alive latency, node's http and net clients,
// node:fs/promises both ways (and bound before the register ran), the
// URING_REGISTER parts, and the fallback when io_uring is opted out or
// unavailable: one warning, node's own everything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { within } from '../helpers/wait.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const register = fileURLToPath(new URL('../../src/register.js', import.meta.url));
const noUring = fileURLToPath(new URL('../helpers/no-uring.js', import.meta.url));
const fixture = (name: string) => `${root}test/register/fixtures/${name}`;

interface Child {
  child: ChildProcess;
  /** The first line the app printed, parsed. */
  first: Promise<Record<string, any>>;
  stderr: () => string;
  done: Promise<number | null>;
}

/** Starts `node ...nodeArgs app` in the repository (so `express` resolves), killed after 30 s whatever happens. */
function start(nodeArgs: string[], app: string, env: Record<string, string> = {}, appArgs: string[] = []): Child {
  const child = spawn(process.execPath, [...nodeArgs, fixture(app), ...appArgs], {
    cwd: root,
    env: { ...process.env, URING_DISABLE: '', URING_REGISTER: '', URING_FALLBACK: '', URING_TEST_FAKE: '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout: 30_000,
    killSignal: 'SIGKILL',
  });
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const done = once(child, 'close').then(([code]) => code as number | null);
  const first = new Promise<Record<string, any>>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as Record<string, any>);
    });
    void done.then((code) => reject(new Error(`app ended (${code}) before printing; stderr:\n${err}`)));
  });
  return { child, first, stderr: () => err, done };
}

/** Runs an app that prints one JSON line and ends by itself. */
async function run(nodeArgs: string[], app: string, env: Record<string, string> = {}) {
  const c = start(nodeArgs, app, env);
  c.child.stdin!.end();
  const result = await within(c.first, 20_000, `${app} output`);
  assert.equal(await within(c.done, 20_000, `${app} exit`), 0, c.stderr());
  return { result, stderr: c.stderr() };
}

function get(port: number, path: string, agent: http.Agent | false): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent }, (res) => {
        let b = '';
        res
          .setEncoding('utf8')
          .on('data', (d: string) => (b += d))
          .on('end', () => resolve(b));
      })
      .on('error', reject);
  });
}

/** The Express app (CommonJS) under `nodeArgs`: its /stats after 50 keep-alive requests, and their median time. */
async function express(nodeArgs: string[], env: Record<string, string> = {}) {
  const c = start(nodeArgs, 'express.cjs', env);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const { port } = await within(c.first, 20_000, "the app's port");
    const times: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      assert.equal(await within(get(port, '/', agent), 10_000, 'GET /'), 'hello');
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const stats = JSON.parse(await get(port, '/stats', agent)) as {
      nodeSocket: boolean;
      register: Record<string, any> | null;
    };
    return { stats, p50: times[25]!, stderr: c.stderr() };
  } finally {
    agent.destroy();
    c.child.stdin!.end();
    assert.equal(await within(c.done, 20_000, 'app exit'), 0, c.stderr());
  }
}

test('Express, unchanged (CommonJS), serves through uring sockets with no Nagle delay', async () => {
  const { stats, p50, stderr } = await express(['--import', register]);
  assert.equal(stats.nodeSocket, false, 'the request came on a uring/net socket');
  assert.deepEqual(stats.register!.parts, ['http', 'net', 'client', 'fs']);
  assert.equal(stats.register!.listens, 1);
  assert.equal(stats.register!.connections, 1, 'one keep-alive connection for every request');
  // Without TCP_NODELAY each keep-alive response waits ~40 ms for a delayed ACK.
  assert.ok(p50 < 10, `p50 ${p50.toFixed(2)} ms`);
  assert.doesNotMatch(stderr, /Warning/);
});

test("ESM: Express, node's http client, node:fs/promises named and fs.promises, bound before the register too", async () => {
  const { result, stderr } = await run(
    ['--require', fixture('pre.cjs'), '--import', fixture('pre.mjs'), '--import', register],
    'express.mjs',
  );
  assert.equal(result.nodeSocketServed, 'false');
  assert.equal(result.readOk, true);
  for (const [how, n] of Object.entries(result.submits as Record<string, number>))
    assert.ok(n > 0, `${how}: ${n} submits`);
  assert.equal(result.register.clients, 1, 'http.get connected through uring/net');
  assert.equal(result.register.connections, 1);
  assert.doesNotMatch(stderr, /Warning/);
});

test('node:net servers and clients go through io_uring', async () => {
  const { result } = await run(['--import', register], 'net.mjs');
  assert.equal(result.got, 'ping');
  assert.equal(result.nodeClient, false);
  assert.equal(result.listening, false);
  assert.equal(result.register.listens, 1);
  assert.equal(result.register.clients, 1);
  assert.equal(result.register.connections, 1);
});

test('a ws WebSocket echo, unchanged, serves and connects through io_uring', async () => {
  const { result, stderr } = await run(['--import', register], 'ws-echo.cjs');
  assert.deepEqual(
    result.got,
    Array.from({ length: 100 }, (_, i) => `m${i}`),
  );
  assert.equal(result.nodeSocket, false, 'the upgrade came on a uring/net socket');
  assert.equal(result.register.listens, 1);
  assert.equal(result.register.connections, 1);
  assert.equal(result.register.clients, 1, "ws's client connected through uring/net");
  assert.ok(result.register.submits > 0);
  assert.doesNotMatch(stderr, /Warning/);
});

/** A TCP port free on 127.0.0.1 just now (a cluster's workers share a fixed port, not port 0). */
async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as net.AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** The cluster app under the flag with `policy` as NODE_CLUSTER_SCHED_POLICY. */
async function clusterServes(policy: 'rr' | 'none') {
  const port = await freePort();
  const c = start(['--import', register], 'cluster.cjs', { NODE_CLUSTER_SCHED_POLICY: policy }, [String(port)]);
  try {
    const { listening } = await within(c.first, 20_000, "the primary's 'listening' from both workers");
    assert.deepEqual([...(listening as number[])].sort(), [1, 2]);
    const byWorker = new Map<number, number>();
    // New connections (agent: false): the kernel spreads them over the two
    // listeners by their addresses; 2 workers never answering all of 200 by chance.
    for (let i = 0; i < 200 && byWorker.size < 2; i++) {
      const body = JSON.parse(await within(get(port, '/', false), 10_000, 'GET /')) as {
        worker: number;
        nodeSocket: boolean;
        register: { listens: number };
      };
      assert.equal(body.nodeSocket, false, 'a uring/net socket served');
      assert.equal(body.register.listens, 1);
      byWorker.set(body.worker, (byWorker.get(body.worker) ?? 0) + 1);
    }
    assert.deepEqual([...byWorker.keys()].sort(), [1, 2]);
  } finally {
    // cluster.disconnect(): each worker's routed server closes and the worker ends.
    c.child.stdin!.end();
  }
  assert.equal(await within(c.done, 20_000, 'the cluster ending'), 0, c.stderr());
  assert.doesNotMatch(c.stderr(), /Warning|Error/);
}

// Either scheduling policy (round-robin is node's default outside Windows):
// the workers' routed servers never ask the primary for a handle.
test('node:cluster (round-robin): 2 workers each bind the port (SO_REUSEPORT) and both answer, on uring sockets', () =>
  clusterServes('rr'));
test('node:cluster (SCHED_NONE): the same', () => clusterServes('none'));

test("URING_REGISTER=fs leaves http, net and clients node's own", async () => {
  const { stats } = await express(['--import', register], { URING_REGISTER: 'fs' });
  assert.equal(stats.nodeSocket, true);
  assert.deepEqual(stats.register!.parts, ['fs']);
  assert.equal(stats.register!.listens, 0);
  const { result } = await run(['--import', register], 'express.mjs', { URING_REGISTER: 'fs' });
  assert.equal(result.nodeSocketServed, 'true');
  assert.equal(result.register.clients, 0);
  assert.ok(result.submits.named > 0 && result.submits.fsPromises > 0);
});

test('URING_REGISTER=http routes servers but not node:fs/promises; an unknown part is warned about', async () => {
  const { result, stderr } = await run(['--import', register], 'express.mjs', { URING_REGISTER: 'http,disk' });
  assert.equal(result.nodeSocketServed, 'false');
  assert.deepEqual(result.register.parts, ['http']);
  assert.equal(result.submits.named, 0);
  assert.equal(result.submits.fsPromises, 0);
  assert.match(stderr, /URING_REGISTER_UNKNOWN_PART.*disk/);
});

/** The warnings in `stderr` with `code`. */
const warnings = (stderr: string, code: string) => stderr.split('\n').filter((l) => l.includes(code)).length;

test("URING_DISABLE=1: one warning, no io_uring system call, the app on node's own", async () => {
  // The trap kills the process (SIGSYS) at any io_uring system call.
  const env = { URING_DISABLE: '1', URING_TEST_FAKE: 'trap' };
  const { stats, stderr } = await express(['--import', noUring, '--import', register], env);
  assert.equal(stats.nodeSocket, true);
  assert.deepEqual(stats.register!.parts, []);
  assert.match(stats.register!.fallback, /URING_DISABLE=1/);
  assert.equal(warnings(stderr, 'URING_REGISTER_FALLBACK'), 1, stderr);
  const esm = await run(['--import', noUring, '--import', register], 'express.mjs', env);
  assert.equal(esm.result.nodeSocketServed, 'true');
  assert.equal(esm.result.readOk, true);
  assert.equal(warnings(esm.stderr, 'URING_REGISTER_FALLBACK'), 1, esm.stderr);
});

test("io_uring unavailable (setup refused): one warning, the app on node's own", async () => {
  const { result, stderr } = await run(['--import', noUring, '--import', register], 'net.mjs', {
    URING_TEST_FAKE: 'eperm',
  });
  assert.equal(result.got, 'ping');
  assert.equal(result.nodeClient, true);
  assert.match(result.register.fallback, /unavailable/);
  assert.equal(warnings(stderr, 'URING_REGISTER_FALLBACK'), 1, stderr);
});
