// node:net's Socket as a drop-in: a stream.Duplex over a uring socket
// (socket.ts), with node:net's argument forms, events and properties; and
// connect / createConnection.
import { Duplex } from 'node:stream';
import * as nodeNet from 'node:net';
import { isIP as nodeIsIP } from 'node:net';
import type { Runtime } from '../runtime/runtime.js';
import {
  abortError,
  InvalidArgTypeError,
  InvalidArgValueError,
  InvalidIpAddressError,
  MissingArgsError,
  OutOfRangeError,
  SocketClosedBeforeConnectionError,
  SocketClosedError,
  SocketConnectedError,
  SocketEndedError,
} from '../errors.js';
import { validateFunction } from '../validate.js';
import type { AddressInfo } from './server.js';
import { Socket as NativeSocket, keepAliveDelay, type Receiver } from './socket.js';
import { connectTo, endpointOf, validatePort } from './connect.js';
import { callableClass, nodeInstead } from './node-common.js';
import type { NetServer } from './node-server.js';

export interface SocketConstructorOptions {
  /** Half-open: after the peer's FIN, the writable side stays open until end() (default false). */
  allowHalfOpen?: boolean;
  /** Abort the connection (connect) or destroy the socket. */
  signal?: AbortSignal;
  runtime?: Runtime;
  /** Bytes at which write() starts returning false (stream.Duplex's option). */
  writableHighWaterMark?: number;
  /** Both high-water marks (stream.Duplex's option), unless one is given on its own. */
  highWaterMark?: number;
  readableHighWaterMark?: number;
  /** @internal An accepted connection. */
  handle?: NativeSocket;
  /** @internal With `handle`: don't start reading (the Server's pauseOnConnect). */
  pauseOnCreate?: boolean;
}

export interface TcpConnectOptions {
  port: number | string;
  host?: string;
  family?: number;
  localAddress?: string;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  timeout?: number;
  signal?: AbortSignal;
}
export interface IpcConnectOptions {
  path: string;
  timeout?: number;
  signal?: AbortSignal;
}
export type NetConnectOptions = (TcpConnectOptions | IpcConnectOptions) & SocketConstructorOptions;

type ConnectListener = () => void;

function normalizeConnectArgs(args: unknown[]): [NetConnectOptions, ConnectListener | undefined] {
  const last = args[args.length - 1];
  const cb = typeof last === 'function' ? (last as ConnectListener) : undefined;
  const a0 = args[0];
  if (a0 !== null && typeof a0 === 'object') return [a0 as NetConnectOptions, cb];
  if (typeof a0 === 'string' && !/^\d+$/.test(a0)) return [{ path: a0 }, cb];
  const host = typeof args[1] === 'string' ? args[1] : undefined;
  return [{ port: a0 as number, ...(host !== undefined ? { host } : {}) }, cb];
}

const kEmpty = Buffer.alloc(0);

/**
 * @internal The uring socket under `s`, or undefined (not one of ours, not
 * connected yet, or closed): for a sender that moves bytes to the socket's
 * fd by itself (uring serve's splice).
 */
export let uringSocketOf: (s: unknown) => NativeSocket | undefined;

/** A node:net Socket whose bytes move through io_uring. */
class NetSocket extends Duplex {
  static {
    uringSocketOf = (s) => (typeof s === 'object' && s !== null && #handle in s ? s.#handle : undefined);
  }
  #handle: NativeSocket | undefined;
  #runtime: Runtime | undefined;
  connecting = false;
  #readWanted = false;
  #pendingWrite: (() => void) | undefined;
  #pendingWriteCb: ((err?: Error | null) => void) | undefined;
  #pendingFinal: (() => void) | undefined;
  #noDelay: boolean | undefined;
  #keepAlive: [boolean, number] | undefined;
  #timeoutMs = 0;
  #timer: NodeJS.Timeout | undefined;
  #unref = false;
  #connectAbort: AbortController | undefined;
  #bytesRead = 0;
  #hadError = false;
  /** The net.Server that accepted this socket (set by Server). */
  server: NetServer | undefined;
  readonly #receiver!: Receiver; // `!`: the constructor may return node's Socket instead

  constructor(options: SocketConstructorOptions = {}) {
    // As node:net: null is no options; anything but an object is refused (node takes a number as an fd: not here).
    if (options === null) options = {};
    if (typeof options !== 'object') throw new InvalidArgTypeError('options', 'of type object', options);
    // As node:net: a socket carries bytes, never objects.
    for (const k of ['objectMode', 'readableObjectMode', 'writableObjectMode'] as const) {
      const v = (options as Record<string, unknown>)[k];
      if (v) throw new InvalidArgValueError(`options.${k}`, v, 'is not supported');
    }
    // An accepted connection (handle) or a given runtime means a ring is at hand.
    if (options.handle === undefined && options.runtime === undefined && nodeInstead()) {
      return new nodeNet.Socket(options) as unknown as Socket;
    }
    super({
      allowHalfOpen: options.allowHalfOpen ?? false,
      emitClose: false,
      autoDestroy: true,
      decodeStrings: true,
      ...(options.highWaterMark !== undefined ? { highWaterMark: options.highWaterMark } : {}),
      ...(options.writableHighWaterMark !== undefined ? { writableHighWaterMark: options.writableHighWaterMark } : {}),
      ...(options.readableHighWaterMark !== undefined ? { readableHighWaterMark: options.readableHighWaterMark } : {}),
    });
    this.#runtime = options.runtime;
    this.#receiver = {
      data: (chunk) => {
        this.#bytesRead += chunk.length;
        this.#touch();
        return this.push(chunk);
      },
      end: () => {
        this.push(null);
        // As node:net: a read(0) after the EOF emits 'end' now if nothing is
        // buffered, even on a socket nobody reads.
        this.read(0);
      },
      error: (err) => {
        this.destroy(err);
      },
    };
    this.on('end', onReadableEnd);
    if (options.handle) {
      this.#attach(options.handle);
      // As node:net, an accepted socket starts reading at once (read(0)), so
      // it sees the peer's FIN even if nobody reads it; what arrives is
      // buffered up to the high-water mark, then push() returning false
      // pauses the recv (bounded memory). pauseOnConnect reads nothing.
      if (options.pauseOnCreate) this.pause();
      else this.read(0);
    }
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
      // As node:net's Socket, which names it "signal" (its listen() says "options.signal").
      throw new InvalidArgTypeError('signal', 'an instance of AbortSignal', options.signal);
    }
    if (options.signal) {
      const signal = options.signal;
      if (signal.aborted) process.nextTick(() => this.destroy(abortError(signal)));
      else {
        const onAbort = () => this.destroy(abortError(signal));
        signal.addEventListener('abort', onAbort, { once: true });
        this.once('close', () => signal.removeEventListener('abort', onAbort));
      }
    }
  }

  #attach(handle: NativeSocket): void {
    this.#handle = handle;
    if (this.#unref) handle.unref();
    if (this.#noDelay !== undefined) handle.setNoDelay(this.#noDelay);
    if (this.#keepAlive) handle.setKeepAlive(...this.#keepAlive);
    // Receiving starts when the stream first asks (_read), as libuv's readStart.
    handle.setReceiver(this.#receiver, this.#readWanted);
  }

  /** Connects: (port[, host][, cb]), (path[, cb]) or (options[, cb]), as node:net. */
  connect(...args: unknown[]): this {
    const [options, cb] = normalizeConnectArgs(args);
    if (cb) this.once('connect', cb);
    if (this.#handle || this.connecting) {
      process.nextTick(() => this.destroy(new SocketConnectedError()));
      return this;
    }
    // As node:net: any falsy path means TCP (an http.Agent passes `path: null`).
    const path = (options as { path?: unknown }).path;
    const port = (options as { port?: unknown }).port;
    if (path) {
      if (typeof path !== 'string') throw new InvalidArgTypeError('options.path', 'of type string', path);
    } else if (port === undefined) {
      throw new MissingArgsError(['options', 'port', 'path']);
    } else {
      validatePort(port);
      // As node:net, before anything is looked up. The lookup option itself
      // is not used yet (connect resolves through dns.lookup).
      const o = options as { localAddress?: unknown; localPort?: unknown; lookup?: unknown; host?: unknown };
      if (o.localAddress && !nodeIsIP(String(o.localAddress))) throw new InvalidIpAddressError(o.localAddress);
      if (o.localPort && typeof o.localPort !== 'number')
        throw new InvalidArgTypeError('options.localPort', 'of type number', o.localPort);
      if (o.lookup !== undefined && o.lookup !== null) validateFunction(o.lookup, 'options.lookup');
    }
    if (options.timeout) this.setTimeout(options.timeout);
    const tcp = options as TcpConnectOptions;
    if (tcp.noDelay) this.#noDelay = true;
    if (tcp.keepAlive) this.#keepAlive = [true, keepAliveDelay(tcp.keepAliveInitialDelay)];
    this.connecting = true;
    this.#connectAbort = new AbortController();
    const signal = this.#connectAbort.signal;
    const runtime = this.#runtime ?? options.runtime;
    const where = (path ? { path } : { ...options, path: undefined }) as {
      host?: string;
      port?: number;
      path?: string;
      family?: number;
    };
    (async () => {
      const ep = await endpointOf(where, 'localhost');
      return connectTo(ep, { signal, ...(runtime ? { runtime } : {}) });
    })().then(
      (handle) => {
        this.connecting = false;
        if (this.destroyed) {
          void handle.close();
          return;
        }
        this.#attach(handle);
        this.emit('connect');
        this.emit('ready');
        const w = this.#pendingWrite;
        this.#pendingWrite = undefined;
        this.#pendingWriteCb = undefined;
        w?.();
        const f = this.#pendingFinal;
        this.#pendingFinal = undefined;
        f?.();
        // As node:net: start reading unless the user paused.
        if (this.readableFlowing !== false) this.read(0);
      },
      (err: Error) => {
        this.connecting = false;
        if (!this.destroyed) this.destroy(err);
      },
    );
    return this;
  }

  override _read(): void {
    this.#readWanted = true;
    this.#handle?.resumeReading();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (!this.#handle) {
      if (this.connecting) {
        this.#pendingWrite = () => this._write(chunk, _encoding, cb);
        this.#pendingWriteCb = cb;
        return;
      }
      cb(new SocketClosedError());
      return;
    }
    this.#handed += chunk.length;
    this.#inFlight = chunk.length;
    this.#handle.writeCb(chunk, this.#afterWrite(cb));
  }
  /** Bytes given to the uring socket; of them, those of the write whose callback is pending. */
  #handed = 0;
  #inFlight = 0;

  // Writable hands _write/_writev the same callback every time (its
  // state's onwrite): one wrapper per socket, not a closure per write.
  #writeCbFor: ((err?: Error | null) => void) | undefined;
  #writeCbWrapped: ((err?: Error | null) => void) | undefined;
  #afterWrite(cb: (err?: Error | null) => void): (err?: Error | null) => void {
    if (cb !== this.#writeCbFor || !this.#writeCbWrapped) {
      this.#writeCbFor = cb;
      this.#writeCbWrapped = (err) => {
        this.#inFlight = 0;
        this.#touch();
        cb(err);
      };
    }
    return this.#writeCbWrapped;
  }

  override _writev(chunks: { chunk: Buffer; encoding: BufferEncoding }[], cb: (err?: Error | null) => void): void {
    if (!this.#handle) {
      if (this.connecting) {
        this.#pendingWrite = () => this._writev(chunks, cb);
        this.#pendingWriteCb = cb;
        return;
      }
      cb(new SocketClosedError());
      return;
    }
    const h = this.#handle;
    let n = 0;
    for (const c of chunks) n += c.chunk.length;
    this.#handed += n;
    this.#inFlight = n;
    const last = chunks.length - 1;
    for (let i = 0; i < last; i++) h.writeCb(chunks[i]!.chunk);
    h.writeCb(chunks[last]?.chunk ?? kEmpty, this.#afterWrite(cb));
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.#handle) {
      if (this.connecting) {
        this.#pendingFinal = () => this._final(cb);
        return;
      }
      cb();
      return;
    }
    this.#handle.end().then(
      () => cb(),
      (err: Error & { code?: string }) => {
        // The peer already went away (ENOTCONN): ending is moot, not an error.
        if (err.code === 'ENOTCONN') cb();
        else cb(err);
      },
    );
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#hadError = err !== null && err !== undefined;
    this.#clearTimer();
    // As node:net: a write waiting for the connection fails, with the close.
    const pendingCb = this.#pendingWriteCb;
    this.#pendingWrite = undefined;
    this.#pendingWriteCb = undefined;
    if (pendingCb) {
      this.once('close', () => pendingCb(new SocketClosedBeforeConnectionError()));
    }
    this.#connectAbort?.abort();
    this.connecting = false;
    const h = this.#handle;
    const emitClose = () => process.nextTick(() => this.emit('close', this.#hadError));
    if (!h) {
      cb(err);
      emitClose();
      return;
    }
    (this.#resetting ? h._reset() : h.close()).then(
      () => {
        cb(err);
        emitClose();
      },
      (closeErr: Error) => {
        cb(err ?? closeErr);
        emitClose();
      },
    );
  }

  #resetting = false;
  /**
   * Destroys the socket with an RST rather than a FIN, so the peer gets
   * ECONNRESET (node:net's). A connecting socket resets once connected; one
   * with no connection is destroyed with ERR_SOCKET_CLOSED.
   */
  resetAndDestroy(): this {
    if (this.#handle && !this.destroyed) {
      this.#resetting = true;
      this.destroy();
    } else if (this.connecting) {
      this.once('connect', () => this.resetAndDestroy());
    } else {
      this.destroy(new SocketClosedError());
    }
    return this;
  }

  /** Closes the socket once written data is flushed (node:net's destroySoon). */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  // ------------------------------------------------------------ timeouts

  /** Emits 'timeout' after `ms` without activity (0 disables), as node:net. */
  setTimeout(ms: number, cb?: () => void): this {
    if (typeof ms !== 'number') throw new InvalidArgTypeError('msecs', 'of type number', ms);
    if (!Number.isFinite(ms) || ms < 0) throw new OutOfRangeError('msecs', 'a non-negative finite number', ms);
    if (cb !== undefined) {
      validateFunction(cb, 'callback');
      if (ms === 0) this.removeListener('timeout', cb);
      else this.once('timeout', cb);
    }
    this.#timeoutProp = ms;
    // node:http sets the same keep-alive timeout after every response: a
    // refresh, not a new timer.
    if (ms === this.#timeoutMs && this.#timer) {
      this.#timer.refresh();
      return this;
    }
    this.#timeoutMs = ms;
    this.#clearTimer();
    if (ms > 0 && !this.destroyed) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.emit('timeout');
      }, ms);
      this.#timer.unref();
    }
    return this;
  }

  /**
   * As node:net: the last setTimeout() value (undefined before one), a plain
   * property programs may set; setting it does not change the timer.
   */
  get timeout(): number | undefined {
    return this.#timeoutProp;
  }
  set timeout(v: number | undefined) {
    this.#timeoutProp = v;
  }
  #timeoutProp: number | undefined;

  #touch(): void {
    if (this.#timer) this.#timer.refresh();
    else if (this.#timeoutMs > 0 && !this.destroyed) this.setTimeout(this.#timeoutMs);
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  // ------------------------------------------------------------ options

  setNoDelay(noDelay = true): this {
    this.#noDelay = noDelay;
    this.#handle?.setNoDelay(noDelay);
    return this;
  }

  setKeepAlive(enable = false, initialDelay = 0): this {
    enable = Boolean(enable);
    initialDelay = keepAliveDelay(initialDelay);
    this.#keepAlive = [enable, initialDelay];
    this.#handle?.setKeepAlive(enable, initialDelay);
    return this;
  }

  ref(): this {
    this.#unref = false;
    this.#handle?.ref();
    return this;
  }

  unref(): this {
    this.#unref = true;
    this.#handle?.unref();
    return this;
  }

  // ------------------------------------------------------------ addresses & counters

  address(): AddressInfo | Record<string, never> {
    const a = this.#handle?.localAddress;
    if (!a || a.family === 'Unix') return {};
    return { address: a.address, family: a.family, port: a.port };
  }
  get remoteAddress(): string | undefined {
    const a = this.#handle?.remoteAddress;
    return a && a.family !== 'Unix' ? a.address : undefined;
  }
  get remotePort(): number | undefined {
    const a = this.#handle?.remoteAddress;
    return a && a.family !== 'Unix' ? a.port : undefined;
  }
  get remoteFamily(): string | undefined {
    const a = this.#handle?.remoteAddress;
    return a && a.family !== 'Unix' ? a.family : undefined;
  }
  get localAddress(): string | undefined {
    const a = this.#handle?.localAddress;
    return a && a.family !== 'Unix' ? a.address : undefined;
  }
  get localPort(): number | undefined {
    const a = this.#handle?.localAddress;
    return a && a.family !== 'Unix' ? a.port : undefined;
  }
  get localFamily(): string | undefined {
    const a = this.#handle?.localAddress;
    return a && a.family !== 'Unix' ? a.family : undefined;
  }
  // On Socket.prototype itself (no socket), these are undefined, as node:net's.
  get bytesRead(): number {
    if (!(#handle in this)) return undefined as unknown as number;
    return this.#bytesRead;
  }
  /**
   * Every byte handed to write(), sent or still queued, as node:net counts:
   * those given to the uring socket, plus the stream's buffer (its
   * writableLength less the write under way, which the socket has).
   */
  get bytesWritten(): number {
    if (!(#handle in this)) return undefined as unknown as number;
    return this.#handed + this.writableLength - this.#inFlight;
  }
  get pending(): boolean {
    if (!(#handle in this)) return true; // Socket.prototype, as node:net's
    // As node:net: pending again once destroyed (its handle is gone).
    return !this.#handle || this.connecting || this.destroyed;
  }
  /** node:net's old name of `connecting`. */
  get _connecting(): boolean {
    return this.connecting;
  }
  /** As node:net: what write() has queued (writableLength), while there is a socket or a connect. */
  get bufferSize(): number | undefined {
    if (!(#handle in this)) return undefined;
    return !this.destroyed && (this.#handle || this.connecting) ? this.writableLength : undefined;
  }
  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    if (this.writable) return 'writeOnly';
    return 'closed';
  }
  /** The uring socket underneath (undefined until connected). */
  get handle(): NativeSocket | undefined {
    return this.#handle;
  }
}
export const Socket = callableClass(NetSocket, 'Socket');
export type Socket = NetSocket;
/** node:net's old name for Socket. */
export const Stream = Socket;
export type Stream = NetSocket;

/**
 * After the peer's FIN, a socket that is not half-open ends its side too;
 * a write after that fails as node:net's does (EPIPE, and the socket is
 * destroyed) rather than with the stream's vaguer 'write after end'. Set
 * per socket only then, as node:net does, so no write pays for the check.
 */
function onReadableEnd(this: Socket): void {
  if (!this.allowHalfOpen) this.write = writeAfterFIN as Socket['write'];
}

function writeAfterFIN(
  this: Socket,
  chunk: unknown,
  encoding?: BufferEncoding | ((err?: Error | null) => void),
  cb?: (err?: Error | null) => void,
): boolean {
  if (!this.writableEnded) return Duplex.prototype.write.call(this, chunk, encoding as BufferEncoding, cb);
  if (typeof encoding === 'function') cb = encoding;
  const err = new SocketEndedError();
  if (cb) process.nextTick(cb, err);
  this.destroy(err);
  return false;
}

/** net.connect / net.createConnection: a Socket, connecting. */
export function connect(...args: unknown[]): Socket {
  if (nodeInstead()) return nodeNet.connect(...(args as Parameters<typeof nodeNet.connect>)) as unknown as Socket;
  const [options, cb] = normalizeConnectArgs(args);
  const socket = new Socket(options);
  return socket.connect(options, ...(cb ? [cb] : []));
}
export const createConnection = connect;

// The class behind the callable Socket, as a type only (node.ts names it).
export type { NetSocket };
