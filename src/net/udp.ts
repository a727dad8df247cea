// UDP sockets: sendmsg to an address, recvmsg with the sender's.
import { native } from '../native.js';
import { sockaddr, type SocketAddress } from '../ring/structs.js';
import { AF_INET, AF_INET6, RecvmsgOp, SendmsgOp, SOCK_CLOEXEC, SOCK_DGRAM } from '../ops/net.js';
import { CloseOp } from '../ops/open.js';
import { validateBuffer, validateFd, validateOptions } from '../ops/common.js';
import { runtimeOf, validateRuntime, type Runtime } from '../runtime/runtime.js';
import { InvalidArgTypeError, InvalidArgValueError, OutOfRangeError, SocketClosedError } from '../errors.js';
import { validateInteger } from '../validate.js';
import { resolveHost, socketAddress } from './address.js';
import * as C from './constants.js';
import { ECANCELED } from '../errno.js';
import { hostPortError, uvHostPortError } from './errors.js';
import { validatePort } from './connect.js';

export interface UdpOptions {
  /** 'udp4' (default) or 'udp6'. */
  type?: 'udp4' | 'udp6';
  /** Address to bind (default: any address of the type). */
  host?: string;
  /** Port to bind (default 0: the kernel picks one). */
  port?: number;
  reuseAddr?: boolean;
  reusePort?: boolean;
  ipv6Only?: boolean;
  runtime?: Runtime;
  /** Largest datagram the iterator receives whole (default 65536; longer ones come truncated). */
  recvBufferSize?: number;
}

export interface Message {
  data: Buffer;
  /** The sender. */
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
  /** The datagram was longer than the receive buffer; `data` is its start. */
  truncated: boolean;
}

export class UdpSocket implements AsyncIterable<Message> {
  readonly fd: number;
  readonly type: 'udp4' | 'udp6';
  readonly runtime: Runtime;
  readonly recvBufferSize: number;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** Ops in flight on this.fd: close() cancels them (a send waiting for buffer space, a recv waiting for data). */
  readonly #pending = new Set<RecvmsgOp | SendmsgOp>();

  /** @internal Use bindUdp(). */
  constructor(fd: number, type: 'udp4' | 'udp6', runtime: Runtime, recvBufferSize: number) {
    validateFd(fd);
    if (type !== 'udp4' && type !== 'udp6') throw new InvalidArgValueError('type', type, "must be 'udp4' or 'udp6'");
    validateRuntime(runtime, 'runtime');
    validateInteger(recvBufferSize, 'recvBufferSize', 1, 0x7fffffff);
    this.fd = fd;
    this.type = type;
    this.runtime = runtime;
    this.recvBufferSize = recvBufferSize;
    // Closed with its runtime, if it is still open then.
    runtime.hold(this);
  }

  address(): SocketAddress | null {
    return this.#closed ? null : socketAddress(this.fd, false);
  }

  /** Sends one datagram to host:port; resolves with the bytes sent. */
  async send(
    data: ArrayBufferView | string | readonly (ArrayBufferView | string)[],
    port: number,
    host?: string,
  ): Promise<number> {
    if (this.#closed) throw new SocketClosedError();
    const views = (Array.isArray(data) ? data : [data]).map((d: ArrayBufferView | string) => {
      if (typeof d === 'string') return Buffer.from(d);
      validateBuffer(d, 'data');
      return d;
    });
    validatePort(port, 'Port', false);
    const target = host ?? (this.type === 'udp6' ? '::1' : '127.0.0.1');
    if (typeof target !== 'string') throw new InvalidArgTypeError('host', 'of type string', host);
    const { address } = await resolveHost(target, this.type === 'udp6' ? 6 : 4);
    // close() may have come during the await (even for an IP literal: one
    // microtask), and then this.fd is closed or already another socket's.
    // Checked here, with nothing awaited between the check and the submit:
    // a send the ring has taken is ahead of close()'s CLOSE, and holds the
    // file until it completes.
    if (this.#closed) throw new SocketClosedError();
    const op = new SendmsgOp(this.fd, views, sockaddr({ host: address, port }), C.MSG_NOSIGNAL);
    this.#pending.add(op);
    this.runtime.submit(op);
    try {
      return await op.promise;
    } catch (err) {
      const e = err as Error & { errno?: number };
      if (e.errno === -ECANCELED && this.#closed) throw new SocketClosedError();
      if (e.errno !== undefined) throw hostPortError(e.errno, 'send', address, port);
      throw err;
    } finally {
      this.#pending.delete(op);
    }
  }

  /** Receives one datagram into `buffer` (default: a new one of recvBufferSize bytes). */
  async recv(buffer?: Uint8Array, options?: { signal?: AbortSignal }): Promise<Message> {
    if (this.#closed) throw new SocketClosedError();
    const buf = buffer ?? Buffer.allocUnsafe(this.recvBufferSize);
    validateBuffer(buf);
    validateOptions(options);
    const op = new RecvmsgOp(this.fd, buf, 0);
    op.signal = options?.signal;
    this.#pending.add(op);
    this.runtime.submit(op);
    try {
      const d = await op.promise;
      const from = d.from ?? { family: 'IPv4' as const, address: '', port: 0 };
      const data = Buffer.from(buf.buffer, buf.byteOffset, d.bytes);
      return {
        data,
        address: from.address,
        port: from.port,
        family: from.family === 'IPv6' ? 'IPv6' : 'IPv4',
        truncated: d.truncated,
      };
    } catch (err) {
      const e = err as Error & { errno?: number };
      if (e.errno === -ECANCELED && this.#closed) throw new SocketClosedError();
      if (e.errno !== undefined) throw hostPortError(e.errno, 'recvmsg');
      throw err;
    } finally {
      this.#pending.delete(op);
    }
  }

  /** Datagrams as they arrive, each in its own Buffer; ends when the socket closes. */
  async *[Symbol.asyncIterator](): AsyncIterator<Message> {
    while (!this.#closed) {
      try {
        yield await this.recv();
      } catch (err) {
        if (this.#closed) return;
        throw err;
      }
    }
  }

  setBroadcast(flag: boolean): void {
    // After close() the fd number may be another socket's.
    if (this.#closed) throw new SocketClosedError();
    native().setsockopt(this.fd, C.SOL_SOCKET, C.SO_BROADCAST, flag ? 1 : 0);
  }

  /** @internal Its runtime closed (Runtime.close): closes, as close() (the fd at once). */
  closeWithRuntime(): void {
    this.close().catch(() => {});
  }

  /** Closes the socket; pending receives and sends end with ERR_SOCKET_CLOSED (the iterator finishes). */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    this.runtime.letGo(this);
    for (const op of this.#pending) this.runtime.cancel(op);
    if (this.runtime.closed) {
      native().closeFd(this.fd);
      this.#closing = Promise.resolve();
      return this.#closing;
    }
    const close = new CloseOp(this.fd);
    // Before the CLOSE can run: from then on the number may be another thread's.
    native().disownFd(this.fd);
    this.runtime.submit(close);
    this.#closing = close.promise.catch(() => {
      native().closeFd(this.fd);
    });
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Creates a UDP socket bound to host:port (port 0: the kernel picks). */
export async function bindUdp(options: UdpOptions = {}): Promise<UdpSocket> {
  if (options === null || typeof options !== 'object')
    throw new InvalidArgTypeError('options', 'of type object', options);
  const runtime = runtimeOf(options.runtime);
  const type = options.type ?? 'udp4';
  if (type !== 'udp4' && type !== 'udp6')
    throw new InvalidArgValueError('options.type', type, "must be 'udp4' or 'udp6'");
  const recvBufferSize = options.recvBufferSize ?? 65536;
  if (!Number.isInteger(recvBufferSize) || recvBufferSize < 1)
    throw new OutOfRangeError('options.recvBufferSize', 'an integer >= 1', recvBufferSize);
  const port = validatePort(options.port ?? 0, 'Port');
  const family = type === 'udp6' ? 6 : 4;
  const { address } = await resolveHost(options.host ?? (family === 6 ? '::' : '0.0.0.0'), family);
  const fd = native().socket(family === 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw uvHostPortError(fd, 'bind', address, port);
  const opts: [boolean | undefined, number, number, number][] = [
    [options.reuseAddr, C.SOL_SOCKET, C.SO_REUSEADDR, 1],
    [options.reusePort, C.SOL_SOCKET, C.SO_REUSEPORT, 1],
    [family === 6 && options.ipv6Only !== undefined, C.IPPROTO_IPV6, C.IPV6_V6ONLY, options.ipv6Only ? 1 : 0],
  ];
  for (const [on, level, name, value] of opts) {
    if (!on) continue;
    const rc = native().setsockopt(fd, level, name, value);
    if (rc < 0) {
      native().closeFd(fd);
      throw uvHostPortError(rc, 'bind', address, port);
    }
  }
  const rc = native().bind(fd, sockaddr({ host: address, port }));
  if (rc < 0) {
    native().closeFd(fd);
    throw uvHostPortError(rc, 'bind', address, port);
  }
  return new UdpSocket(fd, type, runtime, recvBufferSize);
}
