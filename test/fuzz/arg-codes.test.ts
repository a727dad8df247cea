// Bad arguments get node's error codes (ERR_INVALID_ARG_TYPE,
// ERR_INVALID_ARG_VALUE, ERR_OUT_OF_RANGE), never a bare TypeError, and are
// never silently coerced; async functions reject rather than throw; and the
// drop-ins (uring/fs/promises, uring/net) answer with node's own code for
// the same call. Each case here threw without a code (or coerced, hung or
// crashed later) before; the fuzz (api.test.ts) finds the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nodeFsp from 'node:fs/promises';
import * as nodeNet from 'node:net';
import { openSync, closeSync } from 'node:fs';
import {
  InvalidArgTypeError,
  OutOfRangeError,
  Ring,
  Runtime,
  link,
  abortError,
  openat,
  mkdirat,
  read,
  readv,
  sendmsg,
  unlinkat,
  registerFiles,
  parseStatx,
  sockaddr,
} from '../../src/index.js';
import * as fsp from '../../src/fs/promises.js';
import { toStats } from '../../src/fs/index.js';
import * as net from '../../src/net/index.js';
import { tempDir } from '../helpers/tmp.js';

const TYPE = { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' };
const VALUE = { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' };
const RANGE = { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' };

/**
 * How a call settles, for calls whose outcome differs between node lines
 * (node 24.22 reads a length of 2 ** 40 as 0, and resolves): the error's
 * name and code, or 'resolved'.
 */
async function outcome(f: () => Promise<unknown>): Promise<[string, unknown]> {
  try {
    await f();
    return ['resolved', undefined];
  } catch (err) {
    const e = err as Error & { code?: unknown };
    return [e.name, e.code];
  }
}

/** The error a promise rejects with (failing if it resolves or throws synchronously). */
async function rejection(f: () => Promise<unknown>): Promise<{ name: string; code: unknown; message: string }> {
  let p: Promise<unknown>;
  try {
    p = f();
  } catch (err) {
    assert.fail(`threw synchronously instead of rejecting: ${String(err)}`);
  }
  try {
    await p;
  } catch (err) {
    const e = err as Error & { code?: unknown };
    return { name: e.name, code: e.code, message: e.message };
  }
  assert.fail('resolved');
}

test('ops: runtime option, buffers, flags and modes are checked with codes', async () => {
  const dir = tempDir();
  try {
    const fd = dir.open('f', 'w+');
    await assert.rejects(read(fd, Buffer.alloc(1), { runtime: {} as Runtime }), TYPE);
    await assert.rejects(readv(fd, new DataView(new ArrayBuffer(4)) as unknown as ArrayBufferView[]), TYPE);
    await assert.rejects(openat(dir.file('f'), 1n as unknown as number), TYPE);
    await assert.rejects(openat(dir.file('f'), Symbol('s') as unknown as number), TYPE);
    await assert.rejects(openat(dir.file('f'), 0, 1n as unknown as number), TYPE);
    await assert.rejects(mkdirat(dir.file('d'), Symbol('s') as unknown as number), TYPE);
    await assert.rejects(sendmsg(fd, 'x' as unknown as ArrayBufferView[]), TYPE);
    const throwing = Object.defineProperty({}, 'dir', {
      get() {
        throw new Error('getter');
      },
    });
    // Rejects (with the getter's own error), where it threw before.
    assert.equal((await rejection(() => unlinkat(dir.file('f'), throwing))).message, 'getter');
  } finally {
    dir.remove();
  }
});

test('runtime, ring and struct helpers: coded errors', () => {
  assert.throws(() => new Runtime(null as unknown as object), TYPE);
  assert.throws(() => link(null as unknown as []), TYPE);
  assert.throws(() => link(new Array(2)), TYPE, 'a hole is not an op');
  assert.throws(() => abortError(undefined as unknown as AbortSignal), TYPE);
  assert.throws(() => registerFiles({} as Ring, []), TYPE);
  assert.throws(() => parseStatx(new Uint8Array(10)), VALUE);
  assert.throws(() => sockaddr({ path: 'a\0b' }), VALUE);
  assert.throws(() => toStats({} as never), TYPE);
  assert.throws(() => fsp.setNodeFallback('yes' as unknown as boolean), TYPE);
  // The error classes themselves take anything without throwing.
  assert.equal(
    new InvalidArgTypeError(Symbol('n') as unknown as string, Object.create(null), 1).code,
    'ERR_INVALID_ARG_TYPE',
  );
  assert.equal(new OutOfRangeError(Object.create(null), Symbol('r') as unknown as string, 1n).code, 'ERR_OUT_OF_RANGE');
  const ring = new Ring(2);
  try {
    // Past the tail the head counted CQEs never written, and forEachCqe spun forever.
    assert.throws(() => ring.cqAdvance(5), RANGE);
    assert.throws(() => ring.forEachCqe('f' as unknown as () => void), TYPE);
    assert.throws(() => ring.peekBatchCqe(-1), RANGE);
    assert.throws(() => ring.sqeAt(99), RANGE);
    assert.equal(
      ring.forEachCqe(() => {}),
      0,
    );
  } finally {
    ring.close();
  }
});

test('uring/fs/promises: the codes node:fs/promises gives for the same call', async () => {
  const dir = tempDir();
  try {
    const file = dir.write('f', 'data');
    const calls: [string, (m: typeof nodeFsp) => Promise<unknown>][] = [
      ['open flags 2 ** 32', (m) => m.open(file, 2 ** 32)],
      ['open flags 1.5', (m) => m.open(file, 1.5)],
      ['open flags 1n', (m) => m.open(file, 1n as unknown as number)],
      ['open flags Symbol', (m) => m.open(file, Symbol('s') as unknown as number)],
      ['open mode 1n', (m) => m.open(file, 'r', 1n as unknown as number)],
      ['open mode Symbol', (m) => m.open(file, 'r', Symbol('s') as unknown as number)],
      ['readFile signal', (m) => m.readFile(file, { signal: 'x' as unknown as AbortSignal })],
      ['readFile options Symbol', (m) => m.readFile(file, Symbol('s') as unknown as undefined)],
      ['truncate len 2n ** 64n', (m) => m.truncate(file, (2n ** 64n) as unknown as number)],
      ['rename Symbol', (m) => m.rename(Symbol('s') as unknown as string, file)],
    ];
    for (const [what, call] of calls) {
      const theirs = await rejection(() => call(nodeFsp));
      const ours = await rejection(() => call(fsp as unknown as typeof nodeFsp));
      assert.deepEqual([ours.name, ours.code], [theirs.name, theirs.code], what);
    }
    const fh = await fsp.open(file, 'r+');
    const nfh = await nodeFsp.open(file, 'r+');
    try {
      const dv = new DataView(new ArrayBuffer(4));
      for (const [what, call] of [
        ['readv DataView', (h: nodeFsp.FileHandle) => h.readv(dv as never)],
        ['truncate 2n ** 64n + 5n', (h: nodeFsp.FileHandle) => h.truncate((2n ** 64n + 5n) as unknown as number)],
        ['truncate 1.5', (h: nodeFsp.FileHandle) => h.truncate(1.5)],
        ['read length 2 ** 40', (h: nodeFsp.FileHandle) => h.read(Buffer.alloc(4), 0, 2 ** 40, 0)],
      ] as const) {
        const theirs = await outcome(() => call(nfh));
        const ours = await outcome(() => call(fh as unknown as nodeFsp.FileHandle));
        assert.deepEqual(ours, theirs, what);
      }
    } finally {
      await fh.close();
      await nfh.close();
    }
  } finally {
    dir.remove();
  }
});

test('uring/net: callbacks and options checked as node:net checks them', async () => {
  const codeOf = (f: () => unknown): unknown => {
    try {
      f();
      return 'no error';
    } catch (err) {
      return (err as { code?: unknown }).code;
    }
  };
  const servers = [net.createServer(), nodeNet.createServer()];
  assert.equal(
    codeOf(() => servers[0]!.getConnections('x' as never)),
    codeOf(() => servers[1]!.getConnections('x' as never)),
  );
  assert.equal(
    codeOf(() => servers[0]!.getConnections('x' as never)),
    'ERR_INVALID_ARG_TYPE',
  );
  // A close callback that is not a function is ignored, as node:net ignores it (it was called, and threw).
  assert.equal(
    codeOf(() => servers[0]!.close('x' as never)),
    'no error',
  );
  const sockets = [new net.Socket(), new nodeNet.Socket()];
  try {
    assert.equal(
      codeOf(() => sockets[0]!.setTimeout(10, 'x' as never)),
      codeOf(() => sockets[1]!.setTimeout(10, 'x' as never)),
    );
    assert.equal(
      codeOf(() => sockets[0]!.setTimeout(-1)),
      codeOf(() => sockets[1]!.setTimeout(-1)),
    );
    assert.equal(
      codeOf(() => new net.Socket(null as never)),
      'no error',
      'null options, as node:net',
    );
    assert.equal(
      codeOf(() => new net.Socket({ signal: 'x' as never })),
      'ERR_INVALID_ARG_TYPE',
    );
    assert.equal(
      codeOf(() => sockets[0]!.setKeepAlive(true, 1n as never)),
      'ERR_INVALID_ARG_TYPE',
    );
  } finally {
    for (const s of sockets) s.destroy();
  }
  assert.throws(() => net.configureRecvPool(undefined as never, {}), TYPE);
  assert.throws(() => net.configureRecvPool(new Runtime(), { count: 3 }), VALUE);
  await assert.rejects(net.dial({ port: 1, host: '127.0.0.1', signal: 'x' as never }), TYPE);
  await assert.rejects(net.dial({ port: 1, host: '127.0.0.1', runtime: {} as never }), TYPE);
  await assert.rejects(net.listen({ path: 'a\0b' }), VALUE);
  await assert.rejects(net.bindUdp({ host: '127.0.0.1', runtime: 5 as never }), TYPE);
});

test('UringSocket.writev of a sparse array rejects instead of never settling', async () => {
  const server = await net.listen({ host: '127.0.0.1', port: 0 });
  const addr = server.address() as { port: number };
  const socket = await net.dial({ host: '127.0.0.1', port: addr.port });
  try {
    await assert.rejects(socket.writev(new Array(2)), TYPE);
    await assert.rejects(socket.write(Symbol('s') as never), TYPE);
  } finally {
    await socket.close();
    await server.close();
  }
});

test('a descriptor helper: closed fds stay EBADF (sanity for the fuzz)', async () => {
  const fd = openSync('/dev/null', 'r');
  closeSync(fd);
  await assert.rejects(read(fd, Buffer.alloc(1)), { code: 'EBADF' });
});

test('uring/net Server.listen: a signal that is not an AbortSignal throws at once (not unhandled later)', () => {
  const ours = net.createServer();
  const theirs = nodeNet.createServer();
  const codeOf = (s: { listen(o: object): unknown }): unknown => {
    try {
      s.listen({ host: '127.0.0.1', port: 0, signal: 'x' });
      return 'no error';
    } catch (err) {
      return (err as { code?: unknown }).code;
    }
  };
  try {
    assert.equal(codeOf(ours), codeOf(theirs));
    assert.equal(codeOf(ours), 'ERR_INVALID_ARG_TYPE');
  } finally {
    ours.close();
    theirs.close();
  }
});
