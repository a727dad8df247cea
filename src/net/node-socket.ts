// node:net's Socket as a drop-in: a stream.Duplex over a uring socket
// (socket.ts), with node:net's argument forms, events and properties; and
// connect / createConnection.
import { Duplex } from 'node:stream';
import * as nodeNet from 'node:net';
import type { Runtime } from '../runtime/runtime.js';
import {
  abortError,
  InvalidArgTypeError,
  InvalidArgValueError,
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
import { connectTo } from './connect.js';
import { errnoError, hostPortError } from './errors.js';
import { ECANCELED, EINVAL } from '../errno.js';
import { CANCELLED_WRITE_ERRS } from '../node-version.js';
import { ipEndpoint, unixEndpoint } from './address.js';
import { isBlockList, lookupAndConnect, type TcpOptions } from './node-lookup.js';
import { OnreadReceiver, onreadOption, type OnreadOption } from './node-onread.js';
import { callableClass, nodeInstead } from './node-common.js';
import type { NetServer } from './node-server.js';

// The timers at load: a program that fakes the global ones
// (@sinonjs/fake-timers, jest) would hold back write-behind's sends and
// socket timeouts; node:net's run on node's internal timers, never faked.
const { setImmediate, setTimeout, clearTimeout } = globalThis;

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
  /** Addresses not to connect to (node:net's; node 22.13, 23.4 and later, as the running node). */
  blockList?: nodeNet.BlockList;
  /** Received bytes into this buffer and to this callback instead of 'data' events (node:net's). */
  onread?: OnreadOption;
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

/**
 * connect()'s argument forms, as node:net's types give them: (options[, cb]),
 * (port[, host][, cb]), (path[, cb]). One signature over a union of tuples
 * rather than overloads, so that a call on `nodeNet | uringNet` (code that
 * picks either module) still type-checks: TypeScript cannot call a union of
 * two overloaded functions.
 */
export type ConnectArgs =
  | [options: nodeNet.NetConnectOpts | NetConnectOptions, connectionListener?: ConnectListener]
  | [port: number, host?: string, connectionListener?: ConnectListener]
  | [port: number, connectionListener?: ConnectListener]
  | [path: string, connectionListener?: ConnectListener];

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

/** A chunk of _write/_writev as bytes: a string encoded, an empty one as kEmpty (no Buffer made). */
function bytesOf(chunk: Buffer | string, encoding: BufferEncoding): Buffer {
  if (typeof chunk !== 'string') return chunk;
  return chunk.length === 0 ? kEmpty : Buffer.from(chunk, encoding);
}

/** The bytes a chunk of the stream's buffer will be. */
function byteLengthOf(chunk: Buffer | string, encoding: BufferEncoding): number {
  return typeof chunk === 'string' ? Buffer.byteLength(chunk, encoding) : chunk.length;
}
const kShutdownStarted = Symbol('kShutdownStarted');
const kEmittingEnd = Symbol('kEmittingEnd');
/** The longest Unix socket path, in bytes (sun_path less its NUL). */
export const MAX_UNIX_PATH = 107;

/**
 * @internal The uring socket under `s`, or undefined (not one of ours, not
 * connected yet, or closed): for a sender that moves bytes to the socket's
 * fd by itself (uring serve's splice).
 */
export let uringSocketOf: (s: unknown) => NativeSocket | undefined;
/** The receiver of a socket without `onread` (made in NetSocket's static block, for its private fields). */
let StreamReceiver: new (socket: NetSocket) => Receiver;

/** The peer's FIN, after the jobs its data caused (StreamReceiver.end). */
function onEof(socket: NetSocket): void {
  if (socket.destroyed) return;
  socket.push(null);
  // As node:net: a read(0) after the EOF emits 'end' now if nothing is
  // buffered, even on a socket nobody reads.
  socket.read(0);
}

/** A node:net Socket whose bytes move through io_uring. */
class NetSocket extends Duplex {
  static {
    uringSocketOf = (s) => (typeof s === 'object' && s !== null && #handle in s ? s.#handle : undefined);
    // One small object with methods on its prototype, not three closures
    // (and their context) per socket: what an idle connection costs counts.
    StreamReceiver = class implements Receiver {
      constructor(readonly socket: NetSocket) {}
      data(chunk: Buffer): boolean {
        const s = this.socket;
        s.#bytesRead += chunk.length;
        s.#touch();
        return s.push(chunk);
      }
      end(): void {
        // libuv hands node the data and the EOF in separate callbacks, each
        // followed by the ticks and promise jobs it caused: an http server
        // answers pipelined requests (in promise jobs, as Koa does) before it
        // sees the FIN and ends the socket. The ring's CQEs for both come in
        // one drain, so the EOF waits until those jobs have run.
        setImmediate(onEof, this.socket);
      }
      error(err: Error): void {
        this.socket.destroy(err);
      }
    };
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
  /**
   * @internal The accepting Server's bookkeeping, run just before 'close'.
   * Not a 'close' listener: node:net counts its connections without one,
   * and node:http hands a CONNECT or upgrade socket over with no listener
   * of anyone else's (Node's test-http-connect counts them).
   */
  _serverOnClose: (() => void) | undefined;
  readonly #receiver!: Receiver; // `!`: the constructor may return node's Socket instead
  /** The receiver of a socket made with the `onread` option (node-onread.ts). */
  #onread: OnreadReceiver | undefined;

  constructor(options: SocketConstructorOptions & nodeNet.SocketConstructorOpts = {}) {
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
      // As node:net: strings reach _write/_writev as they are, and are
      // encoded there (bytesOf); an empty one (node:http ends every
      // response with write('')) then costs no Buffer and no bytes.
      decodeStrings: false,
      ...(options.highWaterMark !== undefined ? { highWaterMark: options.highWaterMark } : {}),
      ...(options.writableHighWaterMark !== undefined ? { writableHighWaterMark: options.writableHighWaterMark } : {}),
      ...(options.readableHighWaterMark !== undefined ? { readableHighWaterMark: options.readableHighWaterMark } : {}),
    });
    this.#runtime = options.runtime;
    this.#behindLimit = this.writableHighWaterMark;
    // After every push() Readable schedules a tick (maybeReadMore) that
    // calls read(0), hence _read, to ask for more: a pull for streams that
    // read on request. This one's recv keeps running until push() returns
    // false, and read() calls _read itself when the consumer drains below
    // the mark, so the tick only cost a nextTick, a read(0) and a _read per
    // received chunk. Marked as already scheduled (the flag is reset only by
    // that tick), Readable never schedules it.
    (this as unknown as { _readableState: { readingMore: boolean } })._readableState.readingMore = true;
    const blockList = (options as { blockList?: unknown }).blockList;
    if (blockList && isBlockList) {
      if (!isBlockList(blockList)) throw new InvalidArgTypeError('options.blockList', 'an net.BlockList', blockList);
      this.blockList = blockList as nodeNet.BlockList;
    }
    const onread = onreadOption((options as { onread?: unknown }).onread);
    if (onread) {
      this.#onread = new OnreadReceiver(this, onread, (n) => {
        this.#bytesRead += n;
        this.#touch();
      });
    }
    this.#receiver = this.#onread ?? new StreamReceiver(this);
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

  /**
   * Connects: (port[, host][, cb]), (path[, cb]) or (options[, cb]), as
   * node:net; a host name through `options.lookup` (node-lookup.ts). A
   * socket that was destroyed (or closed) connects again as a new one.
   */
  connect(...args: ConnectArgs): this;
  connect(...args: unknown[]): this {
    const [options, cb] = normalizeConnectArgs(args);
    if (this.destroyed && !this.connecting) this.#renew();
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
    }
    this.#connectRuntime = this.#runtime ?? options.runtime;
    this.connecting = true;
    this.#connectAbort = new AbortController();
    if (path) {
      if (Buffer.byteLength(path as string) > MAX_UNIX_PATH) {
        // As node 24's (libuv's no-truncate bind): EINVAL, an 'error' event.
        process.nextTick(() => this._connectFailed(hostPortError(-EINVAL, 'connect', path as string)));
        return this;
      }
      const ep = unixEndpoint(path as string);
      connectTo(ep, this.#connectOptions(0)).then(
        (handle) => this.#connected(handle),
        (err: Error) => this._connectFailed(err),
      );
    } else {
      try {
        lookupAndConnect(this, options as TcpOptions);
      } catch (err) {
        // Bad arguments: nothing started.
        this.connecting = false;
        this.#connectAbort = undefined;
        throw err;
      }
    }
    if (options.timeout) this.setTimeout(options.timeout);
    const tcp = options as TcpConnectOptions;
    if (tcp.noDelay) this.#noDelay = true;
    if (tcp.keepAlive) this.#keepAlive = [true, keepAliveDelay(tcp.keepAliveInitialDelay)];
    return this;
  }

  #connectRuntime: Runtime | undefined;
  #connectOptions(timeout: number): { signal: AbortSignal; runtime?: Runtime; timeout?: number } {
    const runtime = this.#connectRuntime;
    return {
      signal: this.#connectAbort!.signal,
      ...(runtime ? { runtime } : {}),
      ...(timeout > 0 ? { timeout } : {}),
    };
  }

  /** @internal node-lookup.ts's Connector: one connect attempt. */
  _attempt(
    address: string,
    port: number,
    family: 4 | 6,
    localAddress: string | undefined,
    localPort: number | undefined,
    timeout: number,
  ): Promise<void> {
    const local =
      localAddress !== undefined || localPort
        ? ipEndpoint(localAddress ?? (family === 6 ? '::' : '0.0.0.0'), family, localPort ?? 0)
        : undefined;
    return connectTo(ipEndpoint(address, family, port), this.#connectOptions(timeout), local).then(
      (handle) => this.#connected(handle),
      (err: Error & { syscall?: string; localAddress?: string; localPort?: number }) => {
        // As node:net: a connect from a given address and port says which.
        if (local && localPort && err.syscall === 'connect') {
          err.message += ` - Local (${local.address}:${localPort})`;
          err.localAddress = local.address;
          err.localPort = localPort;
        }
        throw err;
      },
    );
  }

  /** @internal node-lookup.ts's Connector: the connect failed. */
  _connectFailed(err: Error): void {
    this.connecting = false;
    if (!this.destroyed) this.destroy(err);
  }

  #connected(handle: NativeSocket): void {
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
    this.#pendingBytes = 0; // counted in #handed once written
    w?.();
    const f = this.#pendingFinal;
    this.#pendingFinal = undefined;
    f?.();
    // As node:net: start reading unless the user paused.
    if (this.readableFlowing !== false) this.read(0);
  }

  /**
   * Makes a destroyed socket new again for connect(), as node:net's: the
   * stream's state, the counters and the handle of the last connection go.
   */
  #renew(): void {
    if (this.write !== NetSocket.prototype.write) this.write = NetSocket.prototype.write;
    (this as unknown as { _undestroy(): void })._undestroy();
    this.#handle = undefined;
    this.#readWanted = false;
    this.#hadError = false;
    this.#resetting = false;
    this.#bytesRead = 0;
    this.#handed = 0;
    this.#pendingBytes = 0;
    this[kShutdownStarted] = false;
    (this as { autoSelectFamilyAttemptedAddresses?: string[] }).autoSelectFamilyAttemptedAddresses = undefined;
  }

  /** Addresses this socket does not connect to (node:net's blockList option, on the lines that have it). */
  declare blockList: nodeNet.BlockList | undefined;

  /**
   * The addresses tried by the last connect with autoSelectFamily, as
   * `address:port` (node:net's). Typed as node's types have it, so that ours
   * is assignable to node's Socket; unset otherwise, as in node.
   */
  declare autoSelectFamilyAttemptedAddresses: string[];

  override pause(): this {
    this.#onread?.pause(this.#handle);
    return super.pause();
  }

  override resume(): this {
    this.#onread?.resume(this.#handle);
    return super.resume();
  }

  override _read(): void {
    this.#readWanted = true;
    this.#handle?.resumeReading();
  }

  override _write(chunk: Buffer | string, encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (!this.#handle) {
      if (this.connecting) {
        this.#pendingWrite = () => this._write(chunk, encoding, cb);
        this.#pendingWriteCb = cb;
        this.#pendingBytes = byteLengthOf(chunk, encoding);
        return;
      }
      cb(new SocketClosedError());
      return;
    }
    const h = this.#handle;
    const data = bytesOf(chunk, encoding);
    this.#handed += data.length;
    if (h.acceptsWrites && h.writableLength + data.length <= this.#behindLimit) {
      if (data.length !== 0) {
        this.#corkTurn(h);
        h.writeCb(data, this.#queuedWriteCb());
      }
      cb();
      return;
    }
    h.writeCb(data, this.#afterWrite(cb));
  }

  /**
   * Write-behind: a write that fits, with what the uring socket still has
   * queued, under the writable high-water mark is done as far as the stream
   * is concerned once queued, as node:net's are once its synchronous
   * writev() returns: the stream's callback runs now (Writable defers its
   * bookkeeping to a tick, as for node's), not one ring round trip later.
   * That is what lets node:http write the next pipelined response (it waits
   * for the last one's callback) and ws its next frame in the same turn, so
   * they leave in one sendmsg. Past the mark callbacks wait for the kernel
   * again, which bounds what is queued here. A queued write that fails
   * later destroys the socket with its error (as a failed write's callback
   * would have).
   */
  #queuedWriteCb(): (err?: Error | null) => void {
    // Made at the first write, not per socket: a connection that never
    // writes does not pay for it.
    return (this.#afterQueuedWrite ??= (err?: Error | null): void => {
      this.#touch();
      if (err && !this.destroyed) this.destroy(err);
    });
  }
  #afterQueuedWrite: ((err?: Error | null) => void) | undefined;
  /** The writable high-water mark (fixed at construction). */
  #behindLimit = 0;

  /**
   * Write-behind writes wait in the uring socket until this turn's
   * setImmediate: callbacks that run a tick later write more (node:http's
   * next pipelined response goes out from the last one's 'finish'), and
   * all of it leaves in one send. One setImmediate serves every socket.
   */
  #corked = false;
  #corkTurn(h: NativeSocket): void {
    if (this.#corked) return;
    this.#corked = true;
    h.cork();
    if (toUncork.push(this) === 1) setImmediate(uncorkAll);
  }
  /** @internal Sends what this turn's writes queued (uncorkAll). */
  _uncork(): void {
    this.#corked = false;
    this.#handle?.uncork();
  }
  /** Bytes given to the uring socket; those of a write waiting for the connection. */
  #handed = 0;
  #pendingBytes = 0;

  // Writable hands _write/_writev the same callback every time (its
  // state's onwrite): one wrapper per socket, not a closure per write.
  #writeCbFor: ((err?: Error | null) => void) | undefined;
  #writeCbWrapped: ((err?: Error | null) => void) | undefined;
  #afterWrite(cb: (err?: Error | null) => void): (err?: Error | null) => void {
    if (cb !== this.#writeCbFor || !this.#writeCbWrapped) {
      this.#writeCbFor = cb;
      // As node:net: a write cut short by destroy() calls back without an
      // error on node 20 (the stream's buffered writes then fail with
      // ERR_STREAM_DESTROYED), with ECANCELED from node 22 on; never with
      // the close's ERR_SOCKET_CLOSED.
      this.#writeCbWrapped = (err) => {
        this.#touch();
        cb(err && this.destroyed ? (CANCELLED_WRITE_ERRS ? errnoError(-ECANCELED, 'write') : null) : err);
      };
    }
    return this.#writeCbWrapped;
  }

  override _writev(
    chunks: { chunk: Buffer | string; encoding: BufferEncoding }[],
    cb: (err?: Error | null) => void,
  ): void {
    if (!this.#handle) {
      if (this.connecting) {
        this.#pendingWrite = () => this._writev(chunks, cb);
        this.#pendingWriteCb = cb;
        let n = 0;
        for (const c of chunks) n += byteLengthOf(c.chunk, c.encoding);
        this.#pendingBytes = n;
        return;
      }
      cb(new SocketClosedError());
      return;
    }
    const h = this.#handle;
    // The chunks go to the uring socket corked, so they leave in one send
    // (not the first ones at once and the rest later); the last one with
    // bytes is held back until it is known whether the whole write fits
    // under the mark (write-behind) and so which callback it carries.
    const corked = this.#corked;
    if (!corked) h.cork();
    let last: Buffer | undefined;
    let n = 0;
    for (let i = 0; i < chunks.length; i++) {
      const c = chunks[i]!;
      const data = bytesOf(c.chunk, c.encoding);
      if (data.length === 0) continue;
      if (last) h.writeCb(last);
      last = data;
      n += data.length;
    }
    this.#handed += n;
    if (h.acceptsWrites && h.writableLength + (last?.length ?? 0) <= this.#behindLimit) {
      if (last) {
        this.#corkTurn(h);
        h.writeCb(last, this.#queuedWriteCb());
      } else if (!corked) h.uncork();
      cb();
      return;
    }
    h.writeCb(last ?? kEmpty, this.#afterWrite(cb));
    if (!corked) h.uncork();
  }

  /** _final's shutdown is under way or done; 'end' is being emitted (writeAfterFIN's questions). */
  [kShutdownStarted] = false;
  [kEmittingEnd] = false;

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.#handle) {
      if (this.connecting) {
        this.#pendingFinal = () => this._final(cb);
        return;
      }
      cb();
      return;
    }
    this[kShutdownStarted] = true;
    const h = this.#handle;
    const ended = h.end();
    // The peer's FIN came first and every write is in the kernel: node's
    // shutdown completes within this turn, so its socket is finished and
    // (autoDestroy) destroyed before anything else runs; ours goes through
    // an io-wq worker, and a write from a callback meanwhile (ws checks
    // `socket.destroyed` before sending a compressed frame) would meet
    // writeAfterFIN instead. Done now as node's; the close waits for the
    // shutdown, and a shutdown error is moot with the peer gone.
    if (this.readableEnded && h.writableLength === 0) {
      ended.catch(() => {});
      cb();
      return;
    }
    ended.then(
      () => cb(),
      (err: Error & { code?: string }) => {
        this[kShutdownStarted] = false;
        // The peer already went away (ENOTCONN): ending is moot, not an error.
        // Destroyed meanwhile: node:net's shutdown calls back without an
        // error too, and the end() callback gets ERR_STREAM_DESTROYED.
        if (err.code === 'ENOTCONN' || this.destroyed) cb();
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
      this.once('close', () => {
        this.#pendingBytes = 0;
        pendingCb(new SocketClosedBeforeConnectionError());
      });
    }
    this.#connectAbort?.abort();
    this.connecting = false;
    const h = this.#handle;
    // What write-behind queued goes to the kernel ahead of the close, as
    // node:net's writes were already written by now.
    if (this.#corked) this._uncork();
    // 'close' a loop turn on, as node:net's comes from libuv's close
    // callback: the ring may reap the close within this turn's ticks, and
    // undici, destroying a socket, closes its client in a tick before the
    // 'close' it takes for a disconnect (its client-pipelining.js).
    const emitClose = () =>
      setImmediate(() => {
        this._serverOnClose?.();
        this.emit('close', this.#hadError);
      });
    // As node:net: the error goes to the stream at once (its 'error' on the
    // next tick) and 'close' follows the fd's close. Libraries race the two
    // against other ticks: Koa (on-finished on the socket's 'error' against
    // stream.pipeline's callback) reported an error twice when the 'error'
    // waited for the close. A failing close is not reported, as node's.
    cb(err);
    if (!h) {
      emitClose();
      return;
    }
    (this.#resetting ? h._reset() : h.close()).then(emitClose, emitClose);
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
    this.#timeoutMs = ms;
    // node:http turns the keep-alive timeout off when a request comes
    // (setTimeout(0)) and on again after its response (setTimeout(ms)): one
    // Timeout per socket, disarmed and refreshed, not a new one per request.
    // A disarmed one that fires finds #timeoutMs changed and does nothing.
    if (ms === 0 || this.destroyed) return this;
    if (this.#timer && this.#timerMs === ms) {
      this.#timer.refresh();
      return this;
    }
    this.#clearTimer();
    this.#timerMs = ms;
    this.#timer = setTimeout((this.#onTimer ??= () => this.#timedOut()), ms);
    this.#timer.unref();
    return this;
  }
  #timerMs = 0;
  /** The timer's callback, made with the first timer (most sockets never set one). */
  #onTimer: (() => void) | undefined;
  #timedOut(): void {
    if (this.#timeoutMs === this.#timerMs && !this.destroyed) this.emit('timeout');
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
    // A timer that fired is re-armed by activity, as node:net's.
    if (this.#timeoutMs > 0 && this.#timer) this.#timer.refresh();
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
   * those given to the uring socket (or waiting for the connection), plus
   * the stream's buffer, strings by their encoded length.
   */
  get bytesWritten(): number {
    if (!(#handle in this)) return undefined as unknown as number;
    let n = this.#handed + this.#pendingBytes;
    const buffered = (this as unknown as { writableBuffer: { chunk: Buffer | string; encoding: BufferEncoding }[] })
      .writableBuffer;
    for (const c of buffered) n += byteLengthOf(c.chunk, c.encoding);
    return n;
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
  // undefined without a connection, as node's; typed as node:net's Socket types it.
  get bufferSize(): number {
    if (!(#handle in this)) return undefined!;
    return !this.destroyed && (this.#handle || this.connecting) ? this.writableLength : undefined!;
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
  /**
   * node:net's libuv handle: always null here (programs and tests read it to
   * see a socket is closed). Not the uring socket: node's own modules call
   * libuv methods on a handle they find (http's readStart/readStop,
   * getAsyncId), so a socket with none is what they must see.
   */
  declare _handle: null;
}
// A plain prototype value, as node's own initial `this._handle = null`.
Object.defineProperty(NetSocket.prototype, '_handle', { value: null, writable: true, configurable: true });
export const Socket = callableClass(NetSocket, 'Socket');
export type Socket = NetSocket;
/** node:net's old name for Socket. */
export const Stream = Socket;
export type Stream = NetSocket;

/** Sockets whose write-behind writes wait for this turn's setImmediate. */
let toUncork: NetSocket[] = [];
function uncorkAll(): void {
  const socks = toUncork;
  toUncork = [];
  for (const s of socks) s._uncork();
}

/**
 * After the peer's FIN, a socket that is not half-open ends its side too;
 * a write after that fails as node:net's does (EPIPE, and the socket is
 * destroyed) rather than with the stream's vaguer 'write after end'. Set
 * per socket only then, as node:net does, so no write pays for the check.
 */
function onReadableEnd(this: Socket): void {
  if (this.allowHalfOpen) return;
  this.write = writeAfterFIN as Socket['write'];
  // The first 'end' listener: the tick ends after the program's.
  this[kEmittingEnd] = true;
  process.nextTick(endEmitted, this);
}
function endEmitted(socket: Socket): void {
  socket[kEmittingEnd] = false;
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
  // node:net destroys the socket with the error: an 'error' event, unless
  // it is destroyed already, as it is once its 'end' has been emitted and
  // its own FIN sent (autoDestroy). Node's shutdown completes within the
  // event loop turn that sends the FIN; uring's a few ticks later, so the
  // peer's answer to the FIN (its 'end', which the program may answer with
  // this write) can come first. So past its 'end', a socket whose shutdown
  // has started is destroyed here without the error, as node's would be by
  // now (everything written before went out: _final runs after the writes).
  // The write fails through its callback either way.
  if (this[kEmittingEnd] || !this[kShutdownStarted]) this.destroy(err);
  else this.destroy();
  return false;
}

/** net.connect / net.createConnection: a Socket, connecting. */
export function connect(...args: ConnectArgs): Socket;
export function connect(...args: unknown[]): Socket {
  if (nodeInstead()) return nodeNet.connect(...(args as Parameters<typeof nodeNet.connect>)) as unknown as Socket;
  const [options, cb] = normalizeConnectArgs(args);
  const socket = new Socket(options);
  return cb ? socket.connect(options, cb) : socket.connect(options);
}
export const createConnection = connect;

// The class behind the callable Socket, as a type only (node.ts names it).
export type { NetSocket };
