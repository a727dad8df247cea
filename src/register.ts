// uring/register: one flag, the whole app on io_uring, no code change.
//
//   node --import uring/register app.js
//   URING_REGISTER=http,fs node --import uring/register app.js   (some parts)
//
// Design: node's built-in modules are patched in place, once, before the
// app's code runs. Replacing module exports (http.createServer, net.Server)
// would miss whoever took a reference first and code that subclasses or
// constructs the classes itself; patching the shared prototypes and module
// objects reaches every user, ESM and CommonJS alike, and whatever was
// imported before the app:
//
// - net: net.Server.prototype.listen (and the methods that read the listening
//   socket: address, close, getConnections, ref, unref, listening,
//   maxConnections). Every node:http server is a net.Server and its listen()
//   is net.Server's, so Express's app.listen (http.createServer(app).listen),
//   Fastify, Koa, Nest ... all arrive here unchanged. At listen(), the server
//   gets a uring/net listener (listener.ts, as uring/http's Server does):
//   accepted sockets are uring/net sockets, set up with the server's
//   noDelay/keepAlive/allowHalfOpen/highWaterMark and emitted as
//   'connection' on the server, where http.Server's own listener takes them.
//   Part 'http' routes http.Server instances, part 'net' every other plain
//   net.Server. Not routed (node's own listen, unchanged): TLS servers
//   (https, tls, http2 secure: TLSSocket would have to wrap a JS stream,
//   slower than node's native TLS over its own handle), http2 cleartext
//   servers (nghttp2 wants node's stream handle), cluster workers (node's
//   listen asks the primary for a shared handle), servers made with
//   pauseOnConnect (their sockets are meant for child.send, which takes
//   node's only), and listen() on an existing handle or fd.
//   child.send('server', server) on a routed server reads `server._handle`,
//   which node's IPC write unwraps as a libuv handle: for that read alone
//   the getter gives one (node's TCP/Pipe wrap over a dup of the listening
//   socket), so the child gets the socket and the parent keeps accepting.
//   A uring socket cannot be sent: node:child_process takes net.Socket
//   instances only and throws its ERR_INVALID_HANDLE_TYPE.
//   listen(routedServer) is refused (ERR_INVALID_ARG_VALUE): there is no
//   libuv handle for the second server to take over.
// - client: http.Agent.prototype.createConnection and net.connect /
//   net.createConnection, so node's http clients (http.request, http.get)
//   connect through uring/net; and global fetch too (WebSocket on 22+):
//   node's bundled undici (6.x on 20 and 22, 7.x on 24) requires node:net
//   and calls its `connect` property at each connection, so it takes the
//   patched one, and it reads the socket as any Duplex (read(), unshift(),
//   ref/unref when idle). `new net.Socket().connect()` stays node's (the
//   class cannot be swapped under code that already has it), and so does
//   https, fetch's too (tls.connect makes node's own socket).
// - fs: node:fs/promises' module object, which is also fs.promises, gets
//   uring/fs/promises' ring-backed functions (open, readFile, writeFile, ...);
//   syncBuiltinESMExports() then makes `import { readFile } from
//   'node:fs/promises'` see them too, even in modules imported earlier
//   (ESM bindings to built-ins are live). fs's callback and sync APIs are
//   not routed: the sync ones must block the thread, which the ring cannot
//   do better than the system call itself, and the callback ones are node's
//   own functions called by node internals too.
//
// Where io_uring is opted out (URING_DISABLE=1) or unavailable, nothing is
// patched and one warning (URING_REGISTER_FALLBACK) says so: the app runs on
// node's own modules.
import { createRequire, syncBuiltinESMExports } from 'node:module';
import type * as NetNs from 'node:net';
import type * as HttpNs from 'node:http';
import type * as TlsNs from 'node:tls';
import { uringListener } from './http/listener.js';
import { connect as uringConnect, Socket as UringSocket, type Server as UringNetServer } from './net/node.js';
import * as uringFsp from './fs/promises.js';
import { getRuntime } from './runtime/runtime.js';
import { mayUseNode, useNode } from './runtime/fallback.js';
import { disabledBy } from './opt-out.js';
import { native } from './native.js';
import { InvalidArgValueError, systemError } from './errors.js';

// The CommonJS module objects: what `require('node:net')` gives, and what
// the ESM namespaces of the built-ins mirror.
const require = createRequire(import.meta.url);
const net = require('node:net') as typeof NetNs;
const http = require('node:http') as typeof HttpNs;
const tls = require('node:tls') as typeof TlsNs;
const fsPromises = require('node:fs/promises') as Record<string, unknown>;

const PARTS = ['http', 'net', 'client', 'fs'] as const;
type Part = (typeof PARTS)[number];

/** What register did, for tests and for anyone asking: globalThis[Symbol.for('uring.register')]. */
export interface RegisterStats {
  /** The parts routed through io_uring (empty when it fell back to node's). */
  parts: Part[];
  /** Why nothing is routed, when it is not. */
  fallback: string | undefined;
  /** Servers that listened through io_uring. */
  listens: number;
  /** Connections those servers accepted. */
  connections: number;
  /** Client connections made through io_uring. */
  clients: number;
  /** The ring's submissions so far (this thread's runtime). */
  readonly submits: number;
}

const kRegister = Symbol.for('uring.register');
const kRouted = Symbol('uring.register.listener');
const kMaxConnections = Symbol('uring.register.maxConnections');
const kLibuvHandle = Symbol('uring.register.libuvHandle');

type Routed = NetNs.Server & {
  [kRouted]?: UringNetServer;
  [kMaxConnections]?: number | undefined;
  /** The libuv handle over a dup of the listening socket, once a child process was sent the server. */
  [kLibuvHandle]?: NetNs.Socket | undefined;
  _unref?: boolean;
  _handle?: unknown;
};

function parseParts(): Part[] {
  const raw = process.env.URING_REGISTER;
  if (raw === undefined || raw.trim() === '' || raw.trim() === 'all') return [...PARTS];
  const asked = raw
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  const unknown = asked.filter((s) => !(PARTS as readonly string[]).includes(s) && s !== 'none');
  if (unknown.length > 0) {
    process.emitWarning(
      `URING_REGISTER: unknown part(s) ${unknown.join(', ')} ignored (known: ${PARTS.join(', ')}, all, none)`,
      { code: 'URING_REGISTER_UNKNOWN_PART' },
    );
  }
  return PARTS.filter((p) => asked.includes(p));
}

/** Why node's own modules must answer here, or undefined when io_uring is to be had. */
function fallbackReason(): string | undefined {
  const off = disabledBy();
  if (off !== undefined) return `io_uring disabled by ${off}`;
  try {
    getRuntime();
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ERR_URING_UNAVAILABLE') throw err;
    return `io_uring unavailable (${(err as Error).message})`;
  }
  return undefined;
}

function register(): void {
  const g = globalThis as Record<symbol, unknown>;
  if (g[kRegister] !== undefined) return; // imported twice (--import and import): patch once
  const stats: RegisterStats = {
    parts: [],
    fallback: undefined,
    listens: 0,
    connections: 0,
    clients: 0,
    get submits() {
      // No ring where none is to be made (the fallback).
      return stats.parts.length > 0 ? getRuntime().stats.submits : 0;
    },
  };
  Object.defineProperty(globalThis, kRegister, { value: stats, configurable: true });
  const parts = parseParts();
  if (parts.length === 0) return;
  const reason = fallbackReason();
  if (reason !== undefined) {
    stats.fallback = reason;
    process.emitWarning(`uring/register: ${reason}; ${parts.join(', ')} stay node's own`, {
      code: 'URING_REGISTER_FALLBACK',
    });
    return;
  }
  stats.parts = parts;
  patchSocketInstanceof();
  if (parts.includes('http') || parts.includes('net'))
    patchServers(parts.includes('http'), parts.includes('net'), stats);
  if (parts.includes('client')) patchClients(stats);
  if (parts.includes('fs')) patchFsPromises();
}

// ------------------------------------------------------------ servers

let http2ServerClass: Function | null | undefined;
/** node:http2's cleartext server class, loaded only when a non-http server listens. */
function isHttp2Server(server: object): boolean {
  if (http2ServerClass === undefined) {
    const h2 = require('node:http2') as typeof import('node:http2');
    http2ServerClass = Object.getPrototypeOf(h2.createServer()).constructor as Function;
  }
  return http2ServerClass !== null && server instanceof http2ServerClass;
}

// (node:cluster's setup has already taken NODE_UNIQUE_ID out of the environment.)
const inClusterWorker = (require('node:cluster') as typeof import('node:cluster').default).isWorker;

/** listen()'s arguments as one options object (without the callback), as node:net reads them. */
function listenOptions(args: unknown[]): Record<string, unknown> {
  const a0 = args[0];
  if (a0 !== null && typeof a0 === 'object') return { ...(a0 as Record<string, unknown>) };
  if (typeof a0 === 'string' && !/^\d+$/.test(a0)) return { path: a0 };
  const o: Record<string, unknown> = { port: a0 };
  if (typeof args[1] === 'string') o.host = args[1];
  const backlog = typeof args[1] === 'number' ? args[1] : args[2];
  if (typeof backlog === 'number') o.backlog = backlog;
  return o;
}

/**
 * In a cluster worker, node's listen() asks the primary for a shared libuv
 * handle, which a uring socket cannot be: instead each worker binds the port
 * itself with SO_REUSEPORT (the kernel spreads connections over the workers).
 * Only for a fixed TCP port: port 0 (node gives every worker the same random
 * port), a path (Unix sockets have no SO_REUSEPORT) and `exclusive` stay node's.
 */
function clusterRoutable(args: unknown[]): boolean {
  const o = listenOptions(args);
  if (o.path !== undefined || o.exclusive === true) return false;
  const port = Number(o.port);
  return Number.isInteger(port) && port > 0;
}

/** The listeners of routed servers: what their `_handle` gives. */
const routedListeners = new WeakSet<object>();

/**
 * listen(handle) where the handle is a routed server's (the server itself,
 * its `_handle`, or `{ handle }`, as node:net resolves them): node's server
 * would take over a libuv handle, and a routed server has none to give, only
 * io_uring's accept on its socket. Refused with a message that says so
 * rather than node's "must have the property port or path".
 */
function refuseRoutedHandle(a0: unknown): void {
  if (a0 === null || typeof a0 !== 'object') return;
  const o = a0 as { _handle?: unknown; handle?: unknown };
  const handle = o._handle || o.handle || a0;
  if (routedListeners.has(handle as object))
    throw new InvalidArgValueError(
      'handle',
      a0,
      'is a server listening through io_uring (uring/register), with no libuv handle for another server to take',
    );
}

/** Whether listen(...args) on `server` goes through io_uring. */
function routes(server: Routed, args: unknown[], httpPart: boolean, netPart: boolean): boolean {
  if (server._handle) return false; // node's own already listening: its listen() throws as usual
  const a0 = args[0];
  if (a0 !== null && typeof a0 === 'object') {
    const o = a0 as Record<string, unknown>;
    if (o.fd !== undefined || o.handle !== undefined || o._handle !== undefined) return false;
  }
  if (inClusterWorker && !clusterRoutable(args)) return false;
  // The cluster primary's listener for its workers' node-routed servers
  // (node:cluster's round-robin handle calls listen()): node takes its libuv
  // handle over, so it must be node's.
  if (!inClusterWorker && calledFrom('node:internal/cluster', 10)) return false;
  if (server instanceof tls.Server) return false;
  // pauseOnConnect is for handing each connection to another process
  // (child.send('socket', socket)), which takes node's own sockets only.
  if ((server as { pauseOnConnect?: unknown }).pauseOnConnect === true) return false;
  if (server instanceof http.Server) return httpPart;
  return netPart && !isHttp2Server(server);
}

function patchServers(httpPart: boolean, netPart: boolean, stats: RegisterStats): void {
  const proto = net.Server.prototype as unknown as Record<string | symbol, unknown> & Routed;
  const orig = {
    listen: proto.listen,
    address: proto.address,
    close: proto.close,
    getConnections: proto.getConnections,
    ref: proto.ref,
    unref: proto.unref,
    _emitCloseIfDrained: proto._emitCloseIfDrained as (this: Routed) => void,
  };
  const listening = Object.getOwnPropertyDescriptor(proto, 'listening')!.get!;
  watchIpcChildren();

  function listen(this: Routed, ...args: unknown[]): Routed {
    let inner = this[kRouted];
    if (!inner) {
      refuseRoutedHandle(args[0]);
      if (!routes(this, args, httpPart, netPart))
        return orig.listen.apply(this, args as Parameters<typeof orig.listen>) as Routed;
      inner = uringListener(this);
      routedListeners.add(inner);
      inner.on('connection', () => stats.connections++);
      inner.maxConnections = this[kMaxConnections];
      if (this._unref) inner.unref();
      Object.defineProperty(this, kRouted, { value: inner });
      // Code outside node reads `server._handle` as "is it listening" (supertest
      // closes the server after a request only if it is set; node's own
      // asyncDispose too): the listener while it listens, as node's handle.
      // node:child_process's send('server', server) reads it too, to pass
      // the handle's fd to the child: there it is a libuv handle over a dup
      // of the listening socket (libuvHandle), not the listener, which
      // node's native IPC write would take for one and crash on.
      const routed = inner;
      Object.defineProperty(this, '_handle', {
        get: () => (routed.listening ? (readByChildProcess() ? libuvHandle(this, routed) : routed) : null),
        set: () => {},
        configurable: true,
      });
      stats.listens++;
    }
    const last = args[args.length - 1];
    const cb = typeof last === 'function' ? (args.pop() as () => void) : undefined;
    if (inClusterWorker) {
      args = [{ ...listenOptions(args), reusePort: true }];
      trackInWorker(this);
    }
    // Throws (already listening, a bad port) before taking the callback, as node:net.
    inner.listen(...(args as Parameters<UringNetServer['listen']>));
    // On this server, after http.Server's own 'listening' listener, as node:net.
    if (cb) this.once('listening', cb);
    return this;
  }

  Object.assign(proto, {
    listen,
    address(this: Routed) {
      const inner = this[kRouted];
      return inner ? inner.address() : orig.address.call(this);
    },
    close(this: Routed, cb?: (err?: Error) => void) {
      const inner = this[kRouted];
      if (!inner) return orig.close.call(this, cb);
      dropLibuvHandle(this);
      inner.close(cb);
      return this;
    },
    getConnections(this: Routed, cb: (err: Error | null, count: number) => void) {
      const inner = this[kRouted];
      if (!inner) return orig.getConnections.call(this, cb);
      inner.getConnections(cb);
      return this;
    },
    ref(this: Routed) {
      const inner = this[kRouted];
      if (!inner) return orig.ref.call(this);
      inner.ref();
      return this;
    },
    unref(this: Routed) {
      const inner = this[kRouted];
      if (!inner) return orig.unref.call(this);
      inner.unref();
      return this;
    },
    // node:net's drain check after its close: a routed server's 'close' comes from its listener.
    _emitCloseIfDrained(this: Routed) {
      if (!this[kRouted]) orig._emitCloseIfDrained.call(this);
    },
  });
  Object.defineProperties(proto, {
    listening: {
      get(this: Routed) {
        const inner = this[kRouted];
        return inner ? inner.listening : listening.call(this);
      },
      enumerable: true,
      configurable: true,
    },
    // node:net keeps this as a plain field it reads per connection; here it
    // is kept aside until listen() and then belongs to the listener.
    maxConnections: {
      get(this: Routed) {
        const inner = this[kRouted];
        return inner ? inner.maxConnections : this[kMaxConnections];
      },
      set(this: Routed, n: number | null | undefined) {
        const inner = this[kRouted];
        if (inner) inner.maxConnections = n ?? undefined;
        else this[kMaxConnections] = n ?? undefined;
      },
      configurable: true,
    },
  });
}

/**
 * `socket instanceof net.Socket` holds for the uring sockets register hands
 * out (a server's connections, node's http clients' sockets), as it does for
 * node's: apps and libraries test it before setNoDelay() and the like, and
 * node's own tests check it on 'dropRequest' and setTimeout()'s return.
 * Only net.Socket itself: its subclasses (tls.TLSSocket) answer as before.
 * node:child_process's send() asks it too, to pick how to pass a handle:
 * there a uring socket stays what it is not, so send() throws its
 * ERR_INVALID_HANDLE_TYPE rather than dropping the socket it cannot pass
 * (node's conversion skips a net.Socket whose `_handle` is null).
 */
function patchSocketInstanceof(): void {
  const NodeSocket = net.Socket;
  const ordinary = Function.prototype[Symbol.hasInstance];
  Object.defineProperty(NodeSocket, Symbol.hasInstance, {
    value: function hasInstance(this: Function, obj: unknown): boolean {
      if (ordinary.call(this, obj)) return true;
      return this === NodeSocket && obj instanceof UringSocket && !readByChildProcess();
    },
    configurable: true,
    writable: true,
  });
}

// ------------------------------------------------------------ child_process

const F_DUPFD_CLOEXEC = 1030;

/**
 * Whether `_handle` is being read by node:child_process's send(): its
 * 'net.Server' conversion passes `server._handle` to the IPC channel's
 * native write, which unwraps it as a libuv stream handle. Read often
 * elsewhere (supertest, node's asyncDispose, anyone asking "listening?"),
 * so the call sites are looked at only where a send could be under way:
 * this process has an IPC channel to its parent, or has spawned a child
 * with one (or was registered late, after children may have been).
 */
function readByChildProcess(): boolean {
  if (!ipcSeen) return false;
  // This function, the getter, then child_process's conversion.
  return calledFrom('node:internal/child_process', 4);
}

/** This process has an IPC channel, or a child of it has or had one (watchIpcChildren). */
let ipcSeen = false;

/**
 * Tells readByChildProcess when a child with an IPC channel appears:
 * node:child_process's fork/spawn/exec all go through
 * ChildProcess.prototype.spawn, which sets up the channel's `send` on the
 * child. A register imported by the app (not --import) may come after
 * children were spawned: then every read looks.
 */
function watchIpcChildren(): void {
  // The channel to a parent is set up before any --import runs.
  if (process.channel !== undefined || process.getActiveResourcesInfo().includes('ProcessWrap')) ipcSeen = true;
  const cp = require('node:child_process') as typeof import('node:child_process');
  const proto = cp.ChildProcess.prototype as unknown as { spawn: (...args: unknown[]) => unknown };
  const spawn = proto.spawn;
  proto.spawn = function (this: { send?: unknown }, ...args: unknown[]) {
    try {
      return spawn.apply(this, args);
    } finally {
      if (typeof this.send === 'function') ipcSeen = true;
    }
  };
}

/**
 * Whether one of the `frames` innermost frames of the stack (this function's
 * own first) runs code of node's module `id` or under it (`node:internal/cluster`
 * takes in `node:internal/cluster/round_robin_handle`). Told by V8's call
 * sites, not the formatted stack: a program may reformat it
 * (Error.prepareStackTrace, source maps), cut it (Error.stackTraceLimit) or
 * have a path of its own that looks like node's.
 */
function calledFrom(id: string, frames: number): boolean {
  const prepare = Error.prepareStackTrace;
  const limit = Error.stackTraceLimit;
  try {
    Error.prepareStackTrace = (_err, callSites) => callSites;
    Error.stackTraceLimit = frames;
    const sites: unknown = new Error().stack;
    if (!Array.isArray(sites)) return false;
    const under = id + '/';
    return sites.some((s: NodeJS.CallSite) => {
      const file = s.getFileName();
      return file !== null && file !== undefined && (file === id || file.startsWith(under));
    });
  } catch {
    // Error's fields frozen (--frozen-intrinsics): the formatted stack,
    // where node's frames read `(node:internal/cluster/...:1:2)`.
    const stack = new Error().stack ?? '';
    return stack.includes(id + '/') || stack.includes(id + ':');
  } finally {
    if (Error.prepareStackTrace !== prepare) Error.prepareStackTrace = prepare;
    if (Error.stackTraceLimit !== limit) Error.stackTraceLimit = limit;
  }
}

/**
 * A libuv handle (node's TCP or Pipe wrap) over a dup of the routed
 * server's listening socket, made on the first send to a child and kept
 * until the server closes, as node keeps its own handle. The child gets the
 * same socket (SCM_RIGHTS) and listens on it with node's own handle; the
 * parent's listener goes on accepting too, as node's does after a send.
 * libuv makes the shared file description O_NONBLOCK, which io_uring's
 * accept does not mind (it waits by poll either way). The wrap's socket is
 * made neither readable nor writable, so libuv never reads or accepts on it.
 */
function libuvHandle(server: Routed, routed: UringNetServer): unknown {
  let holder = server[kLibuvHandle];
  if (!holder) {
    const fd = (routed as unknown as { _listenFd: number })._listenFd;
    const dup = native().fcntl(fd, F_DUPFD_CLOEXEC, 0);
    // Thrown out of child.send(), as node's send throws what it cannot do.
    if (dup < 0) throw systemError(dup, 'dup');
    holder = new net.Socket({
      fd: dup,
      readable: false,
      writable: false,
      manualStart: true,
    } as NetNs.SocketConstructorOpts);
    server[kLibuvHandle] = holder;
  }
  return (holder as NetNs.Socket & { _handle: unknown })._handle;
}

/** Closes the dup made for child processes, if any, at the server's close() (node closes its handle then too). */
function dropLibuvHandle(server: Routed): void {
  const holder = server[kLibuvHandle];
  if (!holder) return;
  server[kLibuvHandle] = undefined;
  holder.destroy();
}

// ------------------------------------------------------------ cluster workers

let workerServers: Set<Routed> | undefined;

/**
 * A worker's routed server plays its part in node:cluster as one node asked
 * the primary for would: the primary hears 'listening' (cluster.on('listening')
 * and worker.on('listening')), and a disconnect (worker.disconnect() on either
 * side) closes it, so the worker can end once its connections have.
 */
function trackInWorker(server: Routed): void {
  if (!workerServers) {
    const servers = (workerServers = new Set());
    // node:cluster's own messages between primary and worker (cmd NODE_CLUSTER).
    process.on('internalMessage', (msg: { cmd?: unknown; act?: unknown }) => {
      if (msg?.cmd === 'NODE_CLUSTER' && msg.act === 'disconnect') for (const s of servers) closeQuietly(s);
    });
    const cluster = require('node:cluster') as typeof import('node:cluster').default;
    const worker = cluster.worker;
    if (worker) {
      const disconnect = worker.disconnect;
      worker.disconnect = function (this: typeof worker) {
        for (const s of servers) closeQuietly(s);
        return disconnect.call(this);
      };
    }
  }
  if (workerServers.has(server)) return;
  workerServers.add(server);
  server.on('listening', () => {
    const a = server.address();
    if (a === null || typeof a === 'string' || !process.send) return;
    const addressType = a.family === 'IPv6' ? 6 : 4;
    process.send({ cmd: 'NODE_CLUSTER', act: 'listening', addressType, address: a.address, port: a.port });
  });
  server.on('close', () => workerServers!.delete(server));
}

function closeQuietly(server: Routed): void {
  if (server.listening) server.close();
}

// ------------------------------------------------------------ clients

function patchClients(stats: RegisterStats): void {
  const origConnect = net.connect;
  // node's own where the drop-ins are to be node's after all
  // (setUringDisabled(true) later): uring/net's connect would otherwise ask
  // node:net's connect, which is this function.
  const connect = function connect(...args: unknown[]): NetNs.Socket {
    if (mayUseNode() && useNode()) return (origConnect as (...a: unknown[]) => NetNs.Socket)(...args);
    stats.clients++;
    return uringConnect(...(args as Parameters<typeof uringConnect>)) as unknown as NetNs.Socket;
  };
  net.connect = connect as typeof net.connect;
  net.createConnection = connect as typeof net.createConnection;
  // http.Agent took node:net's createConnection when node:http loaded.
  (http.Agent.prototype as unknown as { createConnection: unknown }).createConnection = connect;
  syncBuiltinESMExports();
}

// ------------------------------------------------------------ fs

function patchFsPromises(): void {
  // The ring-backed ones; the rest of uring/fs/promises is node's own already.
  const names = [
    'open',
    'readFile',
    'writeFile',
    'appendFile',
    'stat',
    'lstat',
    'unlink',
    'rmdir',
    'rename',
    'mkdir',
    'symlink',
    'link',
    'truncate',
    'access',
    'copyFile',
  ] as const;
  for (const name of names) fsPromises[name] = uringFsp[name];
  syncBuiltinESMExports();
}

register();
