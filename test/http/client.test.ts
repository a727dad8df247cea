// uring/http's client (Agent, globalAgent, request, get) as node:http's:
// each behaviour is run with node's Agent and with uring's, against a
// node:http server and a uring/http one, side by side: keep-alive reuse,
// many parallel requests, a streamed request body, timeouts, abort by
// signal, ECONNREFUSED's shape, and keep-alive latency on one connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import uringHttp, * as named from '../../src/http/index.js';
import { Socket as USocket } from '../../src/net/index.js';
import { kinds, listening, closeServer, portOf } from './util.js';
import { within } from '../helpers/wait.js';

type MakeAgent = (options?: http.AgentOptions) => http.Agent;
/** The two clients every behaviour is compared on. */
const agents: [string, MakeAgent][] = [
  ['node Agent', (o) => new http.Agent(o)],
  ['uring Agent', (o) => new named.Agent(o)],
];

interface Reply {
  status: number;
  body: Buffer;
  reused: boolean;
  socket: unknown;
}

/** One request with `body` (a Buffer, or chunks written one by one); the whole reply. */
function fetchOne(
  options: http.RequestOptions,
  body?: Buffer | Buffer[],
  request: typeof http.request = http.request,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', ...options }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () =>
        resolve({ status: res.statusCode!, body: Buffer.concat(chunks), reused: req.reusedSocket, socket: req.socket }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    if (Array.isArray(body)) {
      // One write per chunk, each after the last was flushed: a streamed body.
      let i = 0;
      const next = (): void => {
        if (i === body.length) req.end();
        else req.write(body[i++], next);
      };
      next();
    } else req.end(body);
  });
}

/** Every (server, client) pair: `fn` gets a listening server from `handler` and an agent. */
async function eachPair(
  handler: http.RequestListener,
  agentOptions: http.AgentOptions,
  fn: (port: number, agent: http.Agent, label: string) => Promise<void>,
): Promise<void> {
  for (const [serverKind, make] of kinds) {
    const server = await listening(make(handler));
    try {
      for (const [agentKind, makeAgent] of agents) {
        const agent = makeAgent(agentOptions);
        try {
          await fn(portOf(server), agent, `${agentKind} -> ${serverKind}`);
        } finally {
          agent.destroy();
        }
      }
    } finally {
      server.closeAllConnections();
      await closeServer(server);
    }
  }
}

test("uring/http's client names: Agent is an http.Agent, request/get/globalAgent are uring's", () => {
  const agent = new named.Agent({ keepAlive: true });
  assert.ok(agent instanceof http.Agent);
  assert.notEqual(named.Agent, http.Agent);
  assert.ok(named.globalAgent instanceof named.Agent);
  assert.notEqual(named.globalAgent, http.globalAgent);
  // node's own globalAgent's options, as this Node line has them.
  const { options: mine } = named.globalAgent as unknown as { options: object };
  const { options: nodes } = http.globalAgent as unknown as { options: object };
  assert.deepEqual({ ...mine }, { ...nodes });
  for (const name of ['Agent', 'globalAgent', 'request', 'get'] as const) {
    assert.equal(uringHttp[name], named[name], name);
    assert.notEqual(named[name], http[name], name);
  }
  agent.destroy();
});

test('request/get go through uring sockets by default, and agent: false makes a uring Agent', async () => {
  const server = await listening(uringHttp.createServer((_req, res) => res.end('ok')));
  const port = portOf(server);
  try {
    // get(url, cb), get(options, cb), request(url, options, cb): all on uring's globalAgent.
    const viaUrl = await new Promise<http.ClientRequest>((resolve, reject) => {
      const req = named.get(`http://127.0.0.1:${port}/`, (res) => {
        res.resume();
        res.on('end', () => resolve(req));
      });
      req.on('error', reject);
    });
    assert.equal((viaUrl as unknown as { agent: http.Agent }).agent, named.globalAgent);
    const r1 = await fetchOne({ port, path: '/' }, undefined, named.request);
    assert.ok(r1.socket instanceof USocket);
    const r2 = await fetchOne({ port, path: '/', agent: false }, undefined, named.request);
    assert.ok(r2.socket instanceof USocket);
    const r3 = await new Promise<Reply>((resolve, reject) => {
      const req = named.request(new URL(`http://127.0.0.1:${port}/x`), { method: 'POST' }, (res) => {
        res.resume();
        res.on('end', () =>
          resolve({ status: res.statusCode!, body: Buffer.alloc(0), reused: false, socket: req.socket }),
        );
      });
      req.on('error', reject);
      req.end('body');
    });
    assert.equal(r3.status, 200);
    assert.ok(r3.socket instanceof USocket);
    // The caller's options object is left as it was.
    const opts: http.RequestOptions = { host: '127.0.0.1', port, path: '/' };
    const frozen = { ...opts };
    await fetchOne(opts, undefined, named.request);
    assert.deepEqual(opts, frozen);
  } finally {
    named.globalAgent.destroy();
    await closeServer(server);
  }
});

test('keep-alive: sequential requests reuse one connection, as with node:http', async () => {
  const N = 30;
  await eachPair(
    (_req, res) => res.end('ok'),
    { keepAlive: true },
    async (port, agent, label) => {
      const sockets = new Set<unknown>();
      let reused = 0;
      for (let i = 0; i < N; i++) {
        const r = await fetchOne({ port, path: '/', agent });
        assert.equal(r.body.toString(), 'ok', label);
        sockets.add(r.socket);
        if (r.reused) reused++;
      }
      if (label.startsWith('uring')) for (const s of sockets) assert.ok(s instanceof USocket, label);
      // The pool hands the freed socket back: one connection for all, but
      // for the rare reply that ends before its request's write callback
      // (the client and server share this process) and so finds none free.
      assert.ok(sockets.size <= 3, `${label}: ${sockets.size} connections for ${N} requests`);
      assert.ok(reused >= N - 3, `${label}: ${reused} of ${N} reused`);
    },
  );
});

test('200 parallel requests over 16 sockets all answer, as with node:http', async () => {
  await eachPair(
    (req, res) => res.end(`r${req.url!.slice(1)}`),
    { keepAlive: true, maxSockets: 16 },
    async (port, agent, label) => {
      const replies = await within(
        Promise.all(Array.from({ length: 200 }, (_, i) => fetchOne({ port, path: `/${i}`, agent }))),
        20_000,
        label,
      );
      replies.forEach((r, i) => assert.equal(r.body.toString(), `r${i}`, label));
      assert.ok(new Set(replies.map((r) => r.socket)).size <= 16, label);
    },
  );
});

test('a request body streamed in 64 chunks (4 MiB) arrives whole, and a streamed reply too', async () => {
  const chunks = Array.from({ length: 64 }, (_, i) => Buffer.alloc(64 * 1024, i));
  const whole = Buffer.concat(chunks);
  const digest = createHash('sha256').update(whole).digest('hex');
  await eachPair(
    (req, res) => {
      const h = createHash('sha256');
      let n = 0;
      req.on('data', (d: Buffer) => {
        h.update(d);
        n += d.length;
      });
      req.on('end', () => {
        res.setHeader('x-digest', h.digest('hex'));
        // The reply streamed back: the same 4 MiB in parts.
        res.write(`${n}\n`);
        for (const c of chunks) res.write(c);
        res.end();
      });
    },
    { keepAlive: true },
    async (port, agent, label) => {
      const r = await fetchOne({ port, path: '/', method: 'POST', agent }, chunks);
      const nl = r.body.indexOf(10);
      assert.equal(r.body.subarray(0, nl).toString(), String(whole.length), label);
      assert.equal(
        createHash('sha256')
          .update(r.body.subarray(nl + 1))
          .digest('hex'),
        digest,
        label,
      );
    },
  );
});

/** What a request to `options` ends with: its error's fields, and whether 'timeout' came first. */
function failure(
  options: http.RequestOptions,
  onReq: (req: http.ClientRequest) => void = () => {},
): Promise<{ timedOut: boolean; err: Record<string, unknown> }> {
  return new Promise((resolve) => {
    let timedOut = false;
    const req = http.request({ host: '127.0.0.1', ...options }, (res) => res.resume());
    req.on('timeout', () => {
      timedOut = true;
      req.destroy();
    });
    req.on('error', (e: NodeJS.ErrnoException) =>
      resolve({
        timedOut,
        // The fields that are there (JSON drops the undefined ones).
        err: JSON.parse(
          JSON.stringify({ name: e.name, code: e.code, message: e.message, syscall: e.syscall, errno: e.errno }),
        ) as Record<string, unknown>,
      }),
    );
    onReq(req);
    req.end();
  });
}

test('timeout: a server that never answers gets the request timed out and hung up, as with node:http', async () => {
  const results = new Map<string, unknown>();
  await eachPair(
    () => {}, // never answers
    { keepAlive: true },
    async (port, agent, label) => {
      const t0 = performance.now();
      const r = await within(failure({ port, path: '/', agent, timeout: 100 }), 10_000, label);
      assert.ok(performance.now() - t0 >= 90, label);
      results.set(label, r);
    },
  );
  const [first, ...rest] = [...results.values()];
  assert.deepEqual(first, { timedOut: true, err: { name: 'Error', code: 'ECONNRESET', message: 'socket hang up' } });
  for (const r of rest) assert.deepEqual(r, first);
});

test('abort by signal, before and during the request: AbortError as with node:http', async () => {
  const results = new Map<string, unknown>();
  await eachPair(
    () => {}, // never answers
    { keepAlive: true },
    async (port, agent, label) => {
      const pre = await failure({ port, path: '/', agent, signal: AbortSignal.abort() });
      const ac = new AbortController();
      const during = await within(
        failure({ port, path: '/', agent, signal: ac.signal }, (req) =>
          req.on('socket', () => setTimeout(() => ac.abort(), 20)),
        ),
        10_000,
        label,
      );
      results.set(label, { pre, during });
    },
  );
  const [first, ...rest] = [...results.values()];
  const abortErr = {
    timedOut: false,
    err: { name: 'AbortError', code: 'ABORT_ERR', message: 'The operation was aborted' },
  };
  assert.deepEqual(first, { pre: abortErr, during: abortErr });
  for (const r of rest) assert.deepEqual(r, first);
});

test('ECONNREFUSED: the same error fields as node:http', async () => {
  // A port nobody listens on: one a server had, closed.
  const server = await listening(http.createServer());
  const port = portOf(server);
  await closeServer(server);
  const got: Record<string, unknown>[] = [];
  for (const [label, makeAgent] of agents) {
    const agent = makeAgent();
    const err = await new Promise<NodeJS.ErrnoException & { address?: string; port?: number }>((resolve) => {
      http.get({ host: '127.0.0.1', port, agent }, () => assert.fail(label)).on('error', resolve);
    });
    agent.destroy();
    got.push({
      name: err.name,
      code: err.code,
      errno: err.errno,
      syscall: err.syscall,
      address: err.address,
      port: err.port,
      message: err.message,
      isError: err instanceof Error,
    });
  }
  assert.deepEqual(got[0], {
    name: 'Error',
    code: 'ECONNREFUSED',
    errno: -111,
    syscall: 'connect',
    address: '127.0.0.1',
    port,
    message: `connect ECONNREFUSED 127.0.0.1:${port}`,
    isError: true,
  });
  assert.deepEqual(got[1], got[0]);
});

test('keep-alive latency: sequential requests on one uring connection to a uring server, p50 well under 2 ms', async (t) => {
  const server = await listening(uringHttp.createServer((_req, res) => res.end('ok')));
  const agent = new named.Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  const sockets = new Set<unknown>();
  try {
    for (let i = 0; i < 500; i++) {
      const t0 = performance.now();
      const r = await fetchOne({ port: portOf(server), path: '/', agent });
      times.push(performance.now() - t0);
      sockets.add(r.socket);
    }
  } finally {
    agent.destroy();
    await closeServer(server);
  }
  times.sort((a, b) => a - b);
  const p50 = times[times.length >> 1]!;
  const p99 = times[Math.floor(times.length * 0.99)]!;
  // maxSockets 1: every request waits for the one connection.
  assert.equal(sockets.size, 1);
  // Loose, for a loaded machine; an idle one gives ~0.15 ms.
  t.diagnostic(`p50 ${p50.toFixed(3)} ms, p99 ${p99.toFixed(3)} ms`);
  assert.ok(p50 < 20, `p50 ${p50.toFixed(3)} ms, p99 ${p99.toFixed(3)} ms`);
});

test('the Agent takes a runtime, and its connections run on it', async () => {
  const { Runtime } = await import('../../src/runtime/runtime.js');
  const runtime = new Runtime();
  const server = await listening(uringHttp.createServer((_req, res) => res.end('ok')));
  const agent = new named.Agent({ runtime } as named.AgentOptions);
  try {
    const before = runtime.stats.submits;
    const r = await fetchOne({ port: portOf(server), path: '/', agent });
    assert.equal(r.body.toString(), 'ok');
    assert.ok(runtime.stats.submits > before);
  } finally {
    agent.destroy();
    await closeServer(server);
    await runtime.close();
  }
});
