// Socket ops on a file descriptor, each a Promise: accept, connect, send,
// recv, sendmsg, recvmsg, shutdown, and cancelling everything on an fd.
// src/net builds sockets, servers and node:net compatibility on these and on
// its own multishot ops.
import { InvalidArgTypeError, recaptureStack, type SystemErrorInfo } from '../errors.js';
import type { Sqe } from '../ring/sqe.js';
import { Msghdr, parseSockaddr, type SocketAddress } from '../ring/structs.js';
import * as U from '../ring/uapi.js';
import { MSG_NOSIGNAL } from '../ring/uapi.js';
import { PromiseOp } from '../runtime/op.js';
import {
  detachedBuffer,
  mayHaveMoved,
  run,
  validateBuffer,
  validateFd,
  viewDetached,
  type RunOptions,
} from './common.js';
import { validateInteger } from '../validate.js';
import { EALREADY, ENOENT } from '../errno.js';

// The socket(2)/shutdown(2) constants callers of these ops (src/net) open and
// shut their sockets with.
export { AF_INET, AF_INET6, AF_UNIX, SOCK_STREAM, SOCK_DGRAM, SOCK_CLOEXEC, SHUT_WR } from '../ring/uapi.js';

/** MSG_* flags: an int32 or uint32 bit pattern. */
function flagsOf(options: { flags?: number } | undefined): number {
  const flags = options?.flags ?? 0;
  validateInteger(flags, 'options.flags', -0x80000000, 0xffffffff);
  return flags;
}

export class ConnectOp extends PromiseOp<void> {
  constructor(
    readonly fd: number,
    readonly addr: Uint8Array,
    readonly info?: SystemErrorInfo,
  ) {
    super();
  }
  get syscall(): string {
    return 'connect';
  }
  override errorInfo(): SystemErrorInfo | undefined {
    return this.info;
  }
  prep(sqe: Sqe): void {
    sqe.prepConnect(this.fd, this.addr);
  }
  override result(): void {}
}

/** Connects socket `fd` to the encoded address `addr` (see ring/structs sockaddr()). */
export async function connect(fd: number, addr: Uint8Array, options?: RunOptions): Promise<void> {
  try {
    validateFd(fd);
    validateBuffer(addr, 'addr');
    return await run(new ConnectOp(fd, addr), options).promise;
  } catch (err) {
    throw recaptureStack(err as Error, connect);
  }
}

export interface Accepted {
  fd: number;
  address: SocketAddress | null;
}

export class AcceptOp extends PromiseOp<Accepted> {
  override resultIsFd = true;
  readonly addr = new Uint8Array(128);
  readonly addrlen = new Uint32Array([128]);
  constructor(
    readonly fd: number,
    readonly flags: number,
  ) {
    super();
  }
  get syscall(): string {
    return 'accept';
  }
  prep(sqe: Sqe): void {
    sqe.prepAccept(this.fd, this.addr, this.addrlen, this.flags);
  }
  override result(res: number): Accepted {
    return { fd: res, address: parseSockaddr(this.addr, this.addrlen[0]) };
  }
}

/** Accepts one connection on listening socket `fd` (close-on-exec), with the peer's address. */
export async function accept(fd: number, options?: RunOptions): Promise<Accepted> {
  try {
    validateFd(fd);
    return await run(new AcceptOp(fd, U.SOCK_CLOEXEC), options).promise;
  } catch (err) {
    throw recaptureStack(err as Error, accept);
  }
}

export class SendOp extends PromiseOp<number> {
  constructor(
    readonly fd: number,
    readonly view: ArrayBufferView,
    readonly flags: number,
  ) {
    super();
  }
  get syscall(): string {
    return 'write';
  }
  prep(sqe: Sqe): void {
    sqe.prepSend(this.fd, this.view, this.view.byteLength, this.flags);
  }
}

/** send(2) (with MSG_NOSIGNAL: a closed peer is EPIPE, never SIGPIPE); resolves with the bytes sent. */
export async function send(
  fd: number,
  buffer: ArrayBufferView,
  options?: RunOptions & { flags?: number },
): Promise<number> {
  try {
    validateFd(fd);
    validateBuffer(buffer);
    return await run(new SendOp(fd, buffer, flagsOf(options) | MSG_NOSIGNAL), options).promise;
  } catch (err) {
    throw recaptureStack(err as Error, send);
  }
}

export class RecvOp extends PromiseOp<number> {
  constructor(
    readonly fd: number,
    readonly view: ArrayBufferView,
    readonly flags: number,
  ) {
    super();
  }
  get syscall(): string {
    return 'read';
  }
  prep(sqe: Sqe): void {
    sqe.prepRecv(this.fd, this.view, this.view.byteLength, this.flags);
  }
  /** The buffer transferred away while the kernel had it: fail (common.ts). */
  protected override settleWith(res: number, flags: number): void {
    if (viewDetached(this.view)) this.fail(detachedBuffer(this.syscall, res));
    else super.settleWith(res, flags);
  }
  override lateComplete(res: number): void {
    if (mayHaveMoved(res) && viewDetached(this.view)) detachedBuffer(this.syscall, res);
  }
}

/** recv(2) into `buffer`; resolves with the bytes received (0 at end of stream). */
export async function recv(
  fd: number,
  buffer: ArrayBufferView,
  options?: RunOptions & { flags?: number },
): Promise<number> {
  try {
    validateFd(fd);
    validateBuffer(buffer);
    return await run(new RecvOp(fd, buffer, flagsOf(options)), options).promise;
  } catch (err) {
    throw recaptureStack(err as Error, recv);
  }
}

export interface Datagram {
  /** Bytes received (the datagram, truncated to the buffer if it was longer). */
  bytes: number;
  /** MSG_TRUNC: the datagram was longer than the buffer. */
  truncated: boolean;
  from: SocketAddress | null;
}

export class RecvmsgOp extends PromiseOp<Datagram> {
  readonly name = new Uint8Array(128);
  readonly msg: Msghdr;
  constructor(
    readonly fd: number,
    readonly view: ArrayBufferView,
    readonly flags: number,
  ) {
    super();
    this.msg = new Msghdr({ name: this.name, iov: [view] });
  }
  get syscall(): string {
    return 'recvmsg';
  }
  prep(sqe: Sqe): void {
    sqe.prepRecvmsg(this.fd, this.msg, this.flags);
  }
  override result(res: number): Datagram {
    return { bytes: res, truncated: (this.msg.flags & 0x20) !== 0, from: parseSockaddr(this.name, this.msg.namelen) };
  }
  /** As RecvOp's. */
  protected override settleWith(res: number, flags: number): void {
    if (viewDetached(this.view)) this.fail(detachedBuffer(this.syscall, res));
    else super.settleWith(res, flags);
  }
  override lateComplete(res: number): void {
    if (mayHaveMoved(res) && viewDetached(this.view)) detachedBuffer(this.syscall, res);
  }
}

/** recvmsg(2) of one datagram into `buffer`, with its sender. */
export async function recvmsg(
  fd: number,
  buffer: ArrayBufferView,
  options?: RunOptions & { flags?: number },
): Promise<Datagram> {
  try {
    validateFd(fd);
    validateBuffer(buffer);
    return await run(new RecvmsgOp(fd, buffer, flagsOf(options)), options).promise;
  } catch (err) {
    throw recaptureStack(err as Error, recvmsg);
  }
}

export class SendmsgOp extends PromiseOp<number> {
  readonly msg: Msghdr;
  constructor(
    readonly fd: number,
    readonly views: readonly ArrayBufferView[],
    readonly to: Uint8Array | undefined,
    readonly flags: number,
    readonly info?: SystemErrorInfo,
  ) {
    super();
    this.msg = new Msghdr(to ? { name: to, iov: views } : { iov: views });
  }
  get syscall(): string {
    return 'sendmsg';
  }
  override errorInfo(): SystemErrorInfo | undefined {
    return this.info;
  }
  prep(sqe: Sqe): void {
    sqe.prepSendmsg(this.fd, this.msg, this.flags);
  }
}

/** sendmsg(2) of `buffers` (gathered), to the encoded address `to` when given (UDP). */
export async function sendmsg(
  fd: number,
  buffers: readonly ArrayBufferView[],
  to?: Uint8Array,
  options?: RunOptions & { flags?: number },
): Promise<number> {
  try {
    validateFd(fd);
    if (!Array.isArray(buffers)) throw new InvalidArgTypeError('buffers', 'an ArrayBufferView[]', buffers);
    for (let i = 0; i < buffers.length; i++) validateBuffer(buffers[i], `buffers[${i}]`); // holes too
    if (to !== undefined) validateBuffer(to, 'to');
    return await run(new SendmsgOp(fd, buffers, to, flagsOf(options) | MSG_NOSIGNAL), options).promise;
  } catch (err) {
    throw recaptureStack(err as Error, sendmsg);
  }
}

export class ShutdownOp extends PromiseOp<void> {
  constructor(
    readonly fd: number,
    readonly how: number,
  ) {
    super();
  }
  get syscall(): string {
    return 'shutdown';
  }
  prep(sqe: Sqe): void {
    sqe.prepShutdown(this.fd, this.how);
  }
  override result(): void {}
}

/** shutdown(2): SHUT_RD (0), SHUT_WR (1) or SHUT_RDWR (2). */
export async function shutdown(fd: number, how: number, options?: RunOptions): Promise<void> {
  try {
    validateFd(fd);
    return await run(new ShutdownOp(fd, how), options).promise;
  } catch (err) {
    throw recaptureStack(err as Error, shutdown);
  }
}

/** Cancels every op in flight on `fd`; resolves with how many there were. */
export class CancelFdOp extends PromiseOp<number> {
  constructor(readonly fd: number) {
    super();
  }
  get syscall(): string {
    return 'io_uring_cancel';
  }
  prep(sqe: Sqe): void {
    sqe.prepCancelFd(this.fd, U.IORING_ASYNC_CANCEL_ALL);
  }
  /** Nothing to cancel (-ENOENT) or already running (-EALREADY) are answers, not failures. */
  protected override settleWith(res: number, flags: number): void {
    super.settleWith(res === -ENOENT || res === -EALREADY ? 0 : res, flags);
  }
}

export async function cancelFd(fd: number, options?: RunOptions): Promise<number> {
  try {
    validateFd(fd);
    return await run(new CancelFdOp(fd), options).promise;
  } catch (err) {
    throw recaptureStack(err as Error, cancelFd);
  }
}
