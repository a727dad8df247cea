// uring/https as node:https: a real https.Server whose connections are TLS
// over uring sockets, and an https.Agent whose TLS runs over uring sockets.
// Each behaviour is run with node's Agent and uring's, against a node:https
// server and a uring/https one, side by side: the handshake, keep-alive,
// ALPN http/1.1, client certificates (refused without, taken with), a large
// body both ways, and close() with connections open. The keys are a
// committed test fixture (test/helpers/tls-fixture.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import uringHttps, * as named from '../../src/https/index.js';
import { Socket as USocket } from '../../src/net/index.js';
import { serverKey, serverCert, clientKey, clientCert } from '../helpers/tls-fixture.js';
import { within } from '../helpers/wait.js';

type Make = (options: https.ServerOptions, listener?: http.RequestListener) => https.Server;
const servers: [string, Make][] = [
  ['node:https', (o, l) => https.createServer(o, l)],
  ['uring/https', (o, l) => uringHttps.createServer(o, l)],
];
type MakeAgent = (options?: https.AgentOptions) => https.Agent;
const agents: [string, MakeAgent][] = [
  ['node Agent', (o) => new https.Agent(o)],
  ['uring Agent', (o) => new named.Agent(o)],
];

const serverOptions = { key: serverKey, cert: serverCert };

async function listening(server: https.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

function closeServer(server: https.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

interface Reply {
  status: number;
  body: Buffer;
  reused: boolean;
  socket: tls.TLSSocket;
}

function fetchOne(options: https.RequestOptions, body?: Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', ca: serverCert, ...options }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          body: Buffer.concat(chunks),
          reused: req.reusedSocket,
          socket: res.socket as tls.TLSSocket,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Every (server, client) pair with the given options. */
async function eachPair(
  sOptions: https.ServerOptions,
  handler: http.RequestListener,
  aOptions: https.AgentOptions,
  fn: (port: number, agent: https.Agent, label: string, server: https.Server) => Promise<void>,
): Promise<void> {
  for (const [serverKind, make] of servers) {
    const server = make({ ...serverOptions, ...sOptions }, handler);
    const port = await listening(server);
    try {
      for (const [agentKind, makeAgent] of agents) {
        const agent = makeAgent(aOptions);
        try {
          await within(
            fn(port, agent, `${agentKind} -> ${serverKind}`, server),
            20_000,
            `${agentKind} -> ${serverKind}`,
          );
        } finally {
          agent.destroy();
        }
      }
    } finally {
      await closeServer(server);
    }
  }
}

test("uring/https's names: a real https.Server on uring sockets, an https.Agent; the rest node:https's", async () => {
  const server = uringHttps.createServer(serverOptions);
  assert.ok(server instanceof https.Server);
  assert.ok(server instanceof tls.Server);
  assert.ok(server instanceof named.Server);
  const agent = new named.Agent();
  assert.ok(agent instanceof https.Agent);
  assert.ok(agent instanceof http.Agent);
  agent.destroy();
  assert.ok(named.globalAgent instanceof named.Agent);
  const { options: mine } = named.globalAgent as unknown as { options: object };
  const { options: nodes } = https.globalAgent as unknown as { options: object };
  assert.deepEqual({ ...mine }, { ...nodes });
  for (const name of ['Server', 'createServer', 'Agent', 'globalAgent', 'request', 'get'] as const) {
    assert.equal(uringHttps[name], named[name], name);
    assert.notEqual(named[name], https[name], name);
  }
});

test('handshake: TLS 1.3, the server certificate verified, the request served over a uring socket', async () => {
  await eachPair(
    {},
    (req, res) => {
      const s = req.socket as tls.TLSSocket;
      res.end(JSON.stringify({ encrypted: s.encrypted, protocol: s.getProtocol() }));
    },
    {},
    async (port, agent, label, server) => {
      let secure = 0;
      const onSecure = () => secure++;
      server.on('secureConnection', onSecure);
      const r = await fetchOne({ port, path: '/', agent });
      server.off('secureConnection', onSecure);
      assert.equal(r.status, 200, label);
      assert.deepEqual(JSON.parse(r.body.toString()), { encrypted: true, protocol: 'TLSv1.3' }, label);
      assert.equal(r.socket.authorized, true, label);
      assert.equal(r.socket.getPeerCertificate().subject.CN, 'localhost', label);
      assert.equal(secure, 1, label);
    },
  );
});

test('the server sees its connections as TLSSockets over uring sockets; the uring Agent makes its over uring ones', async () => {
  const seen: unknown[] = [];
  const server = uringHttps.createServer(serverOptions, (_req, res) => res.end('ok'));
  server.on('connection', (raw: unknown) => seen.push(raw));
  const port = await listening(server);
  const agent = new named.Agent();
  const raws: unknown[] = [];
  const orig = agent.createConnection.bind(agent);
  agent.createConnection = ((o: http.ClientRequestArgs, cb: () => void) => {
    const s = orig(o, cb) as tls.TLSSocket;
    raws.push((s as unknown as { _parent?: unknown; ssl?: unknown }).ssl);
    return s;
  }) as typeof agent.createConnection;
  try {
    const r = await fetchOne({ port, path: '/', agent });
    assert.ok(r.socket instanceof tls.TLSSocket);
    assert.equal(seen.length, 1);
    assert.ok(seen[0] instanceof USocket, 'the raw accepted socket is a uring one');
    assert.equal(raws.length, 1);
  } finally {
    agent.destroy();
    await closeServer(server);
  }
});

test('keep-alive: sequential requests reuse one TLS connection (and no second handshake), as node:https', async () => {
  const N = 20;
  await eachPair(
    {},
    (_req, res) => res.end('ok'),
    { keepAlive: true },
    async (port, agent, label, server) => {
      let handshakes = 0;
      const onSecure = () => handshakes++;
      server.on('secureConnection', onSecure);
      let reused = 0;
      for (let i = 0; i < N; i++) {
        const r = await fetchOne({ port, path: '/', agent });
        assert.equal(r.body.toString(), 'ok', label);
        if (r.reused) reused++;
      }
      server.off('secureConnection', onSecure);
      // A reply may end before its request's write callback (TLS over a JS
      // stream completes writes a turn later): uring's Agent waits for that
      // socket rather than open another (src/https/agent.ts, finishing()).
      assert.ok(reused >= N - 2, `${label}: ${reused} of ${N} reused`);
      assert.ok(handshakes <= N - reused, label);
    },
  );
});

test('ALPN: http/1.1 is chosen when the client offers it; a client offering only h2 is refused, as node:https', async () => {
  const results = new Map<string, unknown>();
  await eachPair(
    {},
    (req, res) => res.end(String((req.socket as tls.TLSSocket).alpnProtocol)),
    {},
    async (port, agent, label) => {
      const r = await fetchOne({ port, path: '/', agent, ALPNProtocols: ['h2', 'http/1.1'] } as https.RequestOptions);
      assert.equal(r.body.toString(), 'http/1.1', label);
      assert.equal(r.socket.alpnProtocol, 'http/1.1', label);
      const err = await fetchOne({ port, path: '/', agent, ALPNProtocols: ['h2'] } as https.RequestOptions).then(
        () => assert.fail(`${label}: h2 only was served`),
        (e: NodeJS.ErrnoException) => e.code,
      );
      results.set(label, err);
    },
  );
  const codes = [...results.values()];
  // node reports the server's no_application_protocol alert as EPROTO.
  assert.equal(codes[0], 'EPROTO');
  for (const c of codes) assert.equal(c, codes[0], JSON.stringify([...results]));
});

test('client certificates: refused without one when the server requires it; accepted with a trusted one', async () => {
  await eachPair(
    { requestCert: true, rejectUnauthorized: true, ca: clientCert },
    (req, res) => {
      const s = req.socket as tls.TLSSocket;
      res.end(`${s.authorized} ${s.getPeerCertificate().subject?.CN}`);
    },
    {},
    async (port, agent, label, server) => {
      let clientErrors = 0;
      const onTlsError = () => clientErrors++;
      server.on('tlsClientError', onTlsError);
      // Without: with TLS 1.3 the client finishes its side of the handshake
      // first, so the refusal arrives as an alert (or the connection reset)
      // when it reads, never as a response.
      const err = await fetchOne({ port, path: '/', agent }).then(
        (r) => assert.fail(`${label}: served without a certificate (${r.status})`),
        (e: NodeJS.ErrnoException) => e,
      );
      assert.match(String(err.code), /^(ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED|ECONNRESET)$/, label);
      const r = await fetchOne({ port, path: '/', agent, key: clientKey, cert: clientCert });
      assert.equal(r.body.toString(), 'true uring-test-client', label);
      server.off('tlsClientError', onTlsError);
      assert.equal(clientErrors, 1, label);
    },
  );
});

test('a large body: 16 MiB up and 16 MiB down, intact', async () => {
  const big = Buffer.alloc(16 << 20);
  for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
  const digest = createHash('sha256').update(big).digest('hex');
  await eachPair(
    {},
    (req, res) => {
      const h = createHash('sha256');
      req.on('data', (d: Buffer) => h.update(d));
      req.on('end', () => {
        res.setHeader('x-digest', h.digest('hex'));
        res.end(big);
      });
    },
    { keepAlive: true },
    async (port, agent, label) => {
      const r = await new Promise<{ up: string; down: string }>((resolve, reject) => {
        const req = https.request(
          { host: '127.0.0.1', port, path: '/', method: 'POST', agent, ca: serverCert },
          (res) => {
            const h = createHash('sha256');
            res.on('data', (d: Buffer) => h.update(d));
            res.on('end', () => resolve({ up: String(res.headers['x-digest']), down: h.digest('hex') }));
          },
        );
        req.on('error', reject);
        req.end(big);
      });
      assert.deepEqual(r, { up: digest, down: digest }, label);
    },
  );
});

test('close() with idle keep-alive connections: they close, then the server', async () => {
  for (const [kind, make] of servers) {
    const server = make(serverOptions, (_req, res) => res.end('ok'));
    const port = await listening(server);
    const agent = new named.Agent({ keepAlive: true });
    await Promise.all([1, 2, 3].map(() => fetchOne({ port, path: '/', agent })));
    // Idle now: close() closes idle connections (as http.Server's does), so 'close' follows.
    await within(new Promise<void>((resolve) => server.close(() => resolve())), 10_000, kind);
    agent.destroy();
  }
});

test('request/get default to uring/https globalAgent, with URL and options', async () => {
  const server = uringHttps.createServer(serverOptions, (req, res) => res.end(req.method));
  const port = await listening(server);
  try {
    const got = await new Promise<string>((resolve, reject) => {
      const req = named.get(`https://127.0.0.1:${port}/`, { ca: serverCert }, (res) => {
        let b = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (b += d));
        res.on('end', () => resolve(b));
      });
      req.on('error', reject);
      assert.equal((req as unknown as { agent: unknown }).agent, named.globalAgent);
    });
    assert.equal(got, 'GET');
    // http: on an https agent is refused, as node:https refuses it.
    assert.throws(() => named.request(`http://127.0.0.1:${port}/`), { code: 'ERR_INVALID_PROTOCOL' });
  } finally {
    named.globalAgent.destroy();
    await closeServer(server);
  }
});
