// uring/net's connect() side by side with node:net's: host names through the
// `lookup` option, the 'lookup' events, autoSelectFamily's attempts, the
// errors of bad options and bad lookup results, binding the client's own
// address, and connecting a closed socket again (tools/node-compat found
// each of these different).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as nodeNet from 'node:net';
import net from '../../src/net/index.js';

const mods = [
  ['node', nodeNet],
  ['uring', net],
] as const;

type LookupCb = (err: Error | null, address?: unknown, family?: unknown) => void;
type Lookup = (host: string, opts: { all?: boolean; family?: unknown }, cb: LookupCb) => void;

/** A lookup that answers every name with `answers` (an array when asked for all). */
function fixedLookup(answers: { address: unknown; family: unknown }[], seen?: unknown[]): Lookup {
  return (host, opts, cb) => {
    seen?.push({ host, family: opts.family, all: opts.all === true });
    process.nextTick(() => {
      if (opts.all) (cb as (e: null, a: unknown) => void)(null, answers);
      else cb(null, answers[0]!.address, answers[0]!.family);
    });
  };
}

async function listening(host = '127.0.0.1'): Promise<[nodeNet.Server, number]> {
  // The clients destroy their side at once: a reset here is expected.
  const server = nodeNet.createServer((s) => s.on('error', () => {}).end('hi'));
  server.listen(0, host);
  await once(server, 'listening');
  return [server, (server.address() as nodeNet.AddressInfo).port];
}

/** What a connect does, as comparable data: its events in order, and the error's shape. */
async function outcome(socket: nodeNet.Socket): Promise<{ events: unknown[]; error?: Record<string, unknown> }> {
  const events: unknown[] = [];
  socket.on('lookup', (err: Error | null, address: unknown, family: unknown, host: unknown) =>
    events.push(['lookup', err ? (err as { code?: string }).code : null, address, family, host]),
  );
  socket.on('connect', () => events.push(['connect']));
  const error = await new Promise<Error | undefined>((resolve) => {
    socket.once('error', resolve);
    socket.once('connect', () => resolve(undefined));
  });
  socket.destroy();
  if (!error) return { events };
  const e = error as Error & Record<string, unknown>;
  return {
    events,
    error: {
      name: e.name,
      aggregate: e instanceof AggregateError,
      code: e.code,
      message: e.message,
      syscall: e.syscall,
      hostname: e.hostname,
      host: e.host,
      port: e.port,
      errors: Array.isArray(e.errors) ? (e.errors as Error[]).map((x) => x.message) : undefined,
    },
  };
}

test("the lookup option resolves the host: its arguments, the 'lookup' event, and the connect", async () => {
  const [server, port] = await listening();
  try {
    const results = [];
    for (const [, mod] of mods) {
      for (const family of [undefined, 4] as const) {
        const seen: unknown[] = [];
        const lookup = fixedLookup([{ address: '127.0.0.1', family: 4 }], seen);
        const socket = mod.connect({ host: 'dummy', port, lookup, ...(family ? { family } : {}) } as never);
        results.push({ family, seen, ...(await outcome(socket as nodeNet.Socket)) });
      }
    }
    assert.deepEqual(results.slice(2), results.slice(0, 2));
    assert.deepEqual(results[0]!.events, [['lookup', null, '127.0.0.1', 4, 'dummy'], ['connect']]);
  } finally {
    server.close();
  }
});

test('bad lookup results fail as node:net fails them: the error itself, a bad address, a bad family', async () => {
  const notFound: Lookup = (host, _opts, cb) => {
    const err = Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), {
      code: 'ENOTFOUND',
      errno: 'ENOTFOUND',
      syscall: 'getaddrinfo',
      hostname: host,
    });
    process.nextTick(() => cb(err));
  };
  const lookups: [string, Lookup, Record<string, unknown>][] = [
    ['not found', notFound, {}],
    ['not found, one family', notFound, { family: 4 }],
    ['no address', fixedLookup([{ address: undefined, family: 4 }]), {}],
    ['no address, one family', fixedLookup([{ address: undefined, family: 4 }]), { family: 4 }],
    ['family 100', fixedLookup([{ address: '127.0.0.1', family: 100 }]), {}],
    [
      'family 100, no autoSelectFamily',
      fixedLookup([{ address: '127.0.0.1', family: 100 }]),
      { autoSelectFamily: false },
    ],
  ];
  for (const [what, lookup, extra] of lookups) {
    const got = [];
    for (const [, mod] of mods) {
      const socket = mod.connect({ host: 'something.invalid', port: 0, lookup, ...extra } as never);
      got.push(await outcome(socket as nodeNet.Socket));
    }
    assert.deepEqual(got[1], got[0], what);
    assert.ok(got[0]!.error, what);
  }
});

test('autoSelectFamily tries each address in turn, families alternating, and reports them all', async () => {
  const [server, port] = await listening('127.0.0.1');
  // A port nobody listens on, for the attempts that must fail.
  const [gone, closedPort] = await listening('127.0.0.1');
  gone.close();
  try {
    const answers = [
      { address: '::1', family: 6 },
      { address: '::1', family: 6 }, // a repeat: tried once
      { address: '127.0.0.1', family: 4 },
    ];
    for (const p of [port, closedPort]) {
      const got = [];
      for (const [, mod] of mods) {
        const socket = mod.connect({
          host: 'example.org',
          port: p,
          lookup: fixedLookup(answers),
          autoSelectFamily: true,
        } as never) as nodeNet.Socket;
        const o = await outcome(socket);
        got.push({ ...o, attempted: socket.autoSelectFamilyAttemptedAddresses });
      }
      assert.deepEqual(got[1], got[0]);
      assert.deepEqual(got[0]!.attempted, [`::1:${p}`, `127.0.0.1:${p}`]);
    }
  } finally {
    server.close();
  }
});

test("connect()'s option errors are node:net's, thrown before anything starts", () => {
  const bad: Record<string, unknown>[] = [
    { port: 80, autoSelectFamily: 'yes' },
    { port: 80, autoSelectFamily: true, autoSelectFamilyAttemptTimeout: 0 },
    { port: 80, autoSelectFamilyAttemptTimeout: 1.5 },
    { port: 80, host: 'localhost', lookup: 'foo' },
    { port: 80, host: 'localhost', lookup: {} },
    { port: true },
    { port: null },
    { port: [] },
    { port: 65536 },
    { port: 80, localAddress: 'nope' },
    { port: 80, localPort: '1' },
    { port: 42, hints: 1e6 },
  ];
  for (const options of bad) {
    const errs = [];
    for (const [, mod] of mods) {
      try {
        mod.connect(options as never).destroy();
        errs.push(undefined);
      } catch (err) {
        const e = err as Error & { code?: string };
        errs.push({ name: e.name, code: e.code, message: e.message });
      }
    }
    assert.deepEqual(errs[1], errs[0], JSON.stringify(options));
    assert.ok(errs[0], JSON.stringify(options));
  }
});

test('localAddress / localPort bind the client first: its port, and EADDRINUSE from a port in use', async () => {
  const [server, port] = await listening();
  const [other, busy] = await listening();
  try {
    for (const [name, mod] of mods) {
      const socket = mod.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.1', localPort: busy } as never);
      const o = await outcome(socket as nodeNet.Socket);
      assert.equal(o.error?.code, 'EADDRINUSE', name);
      assert.equal(o.error?.syscall, 'bind', name);
      assert.equal(o.error?.message, `bind EADDRINUSE 127.0.0.1:${busy}`, name);
      const ok = mod.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.1' } as never) as nodeNet.Socket;
      await once(ok, 'connect');
      assert.equal(ok.localAddress, '127.0.0.1', name);
      ok.destroy();
    }
  } finally {
    server.close();
    other.close();
  }
});

test('a closed socket connects again with connect(): fresh counters, _handle null when closed', async () => {
  const [server, port] = await listening();
  try {
    for (const [name, mod] of mods) {
      const socket = new mod.Socket() as nodeNet.Socket;
      assert.equal((socket as unknown as { _handle: unknown })._handle, null, name);
      const seen = [];
      for (let i = 0; i < 3; i++) {
        socket.connect(port, '127.0.0.1');
        socket.resume();
        await once(socket, 'connect');
        socket.end('abc');
        await once(socket, 'close');
        assert.equal((socket as unknown as { _handle: unknown })._handle, null, name);
        seen.push({ written: socket.bytesWritten, read: socket.bytesRead, destroyed: socket.destroyed });
      }
      assert.deepEqual(seen, Array(3).fill({ written: 3, read: 2, destroyed: true }), name);
    }
  } finally {
    server.close();
  }
});

test("onread: bytes go to the program's buffer and callback, in pieces, with pause and resume; no 'data'", async () => {
  const message = Buffer.from('hello world, and more');
  const server = nodeNet.createServer((s) => s.end(message));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as nodeNet.AddressInfo).port;
  try {
    for (const variant of ['static', 'function', 'pause', 'false'] as const) {
      const seen = [];
      for (const [, mod] of mods) {
        const bufs = [Buffer.alloc(4), Buffer.alloc(4)];
        let i = 0;
        let asked = 0;
        const got: Buffer[] = [];
        let paused = false;
        const socket = mod.connect({
          port,
          host: '127.0.0.1',
          onread: {
            buffer: variant === 'function' ? () => (asked++, bufs[i++ % 2]!) : bufs[0]!,
            callback(this: nodeNet.Socket, n: number, buf: Buffer) {
              assert.equal(paused, false);
              got.push(Buffer.from(buf.subarray(0, n)));
              if (variant === 'pause' || variant === 'false') {
                paused = true;
                if (variant === 'pause') this.pause();
                setTimeout(() => ((paused = false), this.resume()), 5);
                if (variant === 'false') return false;
              }
              return undefined;
            },
          },
        } as never) as nodeNet.Socket;
        socket.on('data', () => assert.fail('data'));
        await once(socket, 'end');
        socket.destroy();
        assert.deepEqual(Buffer.concat(got), message);
        seen.push({ sizes: got.map((b) => b.length <= 4), asked: asked > 0, bytesRead: socket.bytesRead });
      }
      assert.deepEqual(seen[1], seen[0], variant);
    }
  } finally {
    server.close();
  }
});

const hasBlockList = typeof (nodeNet.BlockList as unknown as { isBlockList?: unknown }).isBlockList === 'function';

test(
  'blockList: a connect to a blocked address fails with ERR_IP_BLOCKED; a server drops blocked peers',
  {
    skip: !hasBlockList && 'the running node has no blockList option',
  },
  async () => {
    const blockList = new nodeNet.BlockList();
    blockList.addAddress('127.0.0.1');
    blockList.addAddress('127.0.0.2');
    const cases: Record<string, unknown>[] = [
      { host: '127.0.0.1' },
      { host: 'h', lookup: fixedLookup([{ address: '127.0.0.1', family: 4 }]), autoSelectFamily: false },
      {
        host: 'h',
        lookup: fixedLookup([
          { address: '127.0.0.1', family: 4 },
          { address: '127.0.0.2', family: 4 },
        ]),
        autoSelectFamily: true,
      },
    ];
    for (const c of cases) {
      const got = [];
      for (const [, mod] of mods) {
        const socket = mod.connect({ port: 9, blockList, ...c } as never);
        got.push(await outcome(socket as nodeNet.Socket));
      }
      assert.deepEqual(got[1], got[0]);
      assert.equal(got[0]!.error?.code, 'ERR_IP_BLOCKED');
    }
    for (const [name, mod] of mods) {
      assert.throws(() => new mod.Socket({ blockList: 5 } as never), { code: 'ERR_INVALID_ARG_TYPE' }, name);
      assert.throws(() => mod.createServer({ blockList: 5 } as never), { code: 'ERR_INVALID_ARG_TYPE' }, name);
      const server = mod.createServer({ blockList } as never, () => assert.fail(`${name}: a blocked connection`));
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const client = nodeNet.connect((server.address() as nodeNet.AddressInfo).port, '127.0.0.1');
      client.on('error', () => {});
      client.resume();
      await once(client, 'close');
      server.close();
    }
  },
);

test('a host that is not a string: refused at once from node 22 on, by the lookup before', () => {
  for (const host of [5, {}, true]) {
    const errs = [];
    for (const [, mod] of mods) {
      try {
        // A custom lookup that refuses, so node 20 (which asks it) fails at once too.
        const lookup = () => {
          throw new TypeError('not a string');
        };
        mod.connect({ host, port: 9, lookup } as never).destroy();
        errs.push(undefined);
      } catch (err) {
        errs.push({ code: (err as { code?: string }).code, message: (err as Error).message });
      }
    }
    assert.deepEqual(errs[1], errs[0], JSON.stringify(host));
  }
});

test("a write after the peer's FIN: EPIPE to its callback; an 'error' only while the socket is not closed yet", async () => {
  for (const [name, mod] of mods) {
    // Written by a socket whose own 'end' and FIN are past (the peer has answered): the callback only.
    {
      let serverSocket: nodeNet.Socket | undefined;
      const server = mod.createServer((s: nodeNet.Socket) => {
        serverSocket = s;
        s.resume();
        s.on('error', () => assert.fail(`${name}: 'error' on a socket closing well`));
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const client = mod.connect((server.address() as nodeNet.AddressInfo).port, '127.0.0.1');
      await once(client, 'connect');
      client.resume();
      client.end();
      await once(client, 'end');
      const err = await new Promise<Error | null | undefined>((resolve) => serverSocket!.write('x', resolve));
      assert.equal((err as NodeJS.ErrnoException | undefined)?.code, 'EPIPE', name);
      server.close();
    }
    // Written in the socket's own 'end' listener: the callback, and 'error' on the next tick.
    {
      const server = mod.createServer((s: nodeNet.Socket) => s.end());
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const client = mod.connect((server.address() as nodeNet.AddressInfo).port, '127.0.0.1');
      await once(client, 'connect');
      const errored = once(client, 'error');
      const cbErr = new Promise<Error | null | undefined>((resolve) => {
        client.on('end', () => assert.equal(client.write('hello', resolve), false));
      });
      client.end();
      assert.equal(((await cbErr) as NodeJS.ErrnoException | undefined)?.code, 'EPIPE', name);
      assert.equal(((await errored)[0] as NodeJS.ErrnoException).code, 'EPIPE', name);
      server.close();
    }
  }
});
