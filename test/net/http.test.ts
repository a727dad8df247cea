// node:http over uring/net, both ways. As a server: a plain node:http server
// fed the connections a uring/net server accepts, talked to by node's HTTP
// client (GET, a 5 MiB POST echoed back, 200 keep-alive requests, chunked
// responses), by raw pipelined requests, and by curl. As a client:
// http.request with uring/net's createConnection, against a plain node:http
// server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import * as nodeNet from 'node:net';
import { createServer, createConnection, Socket as USocket, type Server as UServer } from '../../src/net/index.js';
import { pattern, sha256, Reader, listening, closeServer, portOf } from './util.js';
import { waitFor, within } from '../helpers/wait.js';

const MiB = 1 << 20;

/** Numbers the connections a server sees, so a response can say which one carried it. */
function connectionIds() {
  const ids = new WeakMap<object, number>();
  let next = 0;
  return (socket: object) => {
    let id = ids.get(socket);
    if (id === undefined) ids.set(socket, (id = ++next));
    return id;
  };
}

/**
 * The routes both servers answer:
 *   GET  /hello      'hello world\n', with x-uring: whether the socket is a uring one
 *   GET  /n/<i>      'n=<i>', with x-conn: the connection's number
 *   GET  /chunked    five parts written apart (Transfer-Encoding: chunked)
 *   POST /echo       the body back, streamed
 *   POST /digest     { length, sha256 } of the body
 */
function handler(): http.RequestListener {
  const conn = connectionIds();
  return (req, res) => {
    const url = req.url ?? '/';
    res.setHeader('x-conn', String(conn(req.socket)));
    res.setHeader('x-uring', String(req.socket instanceof USocket));
    if (req.method === 'GET' && url === '/hello') {
      res.end('hello world\n');
    } else if (req.method === 'GET' && url.startsWith('/n/')) {
      res.end(`n=${url.slice(3)}`);
    } else if (req.method === 'GET' && url === '/chunked') {
      let i = 0;
      const next = () => {
        if (i === 5) return void res.end();
        res.write(`part ${i++}\n`);
        setTimeout(next, 5);
      };
      next();
    } else if (req.method === 'POST' && url === '/echo') {
      req.pipe(res);
    } else if (req.method === 'POST' && url === '/digest') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ length: body.length, sha256: sha256(body) }));
      });
    } else {
      res.statusCode = 404;
      res.end('not found\n');
    }
  };
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The client socket that carried the request. */
  socket: unknown;
}

/** One request with node's HTTP client; `body` is written in 1 MiB pieces. */
function request(options: http.RequestOptions, body?: Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), socket: req.socket }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body) for (let off = 0; off < body.length; off += MiB) req.write(body.subarray(off, off + MiB));
    req.end();
  });
}

// ------------------------------------------------------------ node:http served through uring/net

let app: http.Server;
let listener: UServer;
let port: number;

before(async () => {
  app = http.createServer(handler());
  // Upgrade: echo. The socket leaves node:http and carries raw bytes both ways.
  app.on('upgrade', (req: http.IncomingMessage, socket: USocket, head: Buffer) => {
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\nX-Uring: ${socket instanceof USocket}\r\n\r\n`,
    );
    if (head.length > 0) socket.write(head);
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  listener = createServer((s) => app.emit('connection', s));
  await listening(listener, 0, '127.0.0.1');
  port = portOf(listener);
});

after(async () => {
  app.closeAllConnections();
  await within(closeServer(listener), 5000, 'the uring listener to close');
});

const agentless = (path: string, extra: http.RequestOptions = {}): http.RequestOptions => ({
  host: '127.0.0.1',
  port,
  path,
  agent: false,
  ...extra,
});

test('server: GET answered by node:http over a uring socket', async () => {
  const r = await request(agentless('/hello'));
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'hello world\n');
  assert.equal(r.headers['x-uring'], 'true', 'the request did not come through a uring socket');
  assert.equal(r.headers['content-length'], '12');
  const missing = await request(agentless('/nope'));
  assert.equal(missing.status, 404);
});

test('server: a 5 MiB POST echoed back byte-exact', { timeout: 20_000 }, async () => {
  const body = pattern(5 * MiB, 51);
  const r = await request(agentless('/echo', { method: 'POST', headers: { 'content-length': body.length } }), body);
  assert.equal(r.status, 200);
  assert.equal(r.body.length, body.length);
  assert.ok(r.body.equals(body), 'the echoed body differs');
  const d = await request(agentless('/digest', { method: 'POST', headers: { 'transfer-encoding': 'chunked' } }), body);
  assert.deepEqual(JSON.parse(d.body.toString()), { length: body.length, sha256: sha256(body) });
});

test('server: a keep-alive agent does 200 sequential requests over few connections', { timeout: 20_000 }, async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  try {
    const conns = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const r = await request({ host: '127.0.0.1', port, path: `/n/${i}`, agent });
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), `n=${i}`);
      assert.equal(r.headers.connection, 'keep-alive');
      conns.add(r.headers['x-conn'] as string);
    }
    assert.ok(conns.size <= 2, `200 sequential keep-alive requests used ${conns.size} connections`);
  } finally {
    agent.destroy();
  }
});

test('server: concurrent keep-alive requests over a pool of 8 sockets', { timeout: 20_000 }, async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  try {
    const replies = await Promise.all(
      Array.from({ length: 400 }, (_, i) => request({ host: '127.0.0.1', port, path: `/n/${i}`, agent })),
    );
    replies.forEach((r, i) => assert.equal(r.body.toString(), `n=${i}`));
    const conns = new Set(replies.map((r) => r.headers['x-conn']));
    assert.ok(conns.size <= 8, `${conns.size} connections for a pool of 8`);
  } finally {
    agent.destroy();
  }
});

test('server: a chunked response arrives whole, in order, as chunked', async () => {
  const r = await request(agentless('/chunked'));
  assert.equal(r.status, 200);
  assert.equal(r.headers['transfer-encoding'], 'chunked');
  assert.equal(r.body.toString(), 'part 0\npart 1\npart 2\npart 3\npart 4\n');
});

/**
 * Writes raw bytes on a node:net connection to the server (in `piece`-byte
 * writes, each one read by the server before the next is sent) and returns
 * all it sends back, to its end.
 */
async function raw(text: string, piece = Infinity): Promise<string> {
  const accepted: USocket[] = [];
  const onConnection = (s: USocket) => accepted.push(s);
  listener.on('connection', onConnection);
  const sock = nodeNet.connect(port, '127.0.0.1');
  sock.setNoDelay(true);
  const reader = new Reader(sock);
  await once(sock, 'connect');
  const bytes = Buffer.from(text);
  try {
    // The server's end of this connection (the listener is in this process).
    const theirs =
      piece === Infinity
        ? undefined
        : await waitFor(() => accepted.find((s) => s.remotePort === sock.localPort), {
            timeout: 2000,
            what: 'the server to accept',
          });
    for (let off = 0; off < bytes.length; off += piece) {
      sock.write(bytes.subarray(off, off + piece));
      const sent = Math.min(off + piece, bytes.length);
      if (theirs)
        await waitFor(() => theirs.bytesRead >= sent || theirs.destroyed, {
          timeout: 2000,
          what: () => `the server to read ${sent} bytes (it read ${theirs.bytesRead})`,
        });
    }
    return (await within(reader.rest(), 5000, 'the server to end the connection')).toString();
  } finally {
    listener.off('connection', onConnection);
    sock.destroy();
  }
}

/** The status lines and bodies of the responses in a raw HTTP/1.1 byte stream (Content-Length responses only). */
function parseResponses(text: string): { status: string; body: string }[] {
  const out: { status: string; body: string }[] = [];
  let rest = text;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    assert.ok(end > 0, `no header end in ${JSON.stringify(rest)}`);
    const head = rest.slice(0, end).split('\r\n');
    const len = Number(/^content-length: (\d+)$/im.exec(head.join('\n'))?.[1]);
    assert.ok(Number.isInteger(len), `no content-length in ${JSON.stringify(head)}`);
    out.push({ status: head[0]!, body: rest.slice(end + 4, end + 4 + len) });
    rest = rest.slice(end + 4 + len);
  }
  return out;
}

const pipelined =
  'GET /n/1 HTTP/1.1\r\nHost: x\r\n\r\n' +
  'POST /digest HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello' +
  'GET /n/2 HTTP/1.1\r\nHost: x\r\n\r\n' +
  'GET /nope HTTP/1.1\r\nHost: x\r\n\r\n' +
  'GET /n/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
const pipelinedAnswers = [
  { status: 'HTTP/1.1 200 OK', body: 'n=1' },
  { status: 'HTTP/1.1 200 OK', body: JSON.stringify({ length: 5, sha256: sha256(Buffer.from('hello')) }) },
  { status: 'HTTP/1.1 200 OK', body: 'n=2' },
  { status: 'HTTP/1.1 404 Not Found', body: 'not found\n' },
  { status: 'HTTP/1.1 200 OK', body: 'n=3' },
];

test('server: pipelined raw requests in one write are answered in order, and Connection: close ends it', async () => {
  assert.deepEqual(parseResponses(await raw(pipelined)), pipelinedAnswers);
});

test('server: the same pipelined requests dribbled in 7-byte writes', { timeout: 10_000 }, async () => {
  assert.deepEqual(parseResponses(await raw(pipelined, 7)), pipelinedAnswers);
});

test('server: a malformed request gets 400 and the connection ends', async () => {
  const text = await raw('GARBAGE\r\n\r\n');
  assert.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/);
});

test('server: an idle keep-alive connection is closed after keepAliveTimeout', { timeout: 10_000 }, async (t) => {
  const app2 = http.createServer(handler());
  app2.keepAliveTimeout = 200;
  const l2 = createServer((s) => app2.emit('connection', s));
  await listening(l2, 0, '127.0.0.1');
  t.after(() => {
    app2.closeAllConnections();
    return closeServer(l2);
  });
  const sock = nodeNet.connect(portOf(l2), '127.0.0.1');
  const reader = new Reader(sock);
  await once(sock, 'connect');
  const t0 = performance.now();
  sock.write('GET /n/7 HTTP/1.1\r\nHost: x\r\n\r\n');
  const text = (await within(reader.rest(), 5000, 'the server to close the idle connection')).toString();
  const ms = performance.now() - t0;
  sock.destroy();
  assert.deepEqual(
    parseResponses(text).map((r) => r.body),
    ['n=7'],
  );
  assert.ok(ms >= 150 && ms < 3000, `closed after ${ms.toFixed(0)} ms with keepAliveTimeout 200`);
});

test(
  'server: a client that disconnects halfway through a POST body does not disturb the next requests',
  { timeout: 10_000 },
  async () => {
    let bodyStarted!: () => void;
    const started = new Promise<void>((resolve) => (bodyStarted = resolve));
    const aborted = new Promise<void>((resolve) => {
      const onRequest = (req: http.IncomingMessage) => {
        if (req.url !== '/digest') return;
        app.off('request', onRequest);
        req.once('data', () => bodyStarted());
        req.once('close', () => resolve());
      };
      app.on('request', onRequest);
    });
    const sock = nodeNet.connect(port, '127.0.0.1');
    sock.on('error', () => {});
    await once(sock, 'connect');
    sock.write(`POST /digest HTTP/1.1\r\nHost: x\r\nContent-Length: ${4 * MiB}\r\n\r\n`);
    sock.write(pattern(MiB, 55));
    // Halfway: the server has the request and the first of its body.
    await within(started, 5000, "the server's request to get body bytes");
    sock.destroy();
    await within(aborted, 5000, "the server's request to close");
    const r = await request(agentless('/hello'));
    assert.equal(r.body.toString(), 'hello world\n');
  },
);

test('server: an Upgrade hands the uring socket over for raw bytes both ways (with the bytes after the headers)', async () => {
  const sock = nodeNet.connect(port, '127.0.0.1');
  const reader = new Reader(sock);
  await once(sock, 'connect');
  sock.write('GET /up HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nearly bytes|');
  const head = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\nX-Uring: true\r\n\r\n';
  assert.equal((await within(reader.take(head.length), 5000, 'the 101 response')).toString(), head);
  assert.equal((await within(reader.take(12), 5000, 'the head bytes echoed')).toString(), 'early bytes|');
  const big = pattern(3 * MiB, 56);
  sock.write(big);
  assert.ok(
    (await within(reader.take(big.length), 10_000, 'the raw echo')).equals(big),
    'raw bytes after the upgrade differ',
  );
  sock.end();
  assert.equal((await within(reader.rest(), 5000, 'the end')).length, 0);
  sock.destroy();
});

// ------------------------------------------------------------ curl

async function hasCurl(): Promise<boolean> {
  try {
    return (await curl(['--version'])).code === 0;
  } catch {
    return false;
  }
}

/** Runs curl asynchronously (the server runs in this process); `input` goes to its stdin. */
async function curl(args: string[], input?: Buffer): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  const p = spawn('curl', args, {
    stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    timeout: 15_000,
    killSignal: 'SIGKILL',
  });
  const out: Buffer[] = [];
  let stderr = '';
  p.stdout!.on('data', (d: Buffer) => out.push(d));
  p.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  p.on('error', () => {}); // ENOENT surfaces through 'close' too
  if (input) p.stdin!.end(input);
  const [code] = (await once(p, 'close')) as [number | null];
  return { code, stdout: Buffer.concat(out), stderr };
}

test('curl: GET, status code, and three URLs over one reused connection', async (t) => {
  if (!(await hasCurl())) return t.skip('curl is not installed');
  const base = `http://127.0.0.1:${port}`;
  const r = await curl(['-s', '-w', '%{http_code}', `${base}/hello`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), 'hello world\n200');
  const missing = await curl(['-s', '-o', '/dev/null', '-w', '%{http_code}', `${base}/nope`]);
  assert.equal(missing.stdout.toString(), '404');
  // -w after each transfer: its status and how many new connections it made.
  const three = await curl([
    '-s',
    '-w',
    ' %{http_code} %{num_connects}\n',
    `${base}/n/1`,
    `${base}/n/2`,
    `${base}/n/3`,
  ]);
  assert.equal(three.code, 0, three.stderr);
  assert.equal(three.stdout.toString(), 'n=1 200 1\nn=2 200 0\nn=3 200 0\n');
});

test('curl: a 2 MiB POST (with Expect: 100-continue) echoed back byte-exact', { timeout: 20_000 }, async (t) => {
  if (!(await hasCurl())) return t.skip('curl is not installed');
  const body = pattern(2 * MiB, 52);
  const r = await curl(
    [
      '-s',
      '-H',
      'Expect: 100-continue',
      '-H',
      'content-type: application/octet-stream',
      '--data-binary',
      '@-',
      `http://127.0.0.1:${port}/echo`,
    ],
    body,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.length, body.length);
  assert.ok(r.stdout.equals(body), 'the echoed body differs');
});

test('curl: a chunked response', async (t) => {
  if (!(await hasCurl())) return t.skip('curl is not installed');
  const r = await curl(['-s', '-D', '-', `http://127.0.0.1:${port}/chunked`]);
  assert.equal(r.code, 0, r.stderr);
  const text = r.stdout.toString();
  assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(text, /\r\ntransfer-encoding: chunked\r\n/i);
  assert.ok(text.endsWith('\r\n\r\npart 0\npart 1\npart 2\npart 3\npart 4\n'), JSON.stringify(text));
});

// ------------------------------------------------------------ uring/net as node:http's client transport

/** A plain node:http server with the same routes. */
async function plainServer() {
  const server = http.createServer(handler());
  await listening(server, 0, '127.0.0.1');
  return {
    server,
    port: portOf(server),
    async close() {
      server.closeAllConnections();
      await closeServer(server);
    },
  };
}

const viaUring = (opts: http.ClientRequestArgs, cb: (err: Error | null, socket: nodeNet.Socket) => void) =>
  createConnection(opts as never, cb as () => void) as unknown as nodeNet.Socket;

test('client: http.request with createConnection from uring/net, GET against plain node:http', async (t) => {
  const plain = await plainServer();
  t.after(() => plain.close());
  const r = await request({ host: '127.0.0.1', port: plain.port, path: '/hello', createConnection: viaUring });
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'hello world\n');
  assert.equal(r.headers['x-uring'], 'false', 'the server side is a plain node:net socket');
  assert.ok(r.socket instanceof USocket, 'the client request did not go through a uring socket');
  const missing = await request({ host: '127.0.0.1', port: plain.port, path: '/nope', createConnection: viaUring });
  assert.equal(missing.status, 404);
  const chunked = await request({ host: '127.0.0.1', port: plain.port, path: '/chunked', createConnection: viaUring });
  assert.equal(chunked.body.toString(), 'part 0\npart 1\npart 2\npart 3\npart 4\n');
});

test(
  'client: a 1 MiB POST through a uring createConnection, digested and echoed by plain node:http',
  { timeout: 20_000 },
  async (t) => {
    const plain = await plainServer();
    t.after(() => plain.close());
    const body = pattern(MiB, 53);
    const d = await request(
      {
        host: '127.0.0.1',
        port: plain.port,
        path: '/digest',
        method: 'POST',
        headers: { 'content-length': body.length },
        createConnection: viaUring,
      },
      body,
    );
    assert.equal(d.status, 200);
    assert.deepEqual(JSON.parse(d.body.toString()), { length: body.length, sha256: sha256(body) });
    const e = await request(
      { host: '127.0.0.1', port: plain.port, path: '/echo', method: 'POST', createConnection: viaUring },
      body,
    );
    assert.ok(e.body.equals(body), 'the echoed body differs');
  },
);

// http.Agent calls createConnection with `path: null` (node:net takes any
// falsy path as "not a Unix socket").
test(
  'client: a keep-alive agent whose connections are uring sockets reuses one for 50 requests',
  { timeout: 20_000 },
  async (t) => {
    const plain = await plainServer();
    t.after(() => plain.close());
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    (agent as unknown as { createConnection: typeof viaUring }).createConnection = viaUring;
    t.after(() => agent.destroy());
    const conns = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const r = await request({ host: '127.0.0.1', port: plain.port, path: `/n/${i}`, agent });
      assert.equal(r.body.toString(), `n=${i}`);
      assert.ok(r.socket instanceof USocket);
      conns.add(r.headers['x-conn'] as string);
    }
    assert.equal(
      conns.size,
      1,
      `50 sequential requests on a keep-alive agent of 1 socket used ${conns.size} connections`,
    );
  },
);

test(
  'both ends uring: a 5 MiB POST from a uring-transport client to the uring-fed server, echoed byte-exact',
  { timeout: 20_000 },
  async () => {
    const body = pattern(5 * MiB, 54);
    const r = await request(
      { host: '127.0.0.1', port, path: '/echo', method: 'POST', createConnection: viaUring },
      body,
    );
    assert.equal(r.headers['x-uring'], 'true');
    assert.ok(r.socket instanceof USocket);
    assert.ok(r.body.equals(body), 'the echoed body differs');
  },
);
