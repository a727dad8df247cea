// uring/http's Server as node:http's: instanceof, the module's exports, the
// listen forms and address(), 'listening'/'close'/'error', close() with a
// request in flight, closeIdleConnections/closeAllConnections,
// getConnections, maxConnections, ref/unref — each compared with node:http.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import * as nodeNet from 'node:net';
import { fileURLToPath } from 'node:url';
import uringHttp, * as named from '../../src/http/index.js';
import { Socket as USocket } from '../../src/net/index.js';
import { tempDir } from '../helpers/tmp.js';
import { kinds, listening, closeServer, portOf, get } from './util.js';
import { within, waitFor } from '../helpers/wait.js';

test('createServer gives an http.Server whose sockets are uring ones', async () => {
  const server = uringHttp.createServer((req, res) => res.end(String(req.socket instanceof USocket)));
  assert.ok(server instanceof http.Server);
  assert.ok(server instanceof nodeNet.Server);
  assert.ok(server instanceof named.Server);
  assert.ok(new named.Server() instanceof http.Server);
  await listening(server);
  const r = await get(portOf(server), '/', { agent: false });
  assert.equal(r.body, 'true');
  await closeServer(server);
});

test("the rest of node:http is node:http's own, named and on the default export", () => {
  // (Agent, globalAgent, request and get are uring's: client.test.ts.)
  for (const name of [
    'ClientRequest',
    'IncomingMessage',
    'OutgoingMessage',
    'ServerResponse',
    'STATUS_CODES',
    'METHODS',
    'validateHeaderName',
    'validateHeaderValue',
    'maxHeaderSize',
  ] as const) {
    assert.equal((named as Record<string, unknown>)[name], http[name], name);
    assert.equal((uringHttp as Record<string, unknown>)[name], http[name], `default.${name}`);
  }
  assert.equal(uringHttp.createServer, named.createServer);
  assert.notEqual(uringHttp.createServer, http.createServer);
});

/** What listen() with `args` gives on a server from `make`: the address, and `listening` before/after. */
async function listenForm(make: (typeof kinds)[number][1], args: (path: string) => unknown[], path: string) {
  const server = make((_req, res) => res.end('ok'));
  const before = server.listening;
  let cbThis: unknown;
  const cbCalled = new Promise<void>((resolve) =>
    (server.listen as (...a: unknown[]) => void)(...args(path), function (this: unknown) {
      // The callback's receiver is what the test checks.
      // eslint-disable-next-line @typescript-eslint/no-this-alias
      cbThis = this;
      resolve();
    }),
  );
  await within(cbCalled, 5000, 'listen callback');
  assert.equal(cbThis, server, 'the callback is called on the server');
  const address = server.address();
  const after = server.listening;
  // The server answers at that address.
  const body = await new Promise<string>((resolve, reject) => {
    const target =
      typeof address === 'string' ? { socketPath: address } : { host: address!.address, port: address!.port };
    http
      .get({ ...target, path: '/', agent: false }, (res) => {
        res.setEncoding('utf8');
        let b = '';
        res.on('data', (d: string) => (b += d));
        res.on('end', () => resolve(b));
      })
      .on('error', reject);
  });
  await closeServer(server);
  const shape = typeof address === 'string' ? address : { ...address!, port: typeof address!.port };
  return { before, after, afterClose: server.listening, address: shape, body };
}

test("listen forms: port, port+host, options, a Unix path, with a callback; address() as node's", async () => {
  const dir = tempDir('uring-http-');
  try {
    const forms: [string, (path: string) => unknown[]][] = [
      ['port', () => [0]],
      ['port, host', () => [0, '127.0.0.1']],
      ['port, IPv6 host', () => [0, '::1']],
      ['port, host, backlog', () => [0, '127.0.0.1', 10]],
      ['options', () => [{ port: 0, host: '127.0.0.1' }]],
      ['string port', () => ['0']],
      ['Unix path', (p) => [p]],
      ['options with a path', (p) => [{ path: p }]],
    ];
    for (const [what, args] of forms) {
      const [a, b] = await Promise.all(
        kinds.map(([kind, make]) =>
          listenForm(make, args, dir.file(`${kind.replace('/', '-')}-${what.replace(/\W+/g, '-')}.sock`)),
        ),
      );
      assert.ok(a && b, 'two kinds of server');
      if (typeof a.address === 'string') {
        assert.equal(typeof b.address, 'string', what);
        a.address = b.address = '<path>';
      }
      assert.deepEqual(b, a, what);
      assert.deepEqual([b.before, b.after, b.afterClose, b.body], [false, true, false, 'ok'], what);
    }
  } finally {
    dir.remove();
  }
});

test("address() is null before listen() and after close(), as node's", async () => {
  for (const [kind, make] of kinds) {
    const server = make();
    assert.equal(server.address(), null, kind);
    await listening(server);
    await closeServer(server);
    assert.equal(server.address(), null, kind);
  }
});

test("EADDRINUSE: 'error' as node's (code, syscall, address, port, message)", async () => {
  const taken = await listening(http.createServer());
  const port = portOf(taken);
  try {
    const seen = [];
    for (const [kind, make] of kinds) {
      const server = make();
      server.listen(port, '127.0.0.1');
      const [err] = (await within(once(server, 'error'), 5000, `${kind} error`)) as [
        NodeJS.ErrnoException & { address?: string; port?: number },
      ];
      seen.push({
        code: err.code,
        errno: err.errno,
        syscall: err.syscall,
        address: err.address,
        port: err.port,
        message: err.message,
        listening: server.listening,
      });
    }
    assert.deepEqual(seen[1], seen[0]);
    assert.equal(seen[0]!.code, 'EADDRINUSE');
  } finally {
    await closeServer(taken);
  }
});

test("close(cb) on a server not listening: ERR_SERVER_NOT_RUNNING, as node's", async () => {
  for (const [kind, make] of kinds) {
    const server = make();
    const err = await within(new Promise<Error | undefined>((resolve) => server.close(resolve)), 5000, kind);
    assert.equal((err as NodeJS.ErrnoException | undefined)?.code, 'ERR_SERVER_NOT_RUNNING', kind);
  }
});

test("close() with a request in flight: it completes, then 'close'", async () => {
  for (const [kind, make] of kinds) {
    let respond: (() => void) | undefined;
    const server = make((_req, res) => {
      respond = () => res.end('late');
    });
    await listening(server);
    const port = portOf(server);
    const events: string[] = [];
    server.on('close', () => events.push('close'));
    const reply = get(port, '/', { agent: false }).then((r) => {
      events.push(`reply ${r.body}`);
      return r;
    });
    await waitFor(() => respond !== undefined, { timeout: 5000, what: () => `${kind}: the request arrives` });
    server.close(() => events.push('close cb'));
    assert.equal(server.listening, false, kind);
    // No new connection is accepted.
    const refused = await new Promise<string>((resolve) => {
      const c = nodeNet.connect(port, '127.0.0.1');
      c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code!));
      c.on('connect', () => {
        c.destroy();
        resolve('connected');
      });
    });
    assert.equal(refused, 'ECONNREFUSED', kind);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(events.join(), '', `${kind}: no 'close' while a request is in flight`);
    respond!();
    assert.equal((await within(reply, 5000, `${kind}: reply`)).status, 200);
    await waitFor(() => events.includes('close cb'), { timeout: 5000, what: () => `${kind}: close` });
    // The client's reply and the server's 'close' race; 'close' comes before close's callback.
    assert.deepEqual(
      events.filter((e) => e !== 'reply late'),
      ['close', 'close cb'],
      kind,
    );
    assert.ok(events.includes('reply late'), kind);
  }
});

test('closeIdleConnections closes the idle keep-alive connection only; closeAllConnections the rest', async () => {
  const results = [];
  for (const [kind, make] of kinds) {
    let hold: (() => void) | undefined;
    const server = make((req, res) => {
      if (req.url === '/hold') hold = () => res.end('held');
      else res.end('quick');
    });
    await listening(server);
    const port = portOf(server);
    const agent = new http.Agent({ keepAlive: true });
    const quick = await get(port, '/quick', { agent });
    assert.equal(quick.body, 'quick');
    const serverSockets: nodeNet.Socket[] = [];
    await new Promise<void>((resolve) => server.getConnections((_e, n) => (assert.equal(n, 1, kind), resolve())));
    // A second connection, its request in flight.
    const held = get(port, '/hold', { agent: false }).then(
      (r) => r.body,
      (e: NodeJS.ErrnoException) => e.code,
    );
    server.on('connection', (s: nodeNet.Socket) => serverSockets.push(s));
    await waitFor(() => hold !== undefined, { timeout: 5000, what: () => `${kind}: /hold arrives` });
    const idleClosed = once(
      [...(agent.freeSockets as Record<string, nodeNet.Socket[]>)[Object.keys(agent.freeSockets)[0]!]!][0]!,
      'close',
    );
    server.closeIdleConnections();
    await within(idleClosed, 5000, `${kind}: idle connection closed`);
    const count = await new Promise<number>((resolve) => server.getConnections((_e, n) => resolve(n)));
    server.closeAllConnections();
    const heldResult = await within(held, 5000, `${kind}: held request`);
    await within(
      waitFor(() => serverSockets.every((s) => s.destroyed), { timeout: 5000, what: 'server sockets destroyed' }),
      6000,
      kind,
    );
    agent.destroy();
    await closeServer(server);
    results.push({ count, heldResult });
  }
  assert.deepEqual(results[1], results[0]);
  assert.deepEqual(results[0], { count: 1, heldResult: 'ECONNRESET' });
});

test("maxConnections drops what is over it ('drop'), as node's", async () => {
  for (const [kind, make] of kinds) {
    const server = make((_req, res) => res.end('ok'));
    server.maxConnections = 1;
    assert.equal(server.maxConnections, 1, kind);
    await listening(server);
    const port = portOf(server);
    const first = nodeNet.connect(port, '127.0.0.1');
    await once(server, 'connection');
    const drop = once(server, 'drop');
    const second = nodeNet.connect(port, '127.0.0.1');
    second.on('error', () => {});
    const [data] = (await within(drop, 5000, `${kind}: drop`)) as [{ remotePort: number; localPort: number }];
    assert.equal(data.localPort, port, kind);
    await once(second, 'close');
    first.destroy();
    await closeServer(server);
  }
});

test('unref() lets the process exit while listening; ref() keeps it', () => {
  const mod = fileURLToPath(new URL('../../src/http/index.js', import.meta.url));
  const script = (ref: boolean) => `
    import { createServer } from ${JSON.stringify(mod)};
    const s = createServer().listen(0, '127.0.0.1', () => {
      process.stdout.write('listening');
      ${ref ? "setTimeout(() => { process.stdout.write(' still'); s.close(); }, 300);" : ''}
    });
    s.unref();
    ${ref ? 's.ref();' : ''}
  `;
  const unref = spawnSync(process.execPath, ['--input-type=module', '-e', script(false)], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(unref.status, 0, unref.stderr);
  const refd = spawnSync(process.execPath, ['--input-type=module', '-e', script(true)], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(refd.status, 0, refd.stderr);
  assert.equal(refd.stdout, 'listening still');
});

test("listen() twice throws ERR_SERVER_ALREADY_LISTEN, without taking the callback, as node's", async () => {
  for (const [kind, make] of kinds) {
    const server = await listening(make());
    let called = false;
    assert.throws(() => server.listen(0, () => (called = true)), { code: 'ERR_SERVER_ALREADY_LISTEN' }, kind);
    assert.equal(server.listenerCount('listening'), 1, `${kind}: only http.Server's own 'listening' listener`);
    await closeServer(server);
    assert.equal(called, false, kind);
  }
});
