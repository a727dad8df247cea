// The API fuzz itself, run in a child process by api.test.ts so that a crash
// shows as a signal instead of taking the test runner down. It calls every
// public function and method with wrong types, NaN, -1, huge numbers, 2**64
// bigints, Symbols, detached buffers, closed descriptors and handles, null,
// undefined and objects whose getters throw, from a seeded PRNG, and prints
// one JSON report line: the outcome of every call, by kind.
//
// Usage: node api-fuzz-child.js <seed> <calls> <budgetMs> <report.json>
// The report goes to a file: the fuzz writes junk to descriptors 1 and 2.
// FUZZ_TRACE=1 prints each call to stderr (and checks the runtime still
// completes a NOP after each); FUZZ_SKIP=a,b leaves targets out (names as
// the report shows them: 'uring.sleep', 'Ring#cqAdvance').
//
// Left out by design: what blocks the thread (Ring.waitCqe, submitAndWait,
// enter), hands the kernel raw addresses (Ring.register/registerRaw) or
// submits the SQEs the fuzz prepared (Ring.submit, flushSq); setRuntime
// (it would replace the runtime under the fuzz) and setUringDisabled (it
// would hand every later call to node's own modules, which test/optout
// covers: fuzzed, node 20's own FileHandle aborted the process when its
// readableWebStream was cancelled mid-read); node's own functions that
// uring/fs/promises and uring/net re-export.

import { fstatSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';

const [seedArg, callsArg, budgetArg, reportPath] = process.argv.slice(2);
const SEED = Number(seedArg ?? 1) >>> 0;
const CALLS = Number(callsArg ?? 3000);
const BUDGET_MS = Number(budgetArg ?? 15000);
/** A call's promise must settle within this, or once its resources are closed. */
const BOUND_MS = 2000;

// mulberry32: small, seedable, good enough to pick arguments.
let state = SEED || 1;
function rand(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;

/** What our throwing getters throw: the user's own error, which may propagate as is. */
class UserGetterError extends Error {}

const root = mkdtempSync(join(tmpdir(), 'uring-fuzz-'));
const cwd = join(root, 'cwd');
const file = join(root, 'file');
const dir = join(root, 'dir');
function fixtures(): void {
  mkdirSync(root, { recursive: true });
  mkdirSync(cwd, { recursive: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, 'hello fuzz\n');
  process.chdir(cwd);
}
fixtures();

const idx: any = await import('../../src/index.js');
const ring: any = await import('../../src/ring/index.js');
const fsMod = await import('../../src/fs/index.js');
const fsp = await import('../../src/fs/promises.js');
const net = await import('../../src/net/index.js');

// ----------------------------------------------------------------- resources
// Descriptors the fuzz may hand out: a file and /dev/null, opened once and
// never given to anything that closes a descriptor; 1 << 20 is never open.
const fileFd = openSync(file, 'r+');
const nullFd = openSync('/dev/null', 'r+');
const NEVER_FD = 1 << 20;

function detachedView(): Uint8Array {
  const ab = new ArrayBuffer(8);
  const v = new Uint8Array(ab);
  structuredClone(ab, { transfer: [ab] });
  return v;
}
function detachedDataView(): DataView {
  const ab = new ArrayBuffer(8);
  const v = new DataView(ab);
  structuredClone(ab, { transfer: [ab] });
  return v;
}
const throwingProxy = (): object =>
  new Proxy(
    {},
    {
      get() {
        throw new UserGetterError('getter');
      },
      has() {
        throw new UserGetterError('has');
      },
      ownKeys() {
        throw new UserGetterError('ownKeys');
      },
      getOwnPropertyDescriptor() {
        throw new UserGetterError('descriptor');
      },
      getPrototypeOf() {
        throw new UserGetterError('prototype');
      },
    },
  );
const throwingGetter = (key: string): object =>
  Object.defineProperty({}, key, {
    enumerable: true,
    get() {
      throw new UserGetterError(key);
    },
  });

let fuzzRing: any = new ring.Ring(8);
const closedRing: any = new ring.Ring(1);
closedRing.close();
let fh: any = await fsMod.open(file, 'r+');
const closedFh: any = await fsMod.open(file, 'r');
await closedFh.close();
const abortedSignal = AbortSignal.abort(new Error('aborted before'));

let server: any;
/** The inodes of the harness's listener and socket when made: see checkOwnFds(). */
let serverIno = -1;
let socketIno = -1;
function inode(fd: number): number {
  try {
    return fstatSync(fd).ino;
  } catch {
    return -1;
  }
}
let port: number;
async function startServer(): Promise<void> {
  server = await net.listen({ host: '127.0.0.1', port: 0 });
  port = server.address().port;
  serverIno = inode(server.fd);
  // Accepted sockets: drained and closed by the server side.
  const s0 = server;
  (async () => {
    for await (const s of s0 as AsyncIterable<any>) {
      (async () => {
        try {
          for await (const _ of s);
        } catch {
          // what the iterator ends with is not under test here
        }
        await s.close().catch(() => {});
      })();
    }
  })().catch(() => {});
}
await startServer();
let uringSocket: any;
let nodeServer: any;
let nodeSocket: any;
let udp: any;
async function reconnect(): Promise<void> {
  try {
    uringSocket = await net.dial({ host: '127.0.0.1', port });
  } catch {
    // The fuzz may have stopped the server in a way .listening does not show: a new one.
    server.close().catch(() => {});
    await startServer();
    uringSocket = await net.dial({ host: '127.0.0.1', port });
  }
  socketIno = inode(uringSocket.fd);
}
await reconnect();

function freshNodeSocket(): void {
  nodeSocket = net.connect({ host: '127.0.0.1', port });
  nodeSocket.on('error', () => {});
}
freshNodeSocket();
nodeServer = net.createServer();
nodeServer.on('error', () => {});
udp = await net.bindUdp({ host: '127.0.0.1', port: 0 });

const KEYS = [
  'signal',
  'timeout',
  'runtime',
  'position',
  'offset',
  'length',
  'encoding',
  'flag',
  'flags',
  'mode',
  'bigint',
  'recursive',
  'port',
  'host',
  'path',
  'fd',
  'allowHalfOpen',
  'highWaterMark',
  'start',
  'end',
  'datasync',
  'dir',
  'mask',
  'settle',
  'concurrency',
  'buffer',
  'entries',
  'cqEntries',
  'ring',
  'backlog',
  'type',
  'family',
  'bufferSize',
  'buffers',
  'ipv6Only',
  'reusePort',
  'noDelay',
  'keepAlive',
  'zeroCopy',
  'hard',
  'count',
  'autoClose',
  'emitClose',
  'maxRetries',
  'retryDelay',
  'recvBufferSize',
  'sqpoll',
  'attachWq',
  'how',
  'iov',
  'name',
  'control',
];

const PATHS = (): unknown[] => [
  'x',
  file,
  dir,
  join(root, 'nope', 'deeper'),
  join(root, 'new'),
  'a\0b',
  Buffer.from('x'),
  new URL(`file://${file}`),
  '',
];

/**
 * A value a call would plausibly get right: half the arguments come from
 * here, so that calls get past their first check to the deeper ones.
 */
function plausible(): unknown {
  return pick([
    fileFd,
    Buffer.alloc(8),
    [Buffer.alloc(4)],
    file,
    {},
    0,
    1,
    'r',
    0o644,
    1n,
    new Uint8Array(4),
    () => {},
  ]);
}

/** One value, of any kind the API might get. */
function value(depth = 0): unknown {
  if (depth === 0 && rand() < 0.5) return plausible();
  switch (Math.floor(rand() * 13)) {
    case 0:
      return pick([undefined, null, true, false]);
    case 1:
      return pick([
        0,
        1,
        -1,
        1.5,
        -1.5,
        NaN,
        Infinity,
        -Infinity,
        -0,
        2 ** 31,
        2 ** 32,
        2 ** 53,
        2 ** 53 + 2,
        2 ** 64,
        1e300,
        7,
        4096,
        0o644,
      ]);
    case 2:
      return pick([0n, 1n, -1n, -2n, 2n ** 31n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n, 2n ** 64n + 5n, -(2n ** 64n)]);
    case 3:
      return pick(['', 'x', 'r', 'w+', 'utf8', 'hex', 'nope', '0o777', '777', 'a\0b', '127.0.0.1']);
    case 4:
      // (No class: a callback that throws when called is the caller's error, surfacing as node's would.)
      return pick([Symbol('s'), Symbol.iterator, () => {}, async () => {}, function named() {}]);
    case 5:
      return pick([
        Buffer.alloc(8),
        new Uint8Array(16),
        new Uint32Array(4),
        new Int32Array(2),
        new Float64Array(2),
        new DataView(new ArrayBuffer(8)),
        new ArrayBuffer(8),
        detachedView(),
        detachedDataView(),
        Buffer.alloc(0),
        new Uint8Array(new (ArrayBuffer as any)(8, { maxByteLength: 16 })),
        new Uint8Array(new SharedArrayBuffer(8)),
      ]);
    case 6:
      return pick([
        [],
        [Buffer.alloc(4)],
        [Buffer.alloc(4), 'x'],
        [detachedView()],
        [new DataView(new ArrayBuffer(4))],
        [1, 2],
        [file],
        new Array(3),
        [-1],
      ]);
    case 7:
      return pick([fileFd, nullFd, NEVER_FD, -1, 2 ** 31 - 1, 0x7fffffff + 1]);
    case 8:
      return pick(PATHS());
    case 9:
      return pick([
        throwingProxy(),
        throwingGetter(pick(KEYS)),
        abortedSignal,
        new AbortController().signal,
        new Date(0),
        new Error('e'),
        new Map(),
        Object.create(null),
      ]);
    case 10:
      return pick([
        fh,
        closedFh,
        fuzzRing,
        closedRing,
        idx.getRuntime(),
        uringSocket,
        server,
        nodeSocket,
        udp,
        new EventEmitter(),
      ]);
    default: {
      if (depth > 1) return {};
      const o: Record<string, unknown> = {};
      const n = Math.floor(rand() * 4);
      for (let i = 0; i < n; i++) {
        const k = pick(KEYS);
        // Hosts and descriptors in options: loopback only, never one the fuzz relies on.
        o[k] =
          k === 'host'
            ? pick(['127.0.0.1', '::1', 'localhost', 5, null])
            : k === 'fd'
              ? pick([NEVER_FD, -1, 1.5, 'x'])
              : value(depth + 1);
      }
      return o;
    }
  }
}

// ------------------------------------------------------------------- targets
interface Target {
  name: string;
  call: (args: unknown[]) => unknown;
  arity: number;
  /** May legitimately wait for long (sleep 2**31 ms): not a hang when it does. */
  mayWait?: boolean;
  /** Rewrites the arguments (loopback hosts). */
  fix?: (args: unknown[]) => unknown[];
}
const targets: Target[] = [];

const isClass = (f: Function): boolean => /^class[\s{]/.test(Function.prototype.toString.call(f));

/** Loopback only: an object first argument gets host 127.0.0.1, a port number gets the host next to it. */
function loopback(hostIndex: number): (args: unknown[]) => unknown[] {
  return (args) => {
    const a = args.slice();
    const first = a[0];
    let proto: unknown;
    try {
      proto = first !== null && typeof first === 'object' ? Object.getPrototypeOf(first) : undefined;
    } catch {
      return a; // a proxy that throws: the call fails on the caller's getter, before any connection
    }
    if (proto === Object.prototype || proto === null) {
      a[0] = Object.create(first as object, { host: { value: '127.0.0.1', enumerable: true } });
    } else if (typeof first === 'number' || typeof first === 'string') {
      while (a.length <= hostIndex) a.push(undefined);
      a[hostIndex] = '127.0.0.1';
    }
    return a;
  };
}

// Functions that wait by design (sync ring waits block the thread), or that
// close a descriptor they are given, or replace this thread's runtime.
const SKIP = new Set(['setRuntime', 'setUringDisabled', ...(process.env.FUZZ_SKIP ?? '').split(',').filter(Boolean)]);
// poll waits for an event on a descriptor, which a quiet one (a socket, an
// eventfd the process lives on) may never have: waiting is its contract.
const WAITS = new Set(['sleep', 'timeout', 'poll']);
const NET_FIX: Record<string, (args: unknown[]) => unknown[]> = {
  connect: loopback(1),
  createConnection: loopback(1),
  dial: loopback(1),
  listen: loopback(1),
  bindUdp: loopback(1),
};
/** What takes ownership of (and so closes) a descriptor never gets one the fuzz relies on. */
// Any small number may be a descriptor the process lives on (stdio, libuv's epoll, the ring).
const ownsFd = (args: unknown[]): unknown[] =>
  args.map((a) => (typeof a === 'number' && a >= 0 && a < 65536 ? NEVER_FD : a));
/**
 * What takes a descriptor from an object's `fd` and owns it from then on
 * (Server#listen({ fd }), a stream's options.fd) never gets one of the
 * harness's own objects there: they all have a live `fd` (the listener's,
 * the socket's, the FileHandle's), which the call would close under the
 * object that still owns it, and whose number the harness would close again
 * later, once another socket had it (seed 5: Server#listen(server), then
 * nodeServer.close(), closed the harness's listener; the next dial failed).
 */
const noLiveFd =
  (from: number) =>
  (args: unknown[]): unknown[] =>
    args.map((a, i) => (i >= from && liveFd(a) ? { fd: NEVER_FD } : a));
function liveFd(a: unknown): boolean {
  if (a === null || typeof a !== 'object') return false;
  try {
    const fd = (a as { fd?: unknown }).fd;
    return typeof fd === 'number' && fd >= 0 && fd < 65536;
  } catch {
    return false; // a throwing proxy: the call fails on the caller's getter
  }
}
const FD_OPTIONS: Record<string, (args: unknown[]) => unknown[]> = {
  // Their first argument is a path (or a FileHandle, which they may own and close: the harness reopens it).
  'fs.createReadStream': noLiveFd(1),
  'fs.createWriteStream': noLiveFd(1),
  'fs.ReadStream': noLiveFd(1),
  'fs.WriteStream': noLiveFd(1),
};
const OWNS_FD = new Set([
  'uring.close',
  'fs.FileHandle',
  'fsp.FileHandle',
  'net.UringSocket',
  'net.UringServer',
  'net.UdpSocket',
  'net.Socket',
  'net.Server',
]);

// uring/fs/promises re-exports node's own functions where io_uring has no
// op (readdir, chmod, ...): those are node's, errors and all, not ours.
// Likewise uring/net's isIP (node:net's own).
const nodeFsp: any = await import('node:fs/promises');
const nodeNet: any = await import('node:net');
const NODE_OWN = new Set([...Object.values(nodeFsp), ...Object.values(nodeNet)]);

function addModule(prefix: string, mod: Record<string, unknown>): void {
  for (const [name, f] of Object.entries(mod)) {
    if (typeof f !== 'function' || SKIP.has(name) || SKIP.has(`${prefix}.${name}`) || NODE_OWN.has(f)) continue;
    const fn = f as (...a: unknown[]) => unknown;
    const fix =
      (prefix === 'net' ? NET_FIX[name] : undefined) ??
      FD_OPTIONS[`${prefix}.${name}`] ??
      (OWNS_FD.has(`${prefix}.${name}`) ? ownsFd : undefined);
    targets.push({
      name: `${prefix}.${name}`,
      arity: Math.max(fn.length, 2),
      call: isClass(fn) ? (a) => Reflect.construct(fn, a) : (a) => fn(...a),
      mayWait: WAITS.has(name),
      fix,
    });
  }
}
// uring/ring's exports are all in uring's too.
addModule('uring', idx);
addModule('fs', fsMod as any);
addModule('fsp', fsp as any);
addModule('net', net as any);

/** The methods of `proto` itself (not inherited from EventEmitter or streams). */
function addMethods(
  prefix: string,
  proto: object,
  self: () => any,
  opts: { skip?: string[]; waits?: string[]; fix?: Record<string, (args: unknown[]) => unknown[]> } = {},
): void {
  for (const key of Reflect.ownKeys(proto)) {
    if (
      typeof key !== 'string' ||
      key === 'constructor' ||
      key.startsWith('_') ||
      opts.skip?.includes(key) ||
      SKIP.has(`${prefix}#${key}`)
    )
      continue;
    const d = Object.getOwnPropertyDescriptor(proto, key)!;
    if (typeof d.value === 'function') {
      targets.push({
        name: `${prefix}#${key}`,
        arity: Math.max(d.value.length, 2),
        call: (a) => self()[key](...a),
        mayWait: opts.waits?.includes(key),
        fix: opts.fix?.[key],
      });
    } else if (d.set) {
      targets.push({ name: `${prefix}#${key}=`, arity: 1, call: (a) => (self()[key] = a[0]) });
    }
  }
}
let sqe: any = fuzzRing.getSqe();
// Ring: never submitted (its SQEs hold whatever the fuzz prepared), and
// nothing that blocks the thread by design (waitCqe, submitAndWait, enter)
// or hands the kernel raw addresses (register/registerRaw take numbers).
addMethods('Sqe', ring.Sqe.prototype, () => sqe);
addMethods('Ring', ring.Ring.prototype, () => fuzzRing, {
  skip: [
    'submit',
    'submitAndWait',
    'submitRaw',
    'enter',
    'waitCqe',
    'waitCqeTimeout',
    'register',
    'registerRaw',
    'flushSq',
  ],
});
addMethods('FileHandle', fsMod.FileHandle.prototype, () => fh);
addMethods('UringSocket', net.UringSocket.prototype, () => uringSocket, { waits: ['read'] });
addMethods('UringServer', net.UringServer.prototype, () => server);
addMethods('UdpSocket', net.UdpSocket.prototype, () => udp, {
  waits: ['recv'],
  fix: { send: (a) => [a[0], a[1], '127.0.0.1'] },
});
addMethods('Socket', net.Socket.prototype, () => nodeSocket, { fix: { connect: loopback(1) } });
addMethods('Server', net.Server.prototype, () => nodeServer, {
  fix: { listen: (a) => loopback(1)(noLiveFd(0)(a)) },
});

// ------------------------------------------------------------------- running
const counts: Record<string, number> = {
  ok: 0,
  coded: 0,
  userError: 0,
  uncoded: 0,
  syncThrowFromAsync: 0,
  hang: 0,
  waiting: 0,
  asyncError: 0,
  uncodedAsyncError: 0,
};
const uncoded = new Map<string, { count: number; example: string }>();
const syncThrows = new Map<string, number>();
const returnsPromise = new Set<string>();
const threwSync = new Map<string, string>();
const hangs: string[] = [];
/** The harness's own failures (a fixture it could not restore): reported, and the test fails on them. */
const harnessErrors: string[] = [];

function note(map: Map<string, { count: number; example: string }>, key: string, example: string): void {
  const e = map.get(key);
  if (e) e.count++;
  else map.set(key, { count: 1, example });
}

function show(args: unknown[]): string {
  return args
    .map((a) => {
      try {
        if (typeof a === 'bigint') return `${a}n`;
        if (typeof a === 'symbol' || typeof a === 'function') return String(a).slice(0, 30);
        if (a && typeof a === 'object')
          return Object.prototype.toString.call(a) === '[object Object]'
            ? `{${Object.keys(a).join(',')}}`
            : (a.constructor?.name ?? 'object');
        return JSON.stringify(a) ?? String(a);
      } catch {
        return '?';
      }
    })
    .join(', ');
}

/** An error's outcome: coded, the user's own getter error, or uncoded. */
function classify(t: Target, args: unknown[], err: unknown, where: string): void {
  if (err instanceof UserGetterError) {
    counts.userError!++;
    return;
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    counts.coded!++;
    return;
  }
  counts.uncoded!++;
  let msg: string;
  try {
    msg = `${(err as Error)?.name}: ${String((err as Error)?.message).split('\n')[0]}`;
  } catch {
    msg = String(err);
  }
  note(uncoded, `${t.name} ${where}: ${msg.slice(0, 140)}`, `${t.name}(${show(args)})`);
}

/** Streams, sockets and servers a call returned get an 'error' listener and are closed. */
/** Whether `v` is one of the fuzz's proxies that throw on every property read. */
function callersProxy(v: unknown): boolean {
  if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return false;
  try {
    void (v as { then?: unknown }).then;
    return false;
  } catch (err) {
    return err instanceof UserGetterError;
  }
}

async function cleanup(result: unknown): Promise<void> {
  if (!result || typeof result !== 'object') return;
  const r = result as any;
  // An op (readOp, writeOp, new ReadOp): its promise is the caller's to handle.
  // (Not awaited: an op made and never submitted never settles.)
  if (r.promise && typeof r.promise.then === 'function') {
    r.promise.then(
      () => {},
      (err: unknown) => {
        counts.asyncError!++;
        if (typeof (err as any)?.code !== 'string' && !(err instanceof UserGetterError)) {
          counts.uncodedAsyncError!++;
          note(uncoded, `op promise rejected: ${String((err as Error)?.message).slice(0, 140)}`, '');
        }
      },
    );
    return;
  }
  if (
    r === fh ||
    r === uringSocket ||
    r === server ||
    r === nodeSocket ||
    r === nodeServer ||
    r === udp ||
    r === fuzzRing ||
    r === idx.getRuntime()
  )
    return;
  try {
    if (r instanceof EventEmitter) {
      r.on('error', (err: unknown) => {
        counts.asyncError!++;
        if (typeof (err as any)?.code !== 'string' && !(err instanceof UserGetterError)) {
          counts.uncodedAsyncError!++;
          note(uncoded, `async 'error' event: ${String((err as Error)?.message).slice(0, 140)}`, '');
        }
      });
    }
    // readLines' readline interface: closing it leaves its input stream reading.
    if (r.input && typeof r.input.destroy === 'function') {
      r.input.on('error', () => {});
      r.input.destroy();
    }
    if (typeof r.destroy === 'function') r.destroy();
    else if (typeof r.close === 'function')
      await Promise.race([Promise.resolve(r.close()).catch(() => {}), delay(BOUND_MS)]);
    else if (typeof r.return === 'function')
      await Promise.race([Promise.resolve(r.return()).catch(() => {}), delay(BOUND_MS)]);
  } catch {
    // cleanup of a fuzzed resource: its errors are not under test
  }
}

function delay(ms: number): Promise<'timeout'> {
  return new Promise((r) => setTimeout(() => r('timeout'), ms).unref());
}

/** Makes sure the shared resources exist and are open again after a call closed them. */
async function refresh(): Promise<void> {
  // Every 100 calls too: a close() the fuzz started may still be waiting for ops.
  if (fh.fd < 0 || calls % 100 === 99) {
    fh.close().catch(() => {});
    current += ' [refresh: open]';
    // The fuzz may have removed or replaced the file (unlink, rename, rm).
    fh = await fsMod.open(file, 'r+').catch(() => {
      rmSync(file, { recursive: true, force: true });
      fixtures();
      return fsMod.open(file, 'r+');
    });
  }
  if (fuzzRing.closed) {
    fuzzRing = new ring.Ring(8);
    sqe = fuzzRing.getSqe();
  }
  // The server first: the dial below connects to it.
  if (!server.listening) {
    current += ' [refresh: listen]';
    await startServer();
    uringSocket.close().catch(() => {});
    nodeSocket.destroy();
  }
  if (uringSocket.closed || uringSocket.destroyed) {
    current += ' [refresh: dial]';
    await reconnect();
  }
  if (nodeSocket.destroyed) freshNodeSocket();
  if (udp.closed) {
    current += ' [refresh: bindUdp]';
    udp = await net.bindUdp({ host: '127.0.0.1', port: 0 });
  }
  if (nodeServer.listening) {
    // Its connections are not ours to wait for: a new server instead.
    nodeServer.close();
    nodeServer = net.createServer();
    nodeServer.on('error', () => {});
  }
}

/**
 * The harness's listener and socket, while they think themselves open, must
 * still be the descriptors they were made with: if a call closed one under
 * its object (it reached the number some other way), say so now, naming the
 * call (or one shortly before it: closes settle asynchronously), rather than
 * as a dial failing later, or the number closed again once reused.
 */
let reported: unknown;
function checkOwnFds(): void {
  // Once per object: after a takeover the number keeps changing hands.
  if (server !== reported && server.listening && inode(server.fd) !== serverIno) {
    harnessErrors.push(`${current}: the listener's fd ${server.fd} is no longer the listener`);
    reported = server;
  }
  if (
    uringSocket !== reported &&
    !uringSocket.closed &&
    !uringSocket.destroyed &&
    inode(uringSocket.fd) !== socketIno
  ) {
    harnessErrors.push(`${current}: the socket's fd ${uringSocket.fd} is no longer the socket`);
    reported = uringSocket;
  }
}

let uncaught = 0;
const uncaughtSeen: string[] = [];
process.on('uncaughtException', (err) => {
  uncaught++;
  if (uncaughtSeen.length < 10)
    uncaughtSeen.push(`(during ${current}): ${String((err as Error)?.stack ?? err).slice(0, 800)}`);
});
process.on('unhandledRejection', (err) => {
  uncaught++;
  if (uncaughtSeen.length < 10)
    uncaughtSeen.push(`unhandled rejection (during ${current}): ${String((err as Error)?.stack ?? err).slice(0, 800)}`);
});

// A watchdog: the loop must make progress; if it does not (a promise the
// harness itself awaits never settles), say where, rather than let the
// parent's timeout speak.
let current = '';
let lastProgress = Date.now();
const watchdog = setInterval(() => {
  if (Date.now() - lastProgress < 4 * BOUND_MS) return;
  const rt = idx.getRuntime();
  writeFileSync(
    reportPath ?? '/dev/stdout',
    `${JSON.stringify({ stuck: current, inflight: rt.inflight, backlog: rt.backlog, stats: rt.stats, uncaughtSeen, harnessErrors })}\n`,
  );
  if (process.env.FUZZ_TRACE) {
    clearInterval(watchdog);
    const t0 = Date.now();
    idx.nop().then(() => process.stderr.write(`nop ok in ${Date.now() - t0} ms\n`));
    idx.openat(file, 2).then(
      (fd: number) => process.stderr.write(`openat ok ${fd}\n`),
      (e: any) => process.stderr.write(`openat err ${e.code}\n`),
    );
    idx.openat('/tmp/zzzz-nonexist', 0).then(
      (fd: number) => process.stderr.write(`openat ok ${fd}\n`),
      (e: any) => process.stderr.write(`openat2 err ${e.code}\n`),
    );
    fsMod.open(file, 'r+').then(
      () => process.stderr.write(`open ok\n`),
      (e: any) => process.stderr.write(`open err ${e.code}\n`),
    );
    setTimeout(() => process.exit(3), 1000);
    return;
  }
  process.exit(3);
}, 1000);

const start = Date.now();
let calls = 0;
for (; calls < CALLS && Date.now() - start < BUDGET_MS; calls++) {
  if (calls % 250 === 0) fixtures();
  const t = pick(targets);
  const n = Math.floor(rand() * (t.arity + 2));
  let args = Array.from({ length: n }, () => value());
  if (t.fix) args = t.fix(args);
  current = `${calls} ${t.name}(${show(args)})`;
  lastProgress = Date.now();
  if (process.env.FUZZ_TRACE)
    process.stderr.write(
      `${calls} ${t.name}(${show(args)}) rt=${idx.getRuntime().inflight}/${idx.getRuntime().stats.completions}\n`,
    );
  let result: unknown;
  try {
    result = t.call(args);
  } catch (err) {
    if (!threwSync.has(t.name)) threwSync.set(t.name, show(args));
    syncThrows.set(t.name, (syncThrows.get(t.name) ?? 0) + 1);
    classify(t, args, err, 'threw');
    await refresh().catch((e) => harnessErrors.push(`${current}: ${String(e?.stack ?? e).slice(0, 300)}`));
    checkOwnFds();
    continue;
  }
  if (callersProxy(result)) {
    // A setter hands back the value it was given: the caller's own throwing proxy, nothing to inspect.
    counts.ok!++;
  } else if (result && typeof (result as Promise<unknown>).then === 'function') {
    returnsPromise.add(t.name);
    const settled = (result as Promise<unknown>).then(
      async (v) => {
        counts.ok!++;
        await cleanup(v);
      },
      (err) => classify(t, args, err, 'rejected'),
    );
    // What may wait by design (sleep 2 ** 31 ms, a read with no data) is given less time.
    let r: unknown = await Promise.race([settled, delay(t.mayWait ? 100 : BOUND_MS)]);
    if (r === 'timeout' && t.mayWait) {
      counts.waiting!++;
    } else if (r === 'timeout') {
      // Closing what the call uses must settle it.
      const attempt = (f: () => unknown): Promise<unknown> => {
        try {
          return Promise.resolve(f()).catch(() => {});
        } catch (err) {
          harnessErrors.push(`${current}: close: ${String(err)}`);
          return Promise.resolve();
        }
      };
      const closing = Promise.all([
        attempt(() => fh.close()),
        attempt(() => uringSocket.close()),
        attempt(() => udp.close()),
        attempt(() => nodeSocket.destroy()),
        // A call may iterate the server (writeFile's data): closing it ends that.
        attempt(() => server.close()),
      ]);
      r = await Promise.race([settled.then(() => closing), delay(BOUND_MS)]);
      if (r === 'timeout') {
        counts.hang!++;
        hangs.push(`${t.name}(${show(args)})`);
      }
    }
  } else {
    counts.ok!++;
    await cleanup(result);
  }
  await refresh().catch((err) => harnessErrors.push(`${current}: ${String(err?.stack ?? err).slice(0, 300)}`));
  checkOwnFds();
  if (process.env.FUZZ_TRACE && (await Promise.race([idx.nop(), delay(500)])) === 'timeout') {
    process.stderr.write(`runtime wedged after ${current}\n`);
    process.exit(4);
  }
}

// An async function never throws: it rejects.
for (const [name, n] of syncThrows) {
  if (returnsPromise.has(name)) {
    counts.syncThrowFromAsync! += n;
    note(uncoded, `${name} threw synchronously (it returns a promise)`, `${name}(${threwSync.get(name)})`);
  }
}

clearInterval(watchdog);
process.removeAllListeners('uncaughtException');
const report = {
  seed: SEED,
  calls,
  targets: targets.length,
  ms: Date.now() - start,
  counts,
  uncaught,
  uncaughtSeen,
  hangs: hangs.slice(0, 20),
  harnessErrors,
  problems: [...uncoded].map(([k, v]) => `${v.count}x ${k}  e.g. ${v.example}`),
};
writeFileSync(reportPath ?? '/dev/stdout', `${JSON.stringify(report)}\n`);
try {
  rmSync(root, { recursive: true, force: true });
} catch {
  // best effort: the directory is under the test's tmp
}
process.exit(0);
