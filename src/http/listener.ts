// The uring/net listener behind a node:net-shaped server: shared by
// uring/http's and uring/https's Servers (subclasses, which take the methods
// below with onListener) and uring/register (which routes node's own
// http.Server and net.Server instances through it at listen()).
//
// Each accepted socket gets the server's per-connection options, read at
// accept time from the fields node:net's Server constructor stored on the
// outer server (http.Server passes allowHalfOpen: true, noDelay:
// options.noDelay ?? true, keepAlive, keepAliveInitialDelay, highWaterMark):
// TCP_NODELAY most of all, without which every response written in two parts
// waits for the peer's delayed ACK (~40 ms on a keep-alive connection). The
// listener's events are re-emitted on the outer server: 'connection' (where
// http.Server's own listener sets the connection up), 'listening' (when
// http.Server starts tracking connections for its timeouts and for
// closeIdleConnections/closeAllConnections), 'error', 'drop', 'close'.
import type { EventEmitter } from 'node:events';
import {
  Server as NetServer,
  type Socket,
  type ServerOptions as NetServerOptions,
  type ListenArgs,
} from '../net/node.js';
import type { Runtime } from '../runtime/runtime.js';

/** The fields node:net's Server constructor leaves on a server (read per connection, as node:net does). */
interface NetFields {
  allowHalfOpen: boolean;
  pauseOnConnect: boolean;
  noDelay: boolean;
  keepAlive: boolean;
  /** Seconds: node:net stores ~~(ms / 1000). */
  keepAliveInitialDelay: number;
  highWaterMark: number;
}

/** A uring/net Server whose connections take `outer`'s options and whose events `outer` emits. */
export function uringListener(outer: EventEmitter, runtime?: Runtime): NetServer {
  const fields = outer as unknown as NetFields;
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
  inner.on('connection', (socket: Socket) => outer.emit('connection', socket));
  inner.on('listening', () => outer.emit('listening'));
  inner.on('error', (err: Error) => outer.emit('error', err));
  inner.on('drop', (data?: unknown) => (data === undefined ? outer.emit('drop') : outer.emit('drop', data)));
  inner.on('close', () => outer.emit('close'));
  return inner;
}

const kInner = Symbol('uring.http.listener');

/** A server whose listening socket is a uring listener (onListener's classes). */
export interface OnListener {
  [kInner]: NetServer;
}

/** Gives `server` its uring listener: called once, in the constructor of a class onListener prepared. */
export function attachListener(server: EventEmitter, runtime?: Runtime): void {
  Object.defineProperty(server, kInner, { value: uringListener(server, runtime) });
}

/**
 * Makes `cls` (a subclass of http.Server or https.Server, both node:net
 * Servers) listen through the uring listener attachListener gave each
 * instance: listen, address, close, getConnections, ref, unref, listening
 * and maxConnections go to the listener instead of node:net's handle.
 */
export function onListener(cls: { prototype: object }): void {
  const base = Object.getPrototypeOf(cls.prototype) as { close: (this: unknown) => unknown };
  const baseClose = base.close;
  const methods = {
    /** listen(port[, host][, backlog][, cb]), listen(path[, backlog][, cb]), listen(options[, cb]), as node's. */
    listen(this: EventEmitter & OnListener, ...args: unknown[]) {
      const last = args[args.length - 1];
      const cb = typeof last === 'function' ? (args.pop() as () => void) : undefined;
      // Throws (already listening, a bad port) before taking the callback, as node:net.
      this[kInner].listen(...(args as ListenArgs));
      // On this server, as node:net: after http.Server's own 'listening'
      // listener. The uring listener emits 'listening' after its bind, never
      // within listen().
      if (cb) this.once('listening', cb);
      return this;
    },
    address(this: OnListener) {
      return this[kInner].address();
    },
    /**
     * As http.Server's (and https.Server's) close: closes idle connections
     * and stops the timeout checks (the base close does both, then node:net's
     * close, which finds no node handle here and asks _emitCloseIfDrained, a
     * no-op below); then stops accepting. 'close' once every connection is
     * gone; `cb` gets ERR_SERVER_NOT_RUNNING if the server was not listening.
     */
    close(this: OnListener, cb?: (err?: Error) => void) {
      baseClose.call(this);
      this[kInner].close(cb);
      return this;
    },
    /** node:net's own drain check: this server's 'close' comes from the uring listener. */
    _emitCloseIfDrained() {},
    getConnections(this: OnListener, cb: (error: Error | null, count: number) => void) {
      this[kInner].getConnections(cb);
      return this;
    },
    ref(this: OnListener) {
      this[kInner].ref();
      return this;
    },
    unref(this: OnListener) {
      this[kInner].unref();
      return this;
    },
  };
  for (const [name, fn] of Object.entries(methods)) {
    Object.defineProperty(cls.prototype, name, { value: fn, writable: true, configurable: true });
  }
  // Accessors where node:net keeps plain fields.
  Object.defineProperties(cls.prototype, {
    listening: {
      get(this: OnListener) {
        return this[kInner].listening;
      },
      configurable: true,
    },
    maxConnections: {
      get(this: OnListener) {
        return this[kInner].maxConnections;
      },
      // node:net: null or undefined means no limit.
      set(this: OnListener, n: number | null | undefined) {
        this[kInner].maxConnections = n ?? undefined;
      },
      configurable: true,
    },
  });
}
