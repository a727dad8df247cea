// uring/net's Server.listen() side by side with node:net's: the argument
// forms ("any port" as no port, undefined or null; a path; an fd), the
// errors of options with neither port nor path, readableAll/writableAll,
// _connectionKey, and captureRejections (tools/node-compat found each
// different).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { closeSync, openSync, statSync } from 'node:fs';
import * as nodeNet from 'node:net';
import net from '../../src/net/index.js';
import { native } from '../../src/native.js';
import { sockaddr } from '../../src/ring/structs.js';
import { AF_INET, SOCK_CLOEXEC, SOCK_STREAM } from '../../src/ring/uapi.js';

const mods = [
  ['node', nodeNet],
  ['uring', net],
] as const;

type AnyListen = (...a: unknown[]) => nodeNet.Server;

test('listen() forms: no port, undefined, null, "0" and a callback alone all take any port', async () => {
  const forms: unknown[][] = [[], [undefined], [null], ['0'], [{ port: undefined }], [{ port: null }], [{ port: '0' }]];
  for (const args of forms) {
    const seen = [];
    for (const [, mod] of mods) {
      const server = mod.createServer();
      const listening = once(server, 'listening');
      (server.listen as unknown as AnyListen).call(server, ...args);
      await listening;
      const a = server.address() as nodeNet.AddressInfo;
      seen.push({
        port: a.port > 0,
        family: a.family,
        key: (server as unknown as { _connectionKey: string })._connectionKey,
      });
      server.close();
    }
    assert.deepEqual(seen[1], seen[0], JSON.stringify(args));
  }
  // listen(cb): the callback is the 'listening' listener.
  for (const [name, mod] of mods) {
    const server = mod.createServer();
    await new Promise<void>((resolve) => (server as nodeNet.Server).listen(resolve));
    assert.ok(server.listening, name);
    server.close();
  }
});

test("listen()'s errors: bad ports, and options with neither a port nor a path", () => {
  const bad: unknown[][] = [
    [-1],
    [NaN],
    [123.456],
    [65536],
    [{ port: -1, path: '/tmp/x' }],
    [false],
    [{ port: false }],
    [true],
    [{ port: true }],
    [{ fd: -1 }],
    [{ path: -1 }],
    [{}],
    [{ host: 'localhost' }],
    [{ host: { port: 3000 } }],
    [{ exclusive: true }],
  ];
  for (const args of bad) {
    const errs = [];
    for (const [, mod] of mods) {
      try {
        (mod.createServer().listen as unknown as AnyListen)(...args);
        errs.push(undefined);
      } catch (err) {
        const e = err as Error & { code?: string };
        errs.push({ name: e.name, code: e.code, message: e.message });
      }
    }
    assert.deepEqual(errs[1], errs[0], JSON.stringify(args));
    assert.ok(errs[0], JSON.stringify(args));
  }
});

test('listen({ path, readableAll, writableAll }) opens the socket file to all', async () => {
  for (const [name, mod] of mods) {
    const path = `/tmp/uring-listen-all-${process.pid}-${name}.sock`;
    const server = mod.createServer();
    server.listen({ path, readableAll: true, writableAll: true } as nodeNet.ListenOptions);
    await once(server, 'listening');
    assert.equal(statSync(path).mode & 0o066, 0o066, name);
    assert.equal((server as unknown as { _connectionKey: string })._connectionKey, `-1:${path}:-1`);
    await new Promise((resolve) => server.close(resolve));
  }
});

test("listen({ fd }): a bound socket's descriptor listens; a non-socket is an 'error' event", async () => {
  for (const [name, mod] of mods) {
    const fd = native().socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert.equal(native().bind(fd, sockaddr({ host: '127.0.0.1', port: 0 })), 0);
    const server = mod.createServer((s: nodeNet.Socket) => s.end('hi'));
    (server as nodeNet.Server).listen({ fd });
    await once(server, 'listening');
    const port = (server.address() as nodeNet.AddressInfo).port;
    const client = nodeNet.connect(port, '127.0.0.1');
    const [data] = (await once(client, 'data')) as [Buffer];
    assert.equal(data.toString(), 'hi', name);
    client.destroy();
    await new Promise((resolve) => server.close(resolve));

    const file = openSync('/dev/null', 'r');
    try {
      const bad = mod.createServer();
      (bad as nodeNet.Server).listen({ fd: file });
      const [err] = (await once(bad, 'error')) as [NodeJS.ErrnoException];
      assert.ok(['ENOTSOCK', 'EINVAL'].includes(err.code!), `${name}: ${err.code}`);
    } finally {
      closeSync(file);
    }
  }
});

test("captureRejections: a rejected async 'connection' listener destroys that socket with the error", async () => {
  const was = EventEmitter.captureRejections;
  EventEmitter.captureRejections = true;
  try {
    for (const [name, mod] of mods) {
      const boom = new Error('kaboom');
      const server = mod.createServer();
      const got = new Promise<unknown>((resolve) => {
        server.on('connection', async (socket: nodeNet.Socket) => {
          socket.on('error', resolve);
          throw boom;
        });
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const client = nodeNet.connect((server.address() as nodeNet.AddressInfo).port, '127.0.0.1');
      client.on('error', () => {});
      assert.equal(await got, boom, name);
      await once(client, 'close');
      server.close();
    }
  } finally {
    EventEmitter.captureRejections = was;
  }
});

test("a Unix path too long for sun_path: EINVAL 'error' events from listen() and connect(), as node 24's", async () => {
  const path = `/tmp/${'x'.repeat(200)}.sock`;
  // Node 20 and 22 cut the path short and bind that (libuv truncates): uring's fails on every line.
  const lines = Number(process.versions.node.split('.')[0]) >= 24 ? mods : mods.filter(([n]) => n === 'uring');
  for (const [name, mod] of lines) {
    const server = mod.createServer();
    server.listen(path);
    const [err] = (await once(server, 'error')) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'EINVAL', name);
    assert.equal(err.syscall, 'listen', name);
    const socket = mod.connect(path);
    const [cerr] = (await once(socket, 'error')) as [NodeJS.ErrnoException];
    assert.equal(cerr.code, 'EINVAL', name);
    assert.equal(cerr.syscall, 'connect', name);
  }
});
