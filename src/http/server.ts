// uring/http's server: a real node:http Server whose listening socket is a
// uring/net Server. node:http keeps parsing, timeouts, keep-alive and every
// event; what it would ask of node:net's Server (bind, accept, address, close,
// connection counts) goes to uring/net instead, and each accepted socket is
// handed over exactly as node:net's accept path hands one over:
//
// - the socket gets the server's per-connection options, read at accept time
//   from the fields node:net's Server constructor stored on this object
//   (http.Server passes allowHalfOpen: true, noDelay: options.noDelay ?? true,
//   keepAlive, keepAliveInitialDelay, highWaterMark): TCP_NODELAY most of all,
//   without which every response written in two parts waits for the peer's
//   delayed ACK (~40 ms on a keep-alive connection);
// - then 'connection' is emitted on this server, where http.Server's own
//   listener sets the connection up;
// - 'listening' is emitted on this server once bound, which is when
//   http.Server starts tracking connections and the interval that enforces
//   headersTimeout and requestTimeout (slow clients get 408); without it
//   closeAllConnections() and closeIdleConnections() also find nothing.
import http from 'node:http';
import { mayUseNode, useNode } from '../runtime/fallback.js';
import { Server as NetServer, type Socket, type ServerOptions as NetServerOptions } from '../net/node.js';
import type { Runtime } from '../runtime/runtime.js';

export interface ServerOptions extends http.ServerOptions {
  /** The ring to run on (default: this thread's). */
  runtime?: Runtime;
}

type RequestListener = http.RequestListener;

/** The fields node:net's Server constructor leaves on an http.Server (read per connection, as node:net does). */
interface NetFields {
  allowHalfOpen: boolean;
  pauseOnConnect: boolean;
  noDelay: boolean;
  keepAlive: boolean;
  /** Seconds: node:net stores ~~(ms / 1000). */
  keepAliveInitialDelay: number;
  highWaterMark: number;
}

const kInner = Symbol('uring.http.listener');

/** A node:http Server (instanceof http.Server, every event) listening on io_uring. */
export class Server extends http.Server {
  declare [kInner]: NetServer;

  constructor(options?: ServerOptions | RequestListener, requestListener?: RequestListener) {
    if ((typeof options !== 'object' || options?.runtime === undefined) && mayUseNode() && useNode()) {
      // Opted out of io_uring, or it is unavailable and the fallback is on:
      // node's own server (so `instanceof` this class is false for it).
      return new http.Server(options as http.ServerOptions, requestListener) as Server;
    }
    super(options as http.ServerOptions, requestListener as RequestListener);
    const fields = this as unknown as NetFields;
    const runtime = typeof options === 'object' ? options?.runtime : undefined;
    // Getters: node:net reads these when a connection arrives, so a change
    // after createServer (server.noDelay = false) counts, as it does there.
    const perConnection: NetServerOptions = {
      get allowHalfOpen() {
        return fields.allowHalfOpen;
      },
      get pauseOnConnect() {
        return fields.pauseOnConnect;
      },
      get noDelay() {
        return fields.noDelay;
      },
      get keepAlive() {
        return fields.keepAlive;
      },
      get keepAliveInitialDelay() {
        return fields.keepAliveInitialDelay * 1000;
      },
      get highWaterMark() {
        return fields.highWaterMark;
      },
      ...(runtime ? { runtime } : {}),
    };
    const inner = new NetServer(perConnection);
    Object.defineProperty(this, kInner, { value: inner });
    inner.on('connection', (socket: Socket) => this.emit('connection', socket));
    inner.on('listening', () => this.emit('listening'));
    inner.on('error', (err: Error) => this.emit('error', err));
    inner.on('drop', (data?: unknown) => (data === undefined ? this.emit('drop') : this.emit('drop', data)));
    inner.on('close', () => this.emit('close'));
  }

  /** listen(port[, host][, backlog][, cb]), listen(path[, backlog][, cb]), listen(options[, cb]), as node's. */
  override listen(...args: unknown[]): this {
    const last = args[args.length - 1];
    const cb = typeof last === 'function' ? (args.pop() as () => void) : undefined;
    // Throws (already listening, a bad port) before taking the callback, as node:net.
    this[kInner].listen(...args);
    // On this server, as node:net: after http.Server's own 'listening'
    // listener. The uring listener emits 'listening' after its bind, never
    // within listen().
    if (cb) this.once('listening', cb);
    return this;
  }

  override address(): ReturnType<http.Server['address']> {
    return this[kInner].address() as ReturnType<http.Server['address']>;
  }

  /**
   * As http.Server's close: closes idle connections and stops the timeout
   * checks (http.Server.prototype.close does both, then node:net's close,
   * which finds no node handle here and asks _emitCloseIfDrained, a no-op
   * below); then stops accepting. 'close' once every connection is gone;
   * `cb` gets ERR_SERVER_NOT_RUNNING if the server was not listening.
   */
  override close(cb?: (err?: Error) => void): this {
    super.close();
    this[kInner].close(cb);
    return this;
  }

  /** @internal node:net's own drain check: this server's 'close' comes from the uring listener. */
  _emitCloseIfDrained(): void {}

  override getConnections(cb: (error: Error | null, count: number) => void): this {
    this[kInner].getConnections(cb);
    return this;
  }

  override ref(): this {
    this[kInner].ref();
    return this;
  }

  override unref(): this {
    this[kInner].unref();
    return this;
  }
}

// Accessors where @types/node declares plain properties (a class accessor
// could not override those).
Object.defineProperties(Server.prototype, {
  listening: {
    get(this: Server) {
      return this[kInner].listening;
    },
    configurable: true,
  },
  maxConnections: {
    get(this: Server) {
      return this[kInner].maxConnections;
    },
    // node:net: null or undefined means no limit.
    set(this: Server, n: number | null | undefined) {
      this[kInner].maxConnections = n ?? undefined;
    },
    configurable: true,
  },
});

/** http.createServer([options][, requestListener]) listening on io_uring sockets. */
export function createServer(options?: ServerOptions | RequestListener, requestListener?: RequestListener): Server {
  return new Server(options, requestListener);
}
