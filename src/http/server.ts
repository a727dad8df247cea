// uring/http's server: a real node:http Server whose listening socket is a
// uring/net Server. node:http keeps parsing, timeouts, keep-alive and every
// event; what it would ask of node:net's Server (bind, accept, address, close,
// connection counts) goes to uring/net instead, and each accepted socket is
// handed over exactly as node:net's accept path hands one over (listener.ts).
import http from 'node:http';
import { mayUseNode, useNode } from '../runtime/fallback.js';
import type { Server as NetServer } from '../net/node.js';
import { uringListener } from './listener.js';
import type { Runtime } from '../runtime/runtime.js';

export interface ServerOptions extends http.ServerOptions {
  /** The ring to run on (default: this thread's). */
  runtime?: Runtime;
}

type RequestListener = http.RequestListener;

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
    const runtime = typeof options === 'object' ? options?.runtime : undefined;
    Object.defineProperty(this, kInner, { value: uringListener(this, runtime) });
  }

  /** listen(port[, host][, backlog][, cb]), listen(path[, backlog][, cb]), listen(options[, cb]), as node's. */
  override listen(...args: unknown[]): this {
    const last = args[args.length - 1];
    const cb = typeof last === 'function' ? (args.pop() as () => void) : undefined;
    // Throws (already listening, a bad port) before taking the callback, as node:net.
    this[kInner].listen(...(args as Parameters<NetServer['listen']>));
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
