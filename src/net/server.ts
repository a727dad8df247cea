// A listening stream socket whose connections arrive through one multishot
// accept: one SQE, a CQE per connection.
//
// The kernel ends a multishot accept on errors it cannot retry. Running out
// of descriptors (EMFILE, ENFILE) or memory must not end a server: the
// connection waits in the kernel's backlog, and accept is re-armed after a
// short, growing delay, so established connections carry on and new ones
// are accepted as soon as descriptors free up.
import { EventEmitter } from 'node:events';
import { rmSync } from 'node:fs';
import { native } from '../native.js';
import { AcceptStreamOp, IORING_CQE_F_MORE, type AcceptSink } from '../ops/accept-multishot.js';
import { AF_INET6, AF_UNIX, SOCK_CLOEXEC, SOCK_STREAM } from '../ops/net.js';
import { CloseOp } from '../ops/open.js';
import { OpState } from '../runtime/op.js';
import { runtimeOf, validateRuntime, type Runtime } from '../runtime/runtime.js';
import { InvalidArgTypeError, OutOfRangeError } from '../errors.js';
import { validateObject } from '../validate.js';
import { validateFd } from '../ops/common.js';
import { ipEndpoint, socketAddress, unixEndpoint, type Endpoint } from './address.js';
import * as C from './constants.js';
import { ECANCELED, EMFILE, ENFILE, ENOBUFS, ENOMEM } from '../errno.js';
import { errnoError, uvHostPortError } from './errors.js';
import { Socket, type SocketOptions } from './socket.js';
import { endpointOf, validatePort } from './connect.js';
import { isIP } from 'node:net';

export interface ListenOptions extends SocketOptions {
  /** Address to bind (default: '::' where IPv6 works, else '0.0.0.0'; dual-stack as node:net). */
  host?: string;
  port?: number;
  /** A Unix socket path instead of host/port. */
  path?: string;
  /** The kernel's accept queue length (default 511, as node:net). */
  backlog?: number;
  /** SO_REUSEPORT: several servers (processes, threads) share the port. */
  reusePort?: boolean;
  /** IPv6 only, no IPv4-mapped connections on '::'. */
  ipv6Only?: boolean;
  family?: number;
}

const RETRY_MIN_MS = 10;
const RETRY_MAX_MS = 1000;

export interface AddressInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
}

export class Server extends EventEmitter implements AsyncIterable<Socket>, AcceptSink {
  readonly fd: number;
  readonly runtime: Runtime;
  readonly #socketOptions: SocketOptions;
  readonly #path: string | undefined;
  #op: AcceptStreamOp | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #weak = false;
  #retryMs = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #queue: Socket[] = [];
  #waiter: ((r: IteratorResult<Socket>) => void) | undefined;
  #address: AddressInfo | string | null = null;
  /** Counters: connections accepted; accept errors that paused accepting (EMFILE, ...). */
  readonly stats = { accepted: 0, acceptErrors: 0 };

  /** @internal Use listen(). */
  constructor(fd: number, runtime: Runtime, path: string | undefined, socketOptions: SocketOptions) {
    super();
    validateFd(fd);
    validateRuntime(runtime, 'runtime');
    if (path !== undefined && typeof path !== 'string') throw new InvalidArgTypeError('path', 'of type string', path);
    validateObject(socketOptions, 'socketOptions');
    this.fd = fd;
    this.runtime = runtime;
    // Closed with its runtime, if it is still open then.
    runtime.hold(this);
    this.#path = path;
    this.#socketOptions = { ...socketOptions, runtime };
    if (path !== undefined) this.#address = path;
    else {
      const a = socketAddress(fd, false);
      if (a && a.family !== 'Unix') this.#address = { address: a.address, family: a.family, port: a.port };
    }
    this.#arm();
  }

  get listening(): boolean {
    return !this.#closed;
  }

  /** { address, family, port }, or the path of a Unix socket. */
  address(): AddressInfo | string | null {
    return this.#closed ? null : this.#address;
  }

  #arm(): void {
    if (this.#closed || this.#op || this.#retryTimer) return;
    const op = new AcceptStreamOp(this, this.fd);
    op.weak = this.#weak;
    this.#op = op;
    this.runtime.submit(op);
  }

  /** @internal A CQE of the multishot accept (AcceptSink). */
  _onAccept(op: AcceptStreamOp, res: number, flags: number): void {
    if (res >= 0) {
      this.#retryMs = 0;
      if (this.#closed) native().closeFd(res);
      else this.#deliver(res);
    } else if (res === -EMFILE || res === -ENFILE || res === -ENOMEM || res === -ENOBUFS) {
      this.stats.acceptErrors++;
      this.#retryMs = Math.min(RETRY_MAX_MS, Math.max(RETRY_MIN_MS, this.#retryMs * 2));
      if (!this.#closed && !this.#retryTimer) {
        this.#retryTimer = setTimeout(() => {
          this.#retryTimer = undefined;
          this.#arm();
        }, this.#retryMs);
        if (this.#weak) this.#retryTimer.unref();
      }
    } else if (res !== -ECANCELED && !this.#closed) {
      this.#fail(errnoError(res, 'accept'));
    }
    if (!(flags & IORING_CQE_F_MORE) && this.#op === op) {
      this.#op = undefined;
      queueMicrotask(() => this.#arm());
    }
  }

  /** @internal The runtime gave up on the accept (AcceptSink). */
  _onAcceptAbandoned(op: AcceptStreamOp): void {
    if (op.state === OpState.Settled) return; // its last CQE still comes
    if (this.#op === op) this.#op = undefined;
    if (!this.#closed) this.#fail(errnoError(-ECANCELED, 'accept'));
  }

  #deliver(fd: number): void {
    this.stats.accepted++;
    let socket: Socket;
    try {
      socket = new Socket(fd, this.#socketOptions);
    } catch (err) {
      native().closeFd(fd);
      this.#fail(err as Error);
      return;
    }
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = undefined;
      w({ value: socket, done: false });
    } else if (this.listenerCount('connection') > 0) {
      try {
        this.emit('connection', socket);
      } catch (err) {
        process.nextTick(() => {
          throw err;
        });
      }
    } else {
      this.#queue.push(socket);
    }
  }

  #fail(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else if (this.#waiter) {
      // The iterator ends; close() tells the rest.
      const w = this.#waiter;
      this.#waiter = undefined;
      w({ value: undefined, done: true });
    }
  }

  /** Connections as they arrive; ends when the server closes. */
  async *[Symbol.asyncIterator](): AsyncIterator<Socket> {
    for (;;) {
      const s = this.#queue.shift();
      if (s) {
        yield s;
        continue;
      }
      if (this.#closed) return;
      const r = await new Promise<IteratorResult<Socket>>((resolve) => {
        this.#waiter = resolve;
      });
      if (r.done) return;
      yield r.value;
    }
  }

  /**
   * Stops accepting and closes the listening socket (a Unix socket's path
   * is removed). Connections already accepted stay open; unaccepted ones
   * waiting in the iterator's queue are closed. Resolves once closed.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    this.runtime.letGo(this);
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    for (const s of this.#queue.splice(0)) void s.close();
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = undefined;
      w({ value: undefined, done: true });
    }
    if (this.#op) this.runtime.cancel(this.#op);
    const done = (): void => {
      if (this.#path !== undefined && !this.#path.startsWith('\0')) rmSync(this.#path, { force: true });
      this.emit('close');
    };
    if (this.runtime.closed) {
      native().closeFd(this.fd);
      done();
      this.#closing = Promise.resolve();
      return this.#closing;
    }
    const close = new CloseOp(this.fd);
    // Before the CLOSE can run: from then on the number may be another thread's.
    native().disownFd(this.fd);
    this.runtime.submit(close);
    this.#closing = close.promise.then(done, (e: Error & { code?: string }) => {
      if (e.code === 'ERR_URING_CLOSED') native().closeFd(this.fd);
      done();
    });
    return this.#closing;
  }

  /** @internal Its runtime closed (Runtime.close): closes, as close() (the fd at once). */
  closeWithRuntime(): void {
    this.close().catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Whether a listening server keeps the process alive (default: yes). */
  ref(): this {
    this.#setWeak(false);
    return this;
  }
  unref(): this {
    this.#setWeak(true);
    return this;
  }
  #setWeak(weak: boolean): void {
    this.#weak = weak;
    if (this.#op) this.runtime.setWeak(this.#op, weak);
    if (this.#retryTimer) {
      if (weak) this.#retryTimer.unref();
      else this.#retryTimer.ref();
    }
  }
}

function setopt(fd: number, level: number, name: number, value: number, address: string, port: number): void {
  const rc = native().setsockopt(fd, level, name, value);
  if (rc < 0) {
    native().closeFd(fd);
    throw uvHostPortError(rc, 'listen', address, port);
  }
}

/** Binds and listens on a TCP address or Unix path; connections arrive through multishot accept. */
export async function listen(options: ListenOptions = {}): Promise<Server> {
  const now = listenNow(options);
  if (now) return now;
  // A host name: its address comes from DNS first.
  const { backlog, runtime } = listenParams(options);
  return bindAndListen(await endpointOf(options, '0.0.0.0', 'options.port'), options, backlog, runtime);
}

/**
 * listen() without waiting, where no DNS lookup is needed (a Unix path, no
 * host, or an IP literal): the socket is bound and listening when this
 * returns, as node:net's listen() binds before it returns in those cases.
 * Undefined when the host is a name (use listen()). Throws what bind(2) and
 * listen(2) fail with.
 */
export function listenNow(options: ListenOptions = {}): Server | undefined {
  const { backlog, runtime } = listenParams(options);
  // null (an http.Agent's `path: null`) is no path, as node:net's falsy check.
  if ((options.path === undefined || options.path === null) && options.host === undefined) {
    // node:net's default: '::' (dual stack), or IPv4 where IPv6 is missing.
    const port = validatePort(options.port, 'options.port');
    try {
      return bindAndListen(ipEndpoint('::', 6, port), options, backlog, runtime);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') throw err;
      return bindAndListen(ipEndpoint('0.0.0.0', 4, port), options, backlog, runtime);
    }
  }
  let ep: Endpoint;
  if (options.path !== undefined && options.path !== null) {
    if (typeof options.path !== 'string') throw new InvalidArgTypeError('options.path', 'of type string', options.path);
    ep = unixEndpoint(options.path);
  } else {
    const port = validatePort(options.port, 'options.port');
    if (typeof options.host !== 'string') throw new InvalidArgTypeError('options.host', 'of type string', options.host);
    const family = isIP(options.host);
    if (family !== 4 && family !== 6) return undefined;
    ep = ipEndpoint(options.host, family, port);
  }
  return bindAndListen(ep, options, backlog, runtime);
}

/**
 * Makes `fd`, a stream socket the program has (bound, or not: the kernel
 * then picks a port), listen; connections arrive as on any Server. The
 * Server owns the fd from then on (a Unix socket's address() is null). Throws what listen(2) says (ENOTSOCK,
 * EINVAL, ...).
 */
export function listenFd(fd: number, options: ListenOptions = {}): Server {
  validateFd(fd);
  const { backlog, runtime } = listenParams(options);
  const rc = native().listen(fd, backlog);
  if (rc < 0) throw uvHostPortError(rc, 'listen');
  // No path even for a Unix socket: its file is not this Server's to remove at close.
  return new Server(fd, runtime, undefined, options);
}

function listenParams(options: ListenOptions): { backlog: number; runtime: Runtime } {
  if (options === null || typeof options !== 'object')
    throw new InvalidArgTypeError('options', 'of type object', options);
  const backlog = options.backlog ?? 511;
  if (!Number.isInteger(backlog) || backlog < 0)
    throw new OutOfRangeError('options.backlog', 'an integer >= 0', backlog);
  return { backlog, runtime: runtimeOf(options.runtime) };
}

function bindAndListen(ep: Endpoint, options: ListenOptions, backlog: number, runtime: Runtime): Server {
  const fd = native().socket(ep.domain, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw uvHostPortError(fd, 'listen', ep.address, ep.port);
  if (ep.domain !== AF_UNIX) {
    setopt(fd, C.SOL_SOCKET, C.SO_REUSEADDR, 1, ep.address, ep.port);
    if (options.reusePort) setopt(fd, C.SOL_SOCKET, C.SO_REUSEPORT, 1, ep.address, ep.port);
    if (ep.domain === AF_INET6 && options.ipv6Only !== undefined)
      setopt(fd, C.IPPROTO_IPV6, C.IPV6_V6ONLY, options.ipv6Only ? 1 : 0, ep.address, ep.port);
  }
  let rc = native().bind(fd, ep.sockaddr);
  if (rc === 0) rc = native().listen(fd, backlog);
  if (rc < 0) {
    native().closeFd(fd);
    throw uvHostPortError(rc, 'listen', ep.address, ep.port);
  }
  return new Server(fd, runtime, options.path, options);
}
