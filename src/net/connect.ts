// Connecting a stream socket: the options, where they point (a Unix path,
// or a host resolved through DNS and a port), and node's port validation.
import { native } from '../native.js';
import { ConnectOp, SOCK_CLOEXEC, SOCK_STREAM } from '../ops/net.js';
import { runtimeOf } from '../runtime/runtime.js';
import { InvalidArgTypeError, OutOfRangeError, SocketBadPortError, type SystemErrorInfo } from '../errors.js';
import { ipEndpoint, resolveHost, unixEndpoint, type Endpoint } from './address.js';
import { ETIMEDOUT } from '../errno.js';
import { hostPortError } from './errors.js';
import { SOL_SOCKET, SO_REUSEADDR } from './constants.js';
import { Socket, type SocketOptions } from './socket.js';

export interface ConnectOptions extends SocketOptions {
  /** Host name or IP address (default 'localhost'). */
  host?: string;
  port?: number;
  /** A Unix socket path instead of host/port. */
  path?: string;
  /** 4 or 6: the address family to resolve `host` to. */
  family?: number;
  signal?: AbortSignal;
  /** Milliseconds to wait for the connection (ETIMEDOUT after). */
  timeout?: number;
  /** TCP_NODELAY on the new socket (default false, as node:net). */
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
}

/**
 * A port as node's validatePort takes it: a number or a non-blank numeric
 * string, an integer in 0..65535 (1..65535 without `allowZero`). `name` is
 * what the message calls it: node says 'Port' for connect() and send(),
 * 'options.port' for listen().
 */
export function validatePort(port: unknown, name = 'Port', allowZero = true): number {
  const n = typeof port === 'number' ? port : typeof port === 'string' && port.trim() !== '' ? Number(port) : NaN;
  if (n !== n >>> 0 || n > 0xffff || (n === 0 && !allowZero)) throw new SocketBadPortError(name, port, allowZero);
  return n | 0;
}

/** Where `options` point: resolved through DNS when `host` is a name. */
export async function endpointOf(
  options: { host?: string; port?: number; path?: string | null; family?: number },
  defaultHost: string,
  portName = 'Port',
): Promise<Endpoint> {
  // null (an http.Agent's `path: null`) is no path, as node:net's falsy check.
  if (options.path !== undefined && options.path !== null) {
    if (typeof options.path !== 'string') throw new InvalidArgTypeError('options.path', 'of type string', options.path);
    return unixEndpoint(options.path);
  }
  const port = validatePort(options.port, portName);
  const host = options.host ?? defaultHost;
  if (typeof host !== 'string') throw new InvalidArgTypeError('options.host', 'of type string', host);
  const { address, family } = await resolveHost(host, options.family);
  return ipEndpoint(address, family, port);
}

/** Connects a TCP or Unix stream socket. */
export async function connect(options: ConnectOptions): Promise<Socket> {
  if (options === null || typeof options !== 'object')
    throw new InvalidArgTypeError('options', 'of type object', options);
  const { signal, timeout } = options;
  runtimeOf(options.runtime);
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw new InvalidArgTypeError('options.signal', 'an instance of AbortSignal', signal);
  if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout > 0)))
    throw new OutOfRangeError('options.timeout', 'a number > 0', timeout);
  const ep = await endpointOf(options, 'localhost');
  return connectTo(ep, options);
}

/**
 * Connects to a resolved endpoint; from `local` (bound first, as node:net's
 * localAddress / localPort) when given, whose bind(2) errors name 'bind'.
 */
export async function connectTo(ep: Endpoint, options: ConnectOptions, local?: Endpoint): Promise<Socket> {
  const runtime = runtimeOf(options.runtime);
  const fd = native().socket(ep.domain, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw hostPortError(fd, 'connect', ep.address, ep.port || undefined);
  if (local) {
    // As libuv's bind of a TCP socket: SO_REUSEADDR first (a port in
    // TIME_WAIT binds; one a listener holds still fails with EADDRINUSE).
    native().setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    const rc = native().bind(fd, local.sockaddr);
    if (rc < 0) {
      native().closeFd(fd);
      throw hostPortError(rc, 'bind', local.address, local.port || undefined);
    }
  }
  const info: SystemErrorInfo = { address: ep.address, port: ep.port || undefined };
  const op = new ConnectOp(fd, ep.sockaddr, info);
  op.signal = options.signal;
  if (options.timeout !== undefined) op.timeoutMs = options.timeout;
  runtime.submit(op);
  try {
    await op.promise;
  } catch (err) {
    native().closeFd(fd);
    const e = err as Error & { errno?: number; code?: string };
    if (e.code === 'ERR_URING_TIMEOUT') throw hostPortError(-ETIMEDOUT, 'connect', ep.address, ep.port || undefined);
    if (e.errno !== undefined) throw hostPortError(e.errno, 'connect', ep.address, ep.port || undefined);
    throw err;
  }
  const socket = new Socket(fd, { ...options, runtime });
  if (options.noDelay) socket.setNoDelay(true);
  if (options.keepAlive) socket.setKeepAlive(true, options.keepAliveInitialDelay ?? 0);
  return socket;
}
