// Bytes through uring sockets, checked against node:net on the other end:
// echo both ways, 1 MiB and 64 MiB byte-exact in each direction, 1,000
// concurrent connections, half-close, write ordering, IPv6 and Unix sockets,
// byte counters and addresses. Both APIs: the native one (listen/dial) and
// the node:net-shaped one (createServer/connect).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as nodeNet from 'node:net';
import {
  listen,
  dial,
  createServer,
  connect,
  type UringSocket,
  type Socket as USocket,
  type Server as UServer,
} from '../../src/net/index.js';
import { native } from '../../src/native.js';
import { tempDir } from '../helpers/tmp.js';
import {
  pattern,
  sha256,
  pieces,
  hashStream,
  hashUring,
  drainUring,
  readExactly,
  Reader,
  listening,
  closeServer,
  portOf,
  nodeEchoServer,
  uringEchoServer,
} from './util.js';
import { quietFor, sleep, waitFor } from '../helpers/wait.js';

const dir = tempDir('uring-net-stream-');
after(() => dir.remove());

const MiB = 1 << 20;

/** A uring node-shaped echo server (socket.pipe(socket)); close() destroys its connections first. */
async function uringNodeEchoServer(listenArgs: unknown[] = [0, '127.0.0.1']) {
  const sockets = new Set<USocket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.pipe(s);
  });
  await listening(server, ...listenArgs);
  return {
    server,
    get port() {
      return portOf(server);
    },
    async close() {
      for (const s of sockets) s.destroy();
      await closeServer(server);
    },
  };
}

/** A node:net server that hashes what its first connection receives, to the end. */
async function hashingServer() {
  let resolve!: (h: Promise<{ length: number; sha256: string }>) => void;
  const got = new Promise<{ length: number; sha256: string }>((r) => (resolve = (h) => r(h)));
  const server = await listening(
    nodeNet.createServer((sock) => resolve(hashStream(sock))),
    0,
    '127.0.0.1',
  );
  return { server, got };
}

/** A node:net server that collects what its first connection receives, to the end. */
async function collectingServer() {
  let resolve!: (b: Promise<Buffer>) => void;
  const got = new Promise<Buffer>((r) => (resolve = (b) => r(b)));
  const server = await listening(
    nodeNet.createServer((sock) => resolve(new Reader(sock).rest())),
    0,
    '127.0.0.1',
  );
  return { server, got };
}

/** Three ping-pong round trips with distinct messages on a node stream (node:net or node-shaped uring). */
async function pingPongNode(sock: nodeNet.Socket | USocket, i: number): Promise<void> {
  const r = new Reader(sock);
  for (let j = 0; j < 3; j++) {
    const msg = Buffer.from(
      `conn ${i} message ${j} `.padEnd(40 + ((i * 7 + j) % 50), String.fromCharCode(97 + ((i + j) % 26))),
    );
    sock.write(msg);
    const got = await r.take(msg.length);
    assert.ok(got.equals(msg), `connection ${i} message ${j}: got ${JSON.stringify(got.toString())}`);
  }
  sock.end();
  assert.equal((await r.rest()).length, 0, `connection ${i}: bytes after the last echo`);
}

async function pingPongUring(sock: UringSocket, i: number): Promise<void> {
  for (let j = 0; j < 3; j++) {
    const msg = Buffer.from(
      `conn ${i} message ${j} `.padEnd(40 + ((i * 7 + j) % 50), String.fromCharCode(97 + ((i + j) % 26))),
    );
    await sock.write(msg);
    const got = await readExactly(sock, msg.length);
    assert.ok(got.equals(msg), `connection ${i} message ${j}: got ${JSON.stringify(got.toString())}`);
  }
  await sock.end();
  assert.equal((await drainUring(sock)).length, 0, `connection ${i}: bytes after the last echo`);
  await sock.close();
}

// ------------------------------------------------------------ echo

test('native: node:net clients echo through a uring server', { timeout: 10_000 }, async () => {
  const srv = await uringEchoServer();
  try {
    for (const msg of ['hello', 'x', 'a longer message with some unicode: żółć ✓']) {
      const c = nodeNet.connect(srv.port, '127.0.0.1');
      const r = new Reader(c);
      c.end(msg);
      assert.equal((await r.rest()).toString(), msg);
    }
  } finally {
    await srv.close();
  }
});

test('native: a uring client echoes through a node:net server', { timeout: 10_000 }, async () => {
  const srv = await nodeEchoServer();
  try {
    const c = await dial({ host: '127.0.0.1', port: srv.port });
    for (const msg of ['hello', 'x', 'żółć ✓'.repeat(100)]) {
      const b = Buffer.from(msg);
      await c.write(b);
      assert.ok((await readExactly(c, b.length)).equals(b));
    }
    await c.end();
    assert.equal((await drainUring(c)).length, 0);
    await c.close();
  } finally {
    await srv.close();
  }
});

test('node-shaped: node:net clients echo through a uring createServer()', { timeout: 10_000 }, async () => {
  const srv = await uringNodeEchoServer();
  try {
    const c = nodeNet.connect(srv.port, '127.0.0.1');
    const r = new Reader(c);
    c.write('first ');
    assert.equal((await r.take(6)).toString(), 'first ');
    c.end('second');
    assert.equal((await r.rest()).toString(), 'second');
  } finally {
    await srv.close();
  }
});

test('node-shaped: a uring connect() client echoes through a node:net server', { timeout: 10_000 }, async () => {
  const srv = await nodeEchoServer();
  try {
    const c = connect(srv.port, '127.0.0.1');
    const events: string[] = [];
    c.on('connect', () => events.push('connect'));
    c.on('ready', () => events.push('ready'));
    c.on('end', () => events.push('end'));
    const closed = new Promise<void>((resolve) =>
      c.on('close', (hadError: boolean) => (events.push(`close ${hadError}`), resolve())),
    );
    const r = new Reader(c);
    c.write('first ');
    assert.equal((await r.take(6)).toString(), 'first ');
    c.end('second');
    assert.equal((await r.rest()).toString(), 'second');
    await closed;
    assert.deepEqual(events, ['connect', 'ready', 'end', 'close false']);
  } finally {
    await srv.close();
  }
});

test(
  "node-shaped: connect() with a falsy path (null, '', 0: an http.Agent passes null) connects over TCP, as node:net",
  { timeout: 10_000 },
  async () => {
    const srv = await nodeEchoServer();
    try {
      for (const path of [null, '', 0, false]) {
        const run = async (m: { connect: typeof connect }) => {
          const c = m.connect({ port: srv.port, host: '127.0.0.1', path } as never);
          const r = new Reader(c);
          c.end(`via ${String(path)}`);
          return (await r.rest()).toString();
        };
        const theirs = await run(nodeNet as never);
        assert.equal(theirs, `via ${String(path)}`);
        assert.equal(await run({ connect }), theirs, `path ${String(path)}`);
      }
      // A truthy path that is not a string is an error, as in node:net.
      assert.throws(() => nodeNet.connect({ port: srv.port, path: 5 } as never), { code: 'ERR_INVALID_ARG_TYPE' });
      assert.throws(() => connect({ port: srv.port, path: 5 } as never), { code: 'ERR_INVALID_ARG_TYPE' });
      // Neither a port nor a path: ERR_MISSING_ARGS, as node:net.
      assert.throws(() => nodeNet.connect({} as never), { code: 'ERR_MISSING_ARGS' });
      assert.throws(() => connect({} as never), { code: 'ERR_MISSING_ARGS' });
      // The native dial() takes path: null as no path too.
      const d = await dial({ host: '127.0.0.1', port: srv.port, path: null } as never);
      await d.write('native');
      assert.equal((await readExactly(d, 6)).toString(), 'native');
      await d.close();
    } finally {
      await srv.close();
    }
  },
);

// ------------------------------------------------------------ big transfers, byte-exact

for (const size of [MiB, 64 * MiB]) {
  const label = `${size / MiB} MiB`;

  test(`native: ${label} uring client -> node:net server, byte-exact`, { timeout: 20_000 }, async () => {
    const data = pattern(size, 11);
    const sink = await hashingServer();
    const server = sink.server;
    const got = sink.got;
    try {
      const c = await dial({ host: '127.0.0.1', port: portOf(server) });
      // Many writes queued at once, of irregular sizes: batched and continued after short sends.
      await Promise.all(pieces(data).map((p) => c.write(p)));
      assert.equal(c.bytesWritten, size);
      await c.end();
      assert.deepEqual(await got, { length: size, sha256: sha256(data) });
      await c.close();
    } finally {
      await closeServer(server);
    }
  });

  test(`native: ${label} node:net server -> uring client, byte-exact`, { timeout: 20_000 }, async () => {
    const data = pattern(size, 12);
    const server = await listening(
      nodeNet.createServer((sock) => {
        for (const p of pieces(data)) sock.write(p);
        sock.end();
      }),
      0,
      '127.0.0.1',
    );
    try {
      const c = await dial({ host: '127.0.0.1', port: portOf(server) });
      assert.deepEqual(await hashUring(c), { length: size, sha256: sha256(data) });
      assert.equal(c.bytesRead, size);
      await c.close();
    } finally {
      await closeServer(server);
    }
  });

  test(
    `native: ${label} through a uring echo server, sent and received at once by node:net`,
    { timeout: 20_000 },
    async () => {
      const data = pattern(size, 13);
      const srv = await uringEchoServer();
      try {
        const c = nodeNet.connect(srv.port, '127.0.0.1');
        const got = hashStream(c);
        for (const p of pieces(data)) c.write(p);
        c.end();
        assert.deepEqual(await got, { length: size, sha256: sha256(data) });
      } finally {
        await srv.close();
      }
    },
  );

  test(`node-shaped: ${label} uring connect() -> node:net server, byte-exact`, { timeout: 20_000 }, async () => {
    const data = pattern(size, 14);
    const sink = await hashingServer();
    const server = sink.server;
    const got = sink.got;
    try {
      const c = connect(portOf(server), '127.0.0.1');
      await once(c, 'connect');
      for (const p of pieces(data)) c.write(p);
      c.end();
      await once(c, 'finish');
      assert.deepEqual(await got, { length: size, sha256: sha256(data) });
      assert.equal(c.bytesWritten, size);
      c.destroy();
    } finally {
      await closeServer(server);
    }
  });

  test(
    `node-shaped: ${label} node:net client -> uring createServer() -> node:net, echoed byte-exact`,
    { timeout: 20_000 },
    async () => {
      const data = pattern(size, 15);
      const srv = await uringNodeEchoServer();
      try {
        const c = nodeNet.connect(srv.port, '127.0.0.1');
        const got = hashStream(c);
        for (const p of pieces(data)) c.write(p);
        c.end();
        assert.deepEqual(await got, { length: size, sha256: sha256(data) });
      } finally {
        await srv.close();
      }
    },
  );

  test(`node-shaped: ${label} node:net server -> uring connect(), byte-exact`, { timeout: 20_000 }, async () => {
    const data = pattern(size, 16);
    const server = await listening(
      nodeNet.createServer((sock) => {
        for (const p of pieces(data)) sock.write(p);
        sock.end();
      }),
      0,
      '127.0.0.1',
    );
    try {
      const c = connect(portOf(server), '127.0.0.1');
      assert.deepEqual(await hashStream(c), { length: size, sha256: sha256(data) });
      assert.equal(c.bytesRead, size);
    } finally {
      await closeServer(server);
    }
  });
}

// ------------------------------------------------------------ 1,000 concurrent connections

const N = 1000;

test(
  `native: ${N} concurrent node:net clients, 3 echoes each, through one uring server`,
  { timeout: 30_000 },
  async () => {
    const srv = await uringEchoServer({ host: '127.0.0.1', port: 0, backlog: 2048 });
    try {
      await Promise.all(
        Array.from({ length: N }, async (_, i) => {
          const c = nodeNet.connect(srv.port, '127.0.0.1');
          await once(c, 'connect');
          await pingPongNode(c, i);
        }),
      );
      assert.equal(srv.server.stats.accepted, N);
    } finally {
      await srv.close();
    }
  },
);

test(
  `native: ${N} concurrent uring clients, 3 echoes each, through one node:net server`,
  { timeout: 30_000 },
  async () => {
    const srv = await nodeEchoServer([{ port: 0, host: '127.0.0.1', backlog: 2048 }]);
    try {
      await Promise.all(
        Array.from({ length: N }, async (_, i) => {
          const c = await dial({ host: '127.0.0.1', port: srv.port });
          await pingPongUring(c, i);
        }),
      );
    } finally {
      await srv.close();
    }
  },
);

test(
  `node-shaped: ${N} concurrent uring connect() clients, 3 echoes each, through a uring createServer()`,
  { timeout: 30_000 },
  async () => {
    const srv = await uringNodeEchoServer([{ port: 0, host: '127.0.0.1', backlog: 2048 }]);
    try {
      await Promise.all(
        Array.from({ length: N }, async (_, i) => {
          const c = connect(srv.port, '127.0.0.1');
          await once(c, 'connect');
          await pingPongNode(c, i);
        }),
      );
    } finally {
      await srv.close();
    }
  },
);

// ------------------------------------------------------------ half-close

test(
  'native: the client end()s, the node:net server sends afterwards, the client still receives',
  { timeout: 10_000 },
  async () => {
    let serverGot = '';
    const server = await listening(
      nodeNet.createServer({ allowHalfOpen: true }, (sock) => {
        sock.setEncoding('utf8');
        sock.on('data', (d: string) => (serverGot += d));
        sock.on('end', async () => {
          // Only after the client's FIN: several writes, spaced out (timed on
          // purpose: separate arrivals at the half-closed client), then FIN.
          for (let i = 0; i < 3; i++) {
            sock.write(`after-fin-${i};`);
            await sleep(10);
          }
          sock.end('bye');
        });
      }),
      0,
      '127.0.0.1',
    );
    try {
      const c = await dial({ host: '127.0.0.1', port: portOf(server) });
      await c.write('request');
      await c.end();
      assert.equal((await drainUring(c)).toString(), 'after-fin-0;after-fin-1;after-fin-2;bye');
      assert.equal(serverGot, 'request');
      await c.close();
    } finally {
      await closeServer(server);
    }
  },
);

test(
  'native: a node:net client end()s, the uring server reads to FIN then keeps sending, the client receives it all',
  { timeout: 10_000 },
  async () => {
    const server = await listen({ host: '127.0.0.1', port: 0 });
    const served = (async () => {
      for await (const s of server) {
        const req = (await drainUring(s)).toString();
        for (let i = 0; i < 3; i++) {
          await s.write(`got ${req} ${i};`);
          await sleep(10); // spaced out on purpose: separate arrivals after the client's FIN
        }
        await s.end();
        await s.close();
        return;
      }
    })();
    try {
      const c = nodeNet.connect({
        port: (server.address() as { port: number }).port,
        host: '127.0.0.1',
        allowHalfOpen: true,
      });
      const r = new Reader(c);
      c.end('ping');
      assert.equal((await r.rest()).toString(), 'got ping 0;got ping 1;got ping 2;');
      await served;
    } finally {
      await server.close();
    }
  },
);

/**
 * What a server (node:net's or ours) does when its client half-closes: the
 * client writes 'hi' and ends; the server, 20 ms after its 'end', writes
 * 'late' and ends.
 */
async function halfOpenScenario(make: typeof nodeNet.createServer | typeof createServer, allowHalfOpen: boolean) {
  const seen = {
    serverData: '',
    writableAfterEnd: undefined as boolean | undefined,
    lateWrite: '',
    serverErrors: [] as string[],
    clientGot: '',
    clientEnded: false,
  };
  let served!: Promise<void>;
  const server = (make as typeof nodeNet.createServer)({ allowHalfOpen }, (sock) => {
    served = new Promise((resolve) => {
      sock.setEncoding('utf8');
      sock.on('data', (d: string) => (seen.serverData += d));
      sock.on('error', (e: Error & { code?: string }) => seen.serverErrors.push(e.code ?? e.message));
      sock.on('end', () => {
        setTimeout(() => {
          seen.writableAfterEnd = sock.writable;
          sock.write('late', (err) => {
            seen.lateWrite = err ? `${(err as Error & { code?: string }).code}: ${err.message}` : 'ok';
          });
          sock.end();
          sock.on('close', () => resolve());
          if (sock.destroyed) resolve();
        }, 20);
      });
    });
  });
  await listening(server, 0, '127.0.0.1');
  try {
    const c = nodeNet.connect({ port: portOf(server), host: '127.0.0.1', allowHalfOpen: true });
    const r = new Reader(c);
    c.end('hi');
    seen.clientGot = (await r.rest()).toString();
    seen.clientEnded = r.ended;
    await served;
    c.destroy();
  } finally {
    await closeServer(server);
  }
  return seen;
}

for (const allowHalfOpen of [true, false]) {
  test(
    `node-shaped: Server({ allowHalfOpen: ${allowHalfOpen} }) behaves as node:net's when the client half-closes`,
    { timeout: 10_000 },
    async () => {
      const { lateWrite: theirLate, ...theirs } = await halfOpenScenario(nodeNet.createServer, allowHalfOpen);
      const { lateWrite: ourLate, ...ours } = await halfOpenScenario(createServer, allowHalfOpen);
      // The reference itself, so the comparison means something.
      assert.equal(theirs.serverData, 'hi');
      assert.equal(theirs.clientGot, allowHalfOpen ? 'late' : '');
      assert.equal(theirs.writableAfterEnd, allowHalfOpen);
      assert.deepEqual(ours, theirs);
      if (allowHalfOpen) assert.equal(ourLate, theirLate);
    },
  );
}

test(
  "node-shaped: Server({ allowHalfOpen: false }): a write after the peer's FIN fails as node:net's (EPIPE, 'This socket has been ended by the other party')",
  { timeout: 10_000 },
  async () => {
    const theirs = await halfOpenScenario(nodeNet.createServer, false);
    const ours = await halfOpenScenario(createServer, false);
    assert.equal(theirs.lateWrite, 'EPIPE: This socket has been ended by the other party');
    assert.equal(ours.lateWrite, theirs.lateWrite);
  },
);

test(
  "node-shaped: a write just after the peer's FIN on a socket that is not half-open (in 'end', a tick later, an immediate later) goes as node:net's",
  { timeout: 10_000 },
  async () => {
    const run = async (
      make: typeof nodeNet.createServer | typeof createServer,
      when: 'sync' | 'nextTick' | 'setImmediate',
    ) => {
      const log: string[] = [];
      let done!: () => void;
      const closed = new Promise<void>((r) => (done = r));
      const server = (make as typeof nodeNet.createServer)((sock) => {
        sock.resume();
        sock.on('error', (e: Error & { code?: string }) => log.push(`error ${e.code}: ${e.message}`));
        sock.on('end', () => {
          const write = () => {
            const ok = sock.write('late', (err) =>
              log.push(`callback ${(err as (Error & { code?: string }) | null | undefined)?.code}`),
            );
            log.push(`write returned ${ok}, destroyed ${sock.destroyed}`);
          };
          if (when === 'sync') write();
          else if (when === 'nextTick') process.nextTick(write);
          else setImmediate(write);
        });
        sock.on('close', (hadError: boolean) => {
          log.push(`close ${hadError}`);
          done();
        });
      });
      await listening(server, 0, '127.0.0.1');
      try {
        const c = nodeNet.connect({ port: portOf(server), host: '127.0.0.1' });
        c.on('error', () => {});
        c.end('bye');
        await closed;
        await quietFor(20); // no event after 'close'
        c.destroy();
      } finally {
        await closeServer(server);
      }
      return log;
    };
    const all: Record<string, string[]> = {};
    for (const when of ['sync', 'nextTick', 'setImmediate'] as const) {
      // When 'close' comes relative to a write an immediate later is timing
      // (node:net's handle closes a loop turn later than a ring's close):
      // compared as a set, the rest in order.
      const inOrder = (log: string[]) => [
        log.filter((l) => !l.startsWith('close')),
        log.filter((l) => l.startsWith('close')),
      ];
      const theirs = await run(nodeNet.createServer, when);
      all[when] = theirs;
      const ours = inOrder(await run(createServer, when));
      // An immediate later, the socket's own end may or may not have closed it
      // yet (node:net's shutdown completes a loop turn later; ours is a ring op,
      // later still on a loaded machine). Not yet closed, node:net's write-
      // after-FIN destroys the socket with the EPIPE, so 'error' and close(true)
      // follow: the same code path as node's, on the other side of the race.
      const stillOpen = [
        [
          'write returned false, destroyed true',
          'callback EPIPE',
          'error EPIPE: This socket has been ended by the other party',
        ],
        ['close true'],
      ];
      if (when === 'setImmediate' && ours[0]!.includes('error EPIPE: This socket has been ended by the other party'))
        assert.deepEqual(ours, stillOpen, when);
      else assert.deepEqual(ours, inOrder(theirs), when);
    }
    // The reference takes both paths: the write goes out while the socket's own end is pending, and fails EPIPE after.
    assert.ok(
      Object.values(all).some((l) => l.includes('callback undefined')),
      JSON.stringify(all),
    );
    assert.ok(
      Object.values(all).some((l) => l.includes('callback EPIPE')),
      JSON.stringify(all),
    );
  },
);

test(
  'node-shaped: a uring connect({ allowHalfOpen: true }) client keeps receiving after its own end()',
  { timeout: 10_000 },
  async () => {
    const server = await listening(
      nodeNet.createServer({ allowHalfOpen: true }, (sock) => {
        sock.on('end', async () => {
          sock.write('one;');
          await sleep(10); // spaced out on purpose: two arrivals after the client's end()
          sock.end('two');
        });
        sock.resume();
      }),
      0,
      '127.0.0.1',
    );
    try {
      const c = connect({ port: portOf(server), host: '127.0.0.1', allowHalfOpen: true });
      const closed = once(c, 'close');
      const r = new Reader(c);
      c.end('request');
      assert.equal((await r.rest()).toString(), 'one;two');
      await closed;
    } finally {
      await closeServer(server);
    }
  },
);

// ------------------------------------------------------------ write ordering

test('native: 10,000 small write()s and writev()s queued at once arrive in order', { timeout: 10_000 }, async () => {
  const sink = await collectingServer();
  const server = sink.server;
  const got = sink.got;
  try {
    const c = await dial({ host: '127.0.0.1', port: portOf(server) });
    const expected: Buffer[] = [];
    const writes: Promise<void>[] = [];
    let k = 0;
    const chunk = () => {
      const n = 1 + ((k * 37) % 61);
      const b = Buffer.alloc(n, `${k % 10}`);
      if (n >= 4) b.writeUInt32BE(k, 0); // the index too, where it fits
      k++;
      expected.push(b);
      return b;
    };
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 1500; i++) writes.push(c.write(chunk()));
      // more than one sendmsg batch (512) in one writev
      writes.push(c.writev(Array.from({ length: 600 }, chunk)));
      writes.push(c.write('')); // an empty write keeps its place
    }
    const settled = await Promise.allSettled(writes);
    assert.deepEqual(
      settled.filter((s) => s.status === 'rejected'),
      [],
    );
    await c.end();
    const want = Buffer.concat(expected);
    const have = await got;
    assert.equal(have.length, want.length);
    assert.ok(have.equals(want), 'the bytes arrived out of order');
    assert.equal(c.bytesWritten, want.length);
    await c.close();
  } finally {
    await closeServer(server);
  }
});

test('native: the writes resolve in the order they were queued', { timeout: 10_000 }, async () => {
  const srv = await nodeEchoServer();
  try {
    const c = await dial({ host: '127.0.0.1', port: srv.port });
    const order: number[] = [];
    const big = pattern(4 * MiB, 3);
    await Promise.all([
      c.write(big).then(() => order.push(0)),
      c.write('a').then(() => order.push(1)),
      c.writev(['b', 'c']).then(() => order.push(2)),
      c.write(big.subarray(0, 100_000)).then(() => order.push(3)),
      hashUring(c).then((h) => {
        assert.equal(h.length, big.length + 3 + 100_000);
      }),
      (async () => {
        await sleep(1); // timed on purpose: end() comes while the writes are under way, not in their turn
        await c.end();
      })(),
    ]);
    assert.deepEqual(order, [0, 1, 2, 3]);
    await c.close();
  } finally {
    await srv.close();
  }
});

test('node-shaped: corked and uncorked writes (through _writev) arrive in order', { timeout: 10_000 }, async () => {
  const sink = await collectingServer();
  const server = sink.server;
  const got = sink.got;
  try {
    const c = connect(portOf(server), '127.0.0.1');
    const expected: Buffer[] = [];
    let k = 0;
    const write = () => {
      const b = Buffer.from(`<${k++}:${'x'.repeat(k % 13)}>`);
      expected.push(b);
      c.write(b);
    };
    // Queued before the connection is up, then corked, then plain ones while
    // earlier ones are in flight (the stream hands those to _writev).
    for (let i = 0; i < 1000; i++) write();
    await once(c, 'connect');
    c.cork();
    for (let i = 0; i < 3000; i++) write();
    c.uncork();
    for (let i = 0; i < 3000; i++) write();
    c.end();
    const have = await got;
    const want = Buffer.concat(expected);
    assert.equal(have.length, want.length);
    assert.ok(have.equals(want), 'the bytes arrived out of order');
    assert.equal(c.bytesWritten, want.length);
  } finally {
    await closeServer(server);
  }
});

// ------------------------------------------------------------ IPv6 and Unix sockets

function hasIPv6Loopback(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = nodeNet.createServer();
    s.once('error', () => resolve(false));
    s.listen(0, '::1', () => s.close(() => resolve(true)));
  });
}
const noIPv6 = (await hasIPv6Loopback()) ? false : 'no IPv6 loopback (::1) here';

interface Where {
  name: string;
  /** Arguments for listen() of node:net / the node-shaped Server. */
  listenArgs: () => unknown[];
  /** The native listen()/dial() options. */
  native: () => { host?: string; port?: number; path?: string };
  skip: string | false;
  /** Why node:net cannot be the peer here. */
  nodePeerSkip?: string | false;
}
let unixN = 0;
// libuv before 1.48 (node 20) binds and connects abstract names padded with
// NULs to all 108 bytes of sun_path; the kernel sees a different name than
// the exact-length one uring (and libuv 1.48+) uses, so node:net cannot be the peer.
const [uvMajor = 0, uvMinor = 0] = process.versions.uv.split('.').map(Number);
const nodeAbstractPadded =
  uvMajor === 1 && uvMinor < 48
    ? `node:net here (libuv ${process.versions.uv} < 1.48) pads abstract names to 108 bytes: not the same socket name`
    : false;
const places: Where[] = [
  { name: 'IPv6 ::1', listenArgs: () => [0, '::1'], native: () => ({ host: '::1', port: 0 }), skip: noIPv6 },
  {
    name: 'a Unix socket path',
    listenArgs: () => [dir.file(`s${unixN++}.sock`)],
    native: () => ({ path: dir.file(`s${unixN++}.sock`) }),
    skip: false,
  },
  {
    name: "an abstract Unix socket ('\\0name')",
    listenArgs: () => [`\0uring-test-${process.pid}-${unixN++}`],
    native: () => ({ path: `\0uring-test-${process.pid}-${unixN++}` }),
    skip: false,
    nodePeerSkip: nodeAbstractPadded,
  },
];

/** node:net connect arguments for a server: its port on ::1, or its path. */
function target(addr: string | nodeNet.AddressInfo | null): { port: number; host: string } | { path: string } {
  assert.ok(addr !== null);
  return typeof addr === 'string' ? { path: addr } : { port: addr.port, host: addr.address };
}

for (const where of places) {
  test(
    `native: echo on ${where.name}, node:net client -> uring server`,
    { skip: where.skip || where.nodePeerSkip, timeout: 10_000 },
    async () => {
      const opts = where.native();
      const srv = await uringEchoServer(opts);
      try {
        const addr = srv.server.address();
        if (opts.path !== undefined) assert.equal(addr, opts.path);
        else assert.deepEqual(addr, { address: '::1', family: 'IPv6', port: (addr as { port: number }).port });
        const c = nodeNet.connect(target(addr as string | nodeNet.AddressInfo));
        const r = new Reader(c);
        const data = pattern(300_000, 21);
        c.end(data);
        assert.ok((await r.rest()).equals(data));
      } finally {
        await srv.close();
      }
    },
  );

  test(
    `native: echo on ${where.name}, uring client -> node:net server`,
    { skip: where.skip || where.nodePeerSkip, timeout: 10_000 },
    async () => {
      const srv = await nodeEchoServer(where.listenArgs());
      try {
        const addr = srv.server.address() as string | nodeNet.AddressInfo;
        const c = await dial(typeof addr === 'string' ? { path: addr } : { host: '::1', port: addr.port });
        const data = pattern(300_000, 22);
        const got = drainUring(c);
        await c.write(data);
        await c.end();
        assert.ok((await got).equals(data));
        if (typeof addr === 'string') assert.equal(c.remoteAddress?.family, 'Unix');
        else {
          assert.equal(c.remoteAddress?.family, 'IPv6');
          assert.equal(c.remoteAddress?.address, '::1');
          assert.equal(c.remoteAddress?.port, addr.port);
        }
        await c.close();
      } finally {
        await srv.close();
      }
    },
  );

  test(
    `node-shaped: echo on ${where.name}, uring connect() -> uring createServer(), addresses as node:net's`,
    { skip: where.skip, timeout: 10_000 },
    async () => {
      const args = where.listenArgs();
      const srv = await uringNodeEchoServer(args);
      // The same listen on node:net, for the shape of address().
      const ref = await nodeEchoServer(typeof args[0] === 'string' ? [`${args[0]}-ref`] : args);
      try {
        const addr = srv.server.address();
        const refAddr = ref.server.address();
        if (typeof refAddr === 'string') assert.equal(addr, args[0]);
        else assert.deepEqual(Object.keys(addr as object).sort(), Object.keys(refAddr as object).sort());
        const c = connect(target(addr as string | nodeNet.AddressInfo));
        const n = nodeNet.connect(target(refAddr));
        await Promise.all([once(c, 'connect'), once(n, 'connect')]);
        // Two connections (ours and node's) to two servers: all but the ports agree.
        const withoutPort = (a: object) => {
          const { port, ...rest } = a as { port?: unknown };
          return { ...rest, hasPort: typeof port === 'number' };
        };
        assert.deepEqual(
          {
            address: withoutPort(c.address()),
            remoteAddress: c.remoteAddress,
            remoteFamily: c.remoteFamily,
            localFamily: c.localFamily,
            remotePort: typeof c.remotePort,
          },
          {
            address: withoutPort(n.address()),
            remoteAddress: n.remoteAddress,
            remoteFamily: n.remoteFamily,
            localFamily: (n as { localFamily?: string }).localFamily,
            remotePort: typeof n.remotePort,
          },
          'what a connected socket says about itself',
        );
        if (typeof refAddr !== 'string') {
          assert.equal(c.remotePort, (addr as nodeNet.AddressInfo).port);
          assert.equal((c.address() as nodeNet.AddressInfo).port, c.localPort);
        }
        const r = new Reader(c);
        const data = pattern(300_000, 23);
        c.end(data);
        assert.ok((await r.rest()).equals(data));
        n.destroy();
      } finally {
        await srv.close();
        await ref.close();
      }
    },
  );
}

test(
  "native: echo on an abstract Unix socket ('\\0name'), uring client -> uring server",
  { timeout: 10_000 },
  async () => {
    const path = `\0uring-native-${process.pid}`;
    const srv = await uringEchoServer({ path });
    try {
      assert.equal(srv.server.address(), path);
      const c = await dial({ path });
      assert.equal(c.remoteAddress?.family, 'Unix');
      const data = pattern(300_000, 24);
      const got = drainUring(c);
      await c.write(data);
      await c.end();
      assert.ok((await got).equals(data));
      await c.close();
    } finally {
      await srv.close();
    }
  },
);

test(
  'native: a Unix socket server removes its path when it closes; an abstract one leaves no file',
  { timeout: 10_000 },
  async () => {
    const { existsSync, readdirSync } = await import('node:fs');
    const path = dir.file('removed.sock');
    const server = await listen({ path });
    assert.ok(existsSync(path));
    await server.close();
    assert.equal(existsSync(path), false);
    const before = readdirSync(dir.path).length;
    const abstract = await listen({ path: `\0uring-abstract-${process.pid}` });
    assert.equal(readdirSync(dir.path).length, before);
    await abstract.close();
  },
);

// ------------------------------------------------------------ counters and addresses

test('native: bytesRead/bytesWritten match what node:net counted on the other side', { timeout: 10_000 }, async () => {
  let peer!: nodeNet.Socket;
  let peerClosed!: Promise<unknown>;
  const server = await listening(
    nodeNet.createServer((sock) => {
      peer = sock;
      peerClosed = once(sock, 'close');
      sock.on('data', () => {});
      sock.on('end', () => sock.end(pattern(777_777, 31)));
    }),
    0,
    '127.0.0.1',
  );
  try {
    const c = await dial({ host: '127.0.0.1', port: portOf(server) });
    assert.equal(c.bytesRead, 0);
    assert.equal(c.bytesWritten, 0);
    await c.writev([pattern(123_457, 32), 'abc', pattern(5, 1)]);
    await c.end();
    const got = await drainUring(c);
    assert.equal(got.length, 777_777);
    await peerClosed;
    assert.equal(c.bytesWritten, 123_457 + 3 + 5);
    assert.equal(c.bytesWritten, peer.bytesRead);
    assert.equal(c.bytesRead, 777_777);
    assert.equal(c.bytesRead, peer.bytesWritten);
    await c.close();
  } finally {
    await closeServer(server);
  }
});

test(
  'node-shaped: bytesRead/bytesWritten match node:net on the other side, on both ends',
  { timeout: 10_000 },
  async () => {
    // uring server, node:net client
    let accepted!: USocket;
    let acceptedClosed!: Promise<unknown>;
    const server: UServer = await listening(
      createServer((sock) => {
        accepted = sock;
        acceptedClosed = once(sock, 'close');
        sock.on('data', () => {});
        sock.on('end', () => sock.end(pattern(99_999, 41)));
      }),
      0,
      '127.0.0.1',
    );
    try {
      const c = nodeNet.connect(portOf(server), '127.0.0.1');
      const closed = once(c, 'close');
      const r = new Reader(c);
      c.write(pattern(250_001, 42));
      c.end('tail');
      assert.equal((await r.rest()).length, 99_999);
      await closed;
      await acceptedClosed;
      assert.equal(accepted.bytesRead, 250_005);
      assert.equal(accepted.bytesRead, c.bytesWritten);
      assert.equal(accepted.bytesWritten, 99_999);
      assert.equal(accepted.bytesWritten, c.bytesRead);
    } finally {
      await closeServer(server);
    }
  },
);

test('native: addresses agree with what node:net sees on the other side', { timeout: 10_000 }, async () => {
  // uring client -> node:net server
  let peer!: nodeNet.Socket;
  const server = await listening(
    nodeNet.createServer((sock) => {
      peer = sock;
    }),
    0,
    '127.0.0.1',
  );
  const accepted = once(server, 'connection');
  const c = await dial({ host: '127.0.0.1', port: portOf(server) });
  await accepted;
  try {
    assert.deepEqual(c.localAddress, { family: 'IPv4', address: peer.remoteAddress, port: peer.remotePort });
    assert.deepEqual(c.remoteAddress, { family: 'IPv4', address: peer.localAddress, port: peer.localPort });
    assert.equal(c.remoteAddress?.port, portOf(server));
  } finally {
    await c.close();
    peer.destroy();
    await closeServer(server);
  }

  // node:net client -> uring server
  const us = await listen({ host: '127.0.0.1', port: 0 });
  const it = us[Symbol.asyncIterator]();
  const n = nodeNet.connect((us.address() as { port: number }).port, '127.0.0.1');
  await once(n, 'connect');
  const s = (await it.next()).value as UringSocket;
  try {
    assert.deepEqual(us.address(), { address: '127.0.0.1', family: 'IPv4', port: n.remotePort });
    assert.deepEqual(s.remoteAddress, { family: 'IPv4', address: n.localAddress, port: n.localPort });
    assert.deepEqual(s.localAddress, { family: 'IPv4', address: n.remoteAddress, port: n.remotePort });
  } finally {
    n.destroy();
    await s.close();
    await us.close();
  }
});

test(
  'node-shaped: address(), remoteAddress/remotePort/localAddress/localPort agree with node:net on the other side',
  { timeout: 10_000 },
  async () => {
    // uring connect() -> node:net server
    let peer!: nodeNet.Socket;
    const server = await listening(
      nodeNet.createServer((sock) => {
        peer = sock;
      }),
      0,
      '127.0.0.1',
    );
    const accepted = once(server, 'connection');
    const c = connect(portOf(server), '127.0.0.1');
    assert.equal(c.remoteAddress, undefined, 'no remote address before connecting, as node:net');
    await once(c, 'connect');
    await accepted;
    try {
      assert.deepEqual(c.address(), { address: peer.remoteAddress, family: peer.remoteFamily, port: peer.remotePort });
      assert.equal(c.localAddress, peer.remoteAddress);
      assert.equal(c.localPort, peer.remotePort);
      assert.equal(c.remoteAddress, peer.localAddress);
      assert.equal(c.remotePort, peer.localPort);
      assert.equal(c.remoteFamily, 'IPv4');
    } finally {
      c.destroy();
      peer.destroy();
      await closeServer(server);
    }

    // node:net client -> uring createServer()
    let acc!: USocket;
    const us = await listening(
      createServer((sock) => {
        acc = sock;
      }),
      0,
      '127.0.0.1',
    );
    const got = once(us, 'connection');
    const n = nodeNet.connect(portOf(us), '127.0.0.1');
    await once(n, 'connect');
    await got;
    try {
      assert.deepEqual(us.address(), { address: '127.0.0.1', family: 'IPv4', port: n.remotePort });
      assert.equal(acc.remoteAddress, n.localAddress);
      assert.equal(acc.remotePort, n.localPort);
      assert.equal(acc.localAddress, n.remoteAddress);
      assert.equal(acc.localPort, n.remotePort);
      assert.deepEqual(
        acc.address(),
        n.address() && { address: n.remoteAddress, family: n.remoteFamily, port: n.remotePort },
      );
    } finally {
      n.destroy();
      acc.destroy();
      await closeServer(us);
    }
  },
);

test(
  'node-shaped: listen() without a host binds as node:net does (dual-stack ::, or 0.0.0.0)',
  { timeout: 10_000 },
  async () => {
    const theirs = await listening(nodeNet.createServer(), 0);
    const ours = await listening(
      createServer((s) => s.resume()),
      0,
    );
    try {
      const t = theirs.address() as nodeNet.AddressInfo;
      const o = ours.address() as nodeNet.AddressInfo;
      assert.deepEqual({ address: o.address, family: o.family }, { address: t.address, family: t.family });
      // dual stack: reachable over IPv4 too
      const c = nodeNet.connect(o.port, '127.0.0.1');
      await once(c, 'connect');
      c.destroy();
    } finally {
      await closeServer(theirs);
      await closeServer(ours);
    }
  },
);

// ------------------------------------------------------------ socket options

const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;
const TCP_KEEPIDLE = 4;
const SOL_SOCKET = 1;
const SO_KEEPALIVE = 9;

/** TCP_NODELAY, SO_KEEPALIVE and TCP_KEEPIDLE (s) of a socket, as the kernel has them. */
function sockopts(fd: number) {
  const n = native();
  return {
    noDelay: n.getsockopt(fd, IPPROTO_TCP, TCP_NODELAY),
    keepAlive: n.getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE),
    keepIdle: n.getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE),
  };
}

test(
  'native: dial({ noDelay, keepAlive, keepAliveInitialDelay }) and setNoDelay/setKeepAlive reach the kernel',
  { timeout: 10_000 },
  async () => {
    const srv = await nodeEchoServer();
    try {
      const plain = await dial({ host: '127.0.0.1', port: srv.port });
      const defaults = sockopts(plain.fd);
      assert.equal(defaults.noDelay, 0, 'TCP_NODELAY is off by default, as node:net');
      assert.equal(defaults.keepAlive, 0);
      const c = await dial({
        host: '127.0.0.1',
        port: srv.port,
        noDelay: true,
        keepAlive: true,
        keepAliveInitialDelay: 7000,
      });
      assert.deepEqual(sockopts(c.fd), { noDelay: 1, keepAlive: 1, keepIdle: 7 });
      assert.equal(c.setNoDelay(false), c);
      c.setKeepAlive(false);
      assert.deepEqual(sockopts(c.fd), { noDelay: 0, keepAlive: 0, keepIdle: 7 });
      plain.setNoDelay();
      plain.setKeepAlive(true, 3000);
      assert.deepEqual(sockopts(plain.fd), { noDelay: 1, keepAlive: 1, keepIdle: 3 });
      await c.close();
      await plain.close();
      // on a closed socket: no throw, nothing to set
      assert.equal(c.setNoDelay(true), c);
      assert.equal(c.setKeepAlive(true), c);
    } finally {
      await srv.close();
    }
  },
);

test(
  'node-shaped: noDelay/keepAlive (options, setters before connect, Server options) as node:net sets them',
  { timeout: 10_000 },
  async () => {
    const fdOf = (s: nodeNet.Socket | USocket) =>
      s instanceof nodeNet.Socket
        ? (s as unknown as { _handle: { fd: number } })._handle.fd
        : (s as USocket).handle!.fd;
    const run = async (
      mkServer: typeof nodeNet.createServer | typeof createServer,
      mkClient: typeof nodeNet.connect | typeof connect,
    ) => {
      let accepted!: nodeNet.Socket | USocket;
      const server = (mkServer as typeof nodeNet.createServer)(
        { noDelay: true, keepAlive: true, keepAliveInitialDelay: 9000 },
        (s) => {
          accepted = s;
          s.resume();
        },
      );
      await listening(server, 0, '127.0.0.1');
      const a = (mkClient as typeof nodeNet.connect)({
        port: portOf(server),
        host: '127.0.0.1',
        noDelay: true,
        keepAlive: true,
        keepAliveInitialDelay: 5000,
      });
      const b = (mkClient as typeof nodeNet.connect)({ port: portOf(server), host: '127.0.0.1' });
      b.setNoDelay(true);
      b.setKeepAlive(true, 4000);
      const c = (mkClient as typeof nodeNet.connect)({ port: portOf(server), host: '127.0.0.1' });
      await Promise.all([once(a, 'connect'), once(b, 'connect'), once(c, 'connect')]);
      await waitFor(() => accepted !== undefined, { timeout: 1000, what: 'a connection' });
      const out = {
        withOptions: sockopts(fdOf(a)),
        settersBeforeConnect: sockopts(fdOf(b)),
        defaults: sockopts(fdOf(c)),
        accepted: sockopts(fdOf(accepted)),
      };
      for (const s of [a, b, c]) s.destroy();
      await closeServer(server);
      return out;
    };
    const theirs = await run(nodeNet.createServer, nodeNet.connect);
    assert.deepEqual(theirs.withOptions, { noDelay: 1, keepAlive: 1, keepIdle: 5 });
    const ours = await run(createServer, connect);
    assert.deepEqual(ours, theirs);
  },
);

test(
  'native: breaking out of for-await pauses; read() then continues the same stream byte-exact',
  { timeout: 10_000 },
  async () => {
    const data = pattern(3 * MiB, 51);
    const server = await listening(
      nodeNet.createServer((s) => {
        s.on('error', () => {});
        s.end(data);
      }),
      0,
      '127.0.0.1',
    );
    try {
      const c = await dial({ host: '127.0.0.1', port: portOf(server) });
      const parts: Buffer[] = [];
      for await (const chunk of c) {
        parts.push(chunk);
        break;
      }
      await sleep(30); // the sender fills what the kernel buffers while we are paused
      const buf = Buffer.alloc(50_000);
      for (;;) {
        const n = await c.read(buf);
        if (n === 0) break;
        parts.push(Buffer.from(buf.subarray(0, n)));
      }
      const got = Buffer.concat(parts);
      assert.equal(got.length, data.length);
      assert.ok(got.equals(data));
      assert.equal(await c.read(buf), 0, 'read() after the end resolves 0 again');
      await c.close();
    } finally {
      await closeServer(server);
    }
  },
);
