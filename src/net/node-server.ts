// node:net's Server as a drop-in: an EventEmitter over a uring listener
// (server.ts) whose connections arrive through io_uring's multishot accept,
// each as a node-socket.ts Socket; and createServer.
import { EventEmitter } from 'node:events';
import * as nodeNet from 'node:net';
import type { Runtime } from '../runtime/runtime.js';
import { chmodSync, statSync } from 'node:fs';
import {
  InvalidArgTypeError,
  InvalidArgValueError,
  ServerAlreadyListenError,
  ServerNotRunningError,
} from '../errors.js';
import { validateFunction } from '../validate.js';
import {
  listen as listenNative,
  listenFd,
  listenNow,
  Server as NativeServer,
  type AddressInfo,
  type ListenOptions as NativeListenOptions,
} from './server.js';
import type { Socket as NativeSocket } from './socket.js';
import { validatePort } from './connect.js';
import { callableClass, nodeInstead } from './node-common.js';
import { isBlockList } from './node-lookup.js';
import { MAX_UNIX_PATH, Socket } from './node-socket.js';
import { uvHostPortError } from './errors.js';
import { EINVAL } from '../errno.js';

export interface ServerOptions {
  allowHalfOpen?: boolean;
  pauseOnConnect?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  /** Connections from these addresses are closed at once (node:net's; node 22.13, 23.4 and later, as the running node). */
  blockList?: nodeNet.BlockList;
  /** Each accepted socket's readable and writable high-water mark (node:net's). */
  highWaterMark?: number;
  runtime?: Runtime;
}

export interface NodeListenOptions {
  port?: number | string;
  host?: string;
  path?: string;
  backlog?: number;
  exclusive?: boolean;
  ipv6Only?: boolean;
  reusePort?: boolean;
  signal?: AbortSignal;
}

type ListeningListener = () => void;

/**
 * listen()'s argument forms, as node:net's types give them (a handle only as
 * `{ fd }`: uring cannot listen on a libuv handle). One signature over a union of tuples,
 * as connect()'s (node-socket.ts), so that calls on `nodeNet.Server |
 * uringNet.Server` still type-check.
 */
export type ListenArgs =
  | [port?: number, hostname?: string, backlog?: number, listeningListener?: ListeningListener]
  | [port?: number, hostname?: string, listeningListener?: ListeningListener]
  | [port?: number, backlog?: number, listeningListener?: ListeningListener]
  | [port?: number, listeningListener?: ListeningListener]
  | [path: string, backlog?: number, listeningListener?: ListeningListener]
  | [path: string, listeningListener?: ListeningListener]
  | [options: nodeNet.ListenOptions | NodeListenOptions, listeningListener?: ListeningListener]
  | [handle: { fd: number }, backlog?: number, listeningListener?: ListeningListener]
  | [listeningListener?: ListeningListener];

/** A node:net Server whose connections arrive through io_uring's multishot accept. */
class NetServer extends EventEmitter {
  readonly #options!: ServerOptions; // `!`: the constructor may return node's Server instead
  #native: NativeServer | undefined;
  /** A listen() waits for its bind; #bindsAtOnce: node:net would have bound before it returned. */
  #binding = false;
  #bindsAtOnce = false;
  /** Which listen()'s bind counts: a result of an earlier one is closed. */
  #bindGen = 0;
  #listening = false;
  #unref = false;
  readonly #connections = new Set<Socket>();
  #maxConnections: number | undefined = undefined;
  /** In node:net's type of a Server (deprecated there, absent at run time): here for assignability. */
  declare readonly connections: number;

  constructor(
    options?: (ServerOptions & nodeNet.ServerOpts) | ((socket: Socket) => void),
    connectionListener?: (socket: Socket) => void,
  ) {
    // As node:net: options are an object or the connection listener.
    if (options !== undefined && options !== null && typeof options !== 'object' && typeof options !== 'function') {
      throw new InvalidArgTypeError('options', 'of type object', options);
    }
    if ((typeof options !== 'object' || options?.runtime === undefined) && nodeInstead()) {
      return new nodeNet.Server(
        options as nodeNet.ServerOpts,
        connectionListener as unknown as (s: nodeNet.Socket) => void,
      ) as unknown as Server;
    }
    super();
    if (typeof options === 'function') {
      connectionListener = options;
      options = {};
    }
    this.#options = options ?? {};
    const blockList = this.#options.blockList;
    if (blockList && isBlockList) {
      if (!isBlockList(blockList)) throw new InvalidArgTypeError('options.blockList', 'an net.BlockList', blockList);
      this.blockList = blockList;
    }
    if (connectionListener) this.on('connection', connectionListener);
  }

  /** No limit while undefined, as in node; read as a number, as node:net's Server types it. */
  get maxConnections(): number {
    return this.#maxConnections as number;
  }
  set maxConnections(n: number | undefined) {
    this.#maxConnections = n;
  }

  get listening(): boolean {
    return this.#listening;
  }

  /**
   * listen(port[, host][, backlog][, cb]), listen(path[, backlog][, cb]),
   * listen(options[, cb]), listen({ fd }), as node:net; its forms of "any
   * port" (no port, undefined, null) and its errors for options with neither.
   */
  listen(...args: ListenArgs): this;
  listen(...args: unknown[]): this {
    const last = args[args.length - 1];
    const cb = typeof last === 'function' ? (last as () => void) : undefined;
    // node:net's normalizeArgs: an object is the options, a non-numeric string a path, anything else a port.
    const a0 = args[0];
    let given: Omit<NodeListenOptions, 'port'> & {
      port?: unknown;
      fd?: unknown;
      readableAll?: unknown;
      writableAll?: unknown;
    };
    if (a0 !== null && typeof a0 === 'object') given = a0 as typeof given;
    else if (isPipeName(a0)) given = { path: a0 as string };
    else if (args.length === 0) given = {};
    else given = { port: a0, ...(args.length > 1 && typeof args[1] === 'string' ? { host: args[1] } : {}) };
    const backlogFromArgs = toNumber(args.length > 1 && args[1]) || toNumber(args.length > 2 && args[2]);
    if (this.#native || (this.#binding && this.#bindsAtOnce)) throw new ServerAlreadyListenError();
    // As node:net, before anything is bound (it was used only once listening, and threw there).
    if (given.signal !== undefined && !(given.signal instanceof AbortSignal))
      throw new InvalidArgTypeError('options.signal', 'an instance of AbortSignal', given.signal);
    let port = given.port;
    if (args.length === 0 || typeof a0 === 'function' || port === null || (port === undefined && 'port' in given))
      port = 0;
    let opts: NodeListenOptions;
    if (typeof given.fd === 'number' && given.fd >= 0) {
      return this.#listenFd(given.fd, (given.backlog as number) || backlogFromArgs || undefined, cb, given.signal);
    } else if (typeof port === 'number' || typeof port === 'string') {
      validatePort(port, 'options.port');
      opts = { ...given, port: Number(port) | 0, path: undefined } as NodeListenOptions;
      if (!given.host) delete opts.host;
    } else if (given.path && isPipeName(given.path)) {
      opts = { ...given, port: undefined } as NodeListenOptions;
      if (Buffer.byteLength(given.path) > MAX_UNIX_PATH) {
        // As node 24's (libuv's no-truncate bind): EINVAL, an 'error' event.
        const err = uvHostPortError(-EINVAL, 'listen', given.path);
        const gen = ++this.#bindGen;
        process.nextTick(() => {
          if (gen === this.#bindGen) this.emit('error', err);
        });
        return this;
      }
    } else if (!('port' in given || 'path' in given)) {
      throw new InvalidArgValueError('options', given, 'must have the property "port" or "path"');
    } else {
      throw new InvalidArgValueError('options', given, 'is invalid');
    }
    const backlog = opts.backlog || backlogFromArgs;
    if (backlog) opts.backlog = backlog;
    else delete opts.backlog;
    // node:net binds a listen() without a host (a port alone, or a path)
    // before it returns, and one with a host (even an IP) after its DNS lookup; the
    // first to bind is the server's one socket, and 'listening' comes once,
    // with every listen()'s callback. So: a second listen() throws once
    // node:net would have bound; one with a host joins the bind in flight;
    // one without takes over (the earlier bind's socket is closed).
    const bindsAtOnce = opts.host === undefined;
    if (this.#binding && !bindsAtOnce) {
      if (cb) this.once('listening', cb);
      return this;
    }
    const nativeOpts: NativeListenOptions = {
      ...(opts.path !== undefined ? { path: opts.path } : { port: (opts.port as number | undefined) ?? 0 }),
      ...(opts.host !== undefined ? { host: opts.host } : {}),
      ...(opts.backlog !== undefined ? { backlog: opts.backlog } : {}),
      ...(opts.reusePort !== undefined ? { reusePort: opts.reusePort } : {}),
      ...(opts.ipv6Only !== undefined ? { ipv6Only: opts.ipv6Only } : {}),
      ...(this.#options.runtime ? { runtime: this.#options.runtime } : {}),
    };
    if (cb) this.once('listening', cb);
    const gen = ++this.#bindGen;
    // Without a host, bound before listen() returns (address() is set at
    // once), as node:net; 'listening' or 'error' still come later. With one,
    // node:net binds after dns.lookup, even of an IP: so do we (listenNative).
    let srv: NativeServer | undefined;
    try {
      if (bindsAtOnce) srv = listenNow(nativeOpts);
    } catch (err) {
      // Bad arguments throw; what bind(2)/listen(2) say is an 'error' event.
      if ((err as { syscall?: unknown }).syscall === undefined) throw err;
      this.#binding = false;
      process.nextTick(() => {
        if (gen === this.#bindGen) this.emit('error', err);
      });
      return this;
    }
    if (srv) {
      this.#binding = false;
      if (opts.path !== undefined && (given.readableAll === true || given.writableAll === true)) {
        try {
          chmodSocket(opts.path, given.readableAll === true, given.writableAll === true);
        } catch (err) {
          void srv.close();
          throw err;
        }
      }
      this.#listened(srv, opts.signal, (opts.port as number | undefined) ?? null);
      process.nextTick(() => {
        if (this.#native === srv) this.emit('listening');
      });
      return this;
    }
    this.#binding = true;
    this.#bindsAtOnce = bindsAtOnce;
    listenNative(nativeOpts).then(
      (srv) => {
        if (gen !== this.#bindGen) {
          void srv.close(); // a later listen() took over
          return;
        }
        this.#binding = false;
        this.#listened(srv, opts.signal, (opts.port as number | undefined) ?? null);
        this.emit('listening');
      },
      (err: Error) => {
        if (gen !== this.#bindGen) return;
        this.#binding = false;
        this.emit('error', err);
      },
    );
    return this;
  }

  /** listen({ fd }): a socket the program already has, made to listen (node:net's); its errors are 'error' events. */
  #listenFd(
    fd: number,
    backlog: number | undefined,
    cb: (() => void) | undefined,
    signal: AbortSignal | undefined,
  ): this {
    if (cb) this.once('listening', cb);
    const gen = ++this.#bindGen;
    let srv: NativeServer;
    try {
      srv = listenFd(fd, {
        backlog: backlog ?? 511,
        ...(this.#options.runtime ? { runtime: this.#options.runtime } : {}),
      });
    } catch (err) {
      if ((err as { syscall?: unknown }).syscall === undefined) throw err;
      process.nextTick(() => {
        if (gen === this.#bindGen) this.emit('error', err);
      });
      return this;
    }
    this.#listened(srv, signal);
    process.nextTick(() => {
      if (this.#native === srv) this.emit('listening');
    });
    return this;
  }

  /** node:net's `family:address:port` of the listen (the port as asked: 0 for any), set once bound. */
  _connectionKey: string | undefined = undefined;

  #listened(srv: NativeServer, signal: AbortSignal | undefined, port: number | null = null): void {
    const a = srv.address();
    this._connectionKey =
      typeof a === 'string'
        ? `-1:${a}:-1`
        : a && port !== null
          ? `${a.family === 'IPv6' ? 6 : 4}:${a.address}:${port}`
          : 'null:null:null';
    this.#native = srv;
    this.#listening = true;
    if (this.#unref) srv.unref();
    srv.on('connection', (h: NativeSocket) => this.#onConnection(h));
    srv.on('error', (err: Error) => this.emit('error', err));
    // Closed under this server (its runtime closed: Runtime.close): this one closes too.
    srv.on('close', () => {
      if (this.#native === srv) this.close();
    });
    if (signal) {
      if (signal.aborted) this.close();
      else signal.addEventListener('abort', () => this.close(), { once: true });
    }
  }

  /** Connections from these addresses are closed at once (the blockList option). */
  declare blockList: nodeNet.BlockList | undefined;

  #onConnection(handle: NativeSocket): void {
    if (this.blockList) {
      const peer = handle.remoteAddress;
      if (
        peer &&
        peer.family !== 'Unix' &&
        this.blockList.check(peer.address, peer.family === 'IPv6' ? 'ipv6' : 'ipv4')
      ) {
        void handle.close();
        return;
      }
    }
    if (this.maxConnections !== undefined && this.#connections.size >= this.maxConnections) {
      // The addresses are read before the close (after it the fd is gone).
      // As node:net: a null-prototype object for TCP, nothing for a Unix socket.
      const local = handle.localAddress;
      const remote = handle.remoteAddress;
      void handle.close();
      if (local?.family === 'Unix') {
        this.emit('drop');
        return;
      }
      const data = Object.create(null) as Record<string, string | number>;
      if (local) Object.assign(data, { localAddress: local.address, localPort: local.port, localFamily: local.family });
      if (remote && remote.family !== 'Unix')
        Object.assign(data, { remoteAddress: remote.address, remotePort: remote.port, remoteFamily: remote.family });
      this.emit('drop', data);
      return;
    }
    const o = this.#options;
    if (o.noDelay) handle.setNoDelay(true);
    if (o.keepAlive) handle.setKeepAlive(true, o.keepAliveInitialDelay ?? 0);
    const hwm = o.highWaterMark;
    const socket = new Socket({
      handle,
      allowHalfOpen: o.allowHalfOpen ?? false,
      pauseOnCreate: o.pauseOnConnect ?? false,
      ...(hwm !== undefined ? { readableHighWaterMark: hwm, writableHighWaterMark: hwm } : {}),
    });
    socket.server = this;
    this.#connections.add(socket);
    socket._serverOnClose = () => {
      this.#connections.delete(socket);
      this.#maybeClosed();
    };
    this.emit('connection', socket);
  }

  address(): AddressInfo | string | null {
    return this.#native?.address() ?? null;
  }

  /** @internal The listening socket's fd, or -1 (uring/register hands a dup of it to node:child_process). */
  get _listenFd(): number {
    return this.#native?.fd ?? -1;
  }

  /**
   * Stops accepting; 'close' once every connection has ended too (as
   * node:net). On a server that is not listening, as node:net's too:
   * `cb` gets ERR_SERVER_NOT_RUNNING, and 'close' still comes (next tick,
   * once no connection is left); a bind still in flight is dropped (its
   * socket is closed when it arrives). The server can listen() again.
   */
  close(cb?: (err?: Error) => void): this {
    // As node:net: a callback that is not a function is ignored.
    if (typeof cb !== 'function') cb = undefined;
    const srv = this.#native;
    if (!srv) {
      if (cb) this.once('close', () => cb!(new ServerNotRunningError()));
      if (this.#binding) {
        this.#bindGen++;
        this.#binding = false;
      }
      // A close of the listening socket still under way emits 'close' itself.
      if (!this.#closingNative) process.nextTick(() => this.#maybeClosed(true));
      return this;
    }
    if (cb) this.once('close', () => cb());
    this.#native = undefined;
    this.#listening = false;
    this.#closingNative = true;
    void srv.close().then(() => {
      this.#closingNative = false;
      this.#nativeClosed = true;
      this.#maybeClosed();
    });
    return this;
  }

  #closingNative = false;
  #nativeClosed = false;
  #maybeClosed(notRunning = false): void {
    if ((this.#nativeClosed || notRunning) && this.#connections.size === 0 && !this.#closingNative && !this.#native) {
      this.#nativeClosed = false;
      this.emit('close');
    }
  }

  getConnections(cb: (err: Error | null, count: number) => void): this {
    validateFunction(cb, 'callback');
    const n = this.#connections.size;
    process.nextTick(() => cb(null, n));
    return this;
  }

  ref(): this {
    this.#unref = false;
    this.#native?.ref();
    return this;
  }
  unref(): this {
    this.#unref = true;
    this.#native?.unref();
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#native) return;
    await new Promise<void>((resolve) => this.close(() => resolve()));
  }
}

/** node:net's Server.prototype[captureRejectionSymbol]: a rejected async 'connection' listener destroys that socket. */
Object.defineProperty(NetServer.prototype, EventEmitter.captureRejectionSymbol, {
  value: function (this: NetServer, err: Error, event: string, socket?: Socket) {
    if (event === 'connection' && socket) socket.destroy(err);
    else this.emit('error', err);
  },
  writable: true,
  configurable: true,
});

/** A name that is not a number: a path (node:net's isPipeName). */
function isPipeName(s: unknown): s is string {
  return typeof s === 'string' && toNumber(s) === false;
}
/**
 * node:net's toNumber: a number >= 0, else false. What Number() cannot
 * convert (a symbol, an object without a primitive value), which node
 * refuses with Number()'s uncoded TypeError, is refused with a code.
 */
function toNumber(x: unknown): number | false {
  let n: number;
  try {
    n = Number(x);
  } catch {
    throw new InvalidArgTypeError('backlog', 'of type number', x);
  }
  return n >= 0 ? n : false;
}

/**
 * listen({ path, readableAll, writableAll }): the socket file readable /
 * writable by all, as libuv's uv_pipe_chmod (the bits added to its mode).
 */
function chmodSocket(path: string, readable: boolean, writable: boolean): void {
  const want = (readable ? 0o444 : 0) | (writable ? 0o222 : 0);
  const mode = statSync(path).mode;
  if ((mode & want) !== want) chmodSync(path, (mode | want) & 0o7777);
}

export const Server = callableClass(NetServer, 'Server');
export type Server = NetServer;

export function createServer(
  options?: (ServerOptions & nodeNet.ServerOpts) | ((socket: Socket) => void),
  connectionListener?: (socket: Socket) => void,
): Server {
  return new Server(options, connectionListener);
}

// The class behind the callable Server, as a type only (node.ts names it).
export type { NetServer };
