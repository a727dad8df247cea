// Every error uring throws is made here. Library errors carry a permanent
// `code` (the message may change, the code never does); kernel errors become
// Node-shaped system errors (`code`, `errno`, `syscall`, `path`).
import { getSystemErrorMap, inspect } from 'node:util';
import { validateInteger } from './validate.js';

const systemErrors: Map<number, [string, string]> = getSystemErrorMap();

/** The symbolic name of an errno value (positive or negative), e.g. 'ENOENT'. */
export function errnoName(errno: number): string {
  validateInteger(errno, 'errno', -0x7fffffff, 0x7fffffff);
  const e = systemErrors.get(-Math.abs(errno));
  return e ? e[0] : `E${Math.abs(errno)}`;
}

/** Node's description of an errno value, e.g. 'no such file or directory'. */
export function errnoMessage(errno: number): string {
  validateInteger(errno, 'errno', -0x7fffffff, 0x7fffffff);
  const e = systemErrors.get(-Math.abs(errno));
  return e ? e[1] : 'unknown error';
}

export interface SystemErrorInfo {
  path?: string | undefined;
  dest?: string | undefined;
  address?: string | undefined;
  port?: number | undefined;
}

/** A kernel error as Node shapes it: `ENOENT: no such file or directory, openat '/x'`. */
export interface UringSystemError extends Error {
  errno: number;
  code: string;
  syscall: string;
  path?: string;
  dest?: string;
  address?: string;
  port?: number;
}

/**
 * Builds the error for a negative result. `res` is -errno, as the kernel
 * reports it in a CQE or a system call returns it through the native shim.
 * The stack is captured here: call this where the caller's frames are on the
 * stack (or re-capture, see `captureCallSite`).
 */
export function systemError(res: number, syscall: string, info?: SystemErrorInfo): UringSystemError {
  validateInteger(res, 'res', -0x7fffffff, 0x7fffffff);
  if (typeof syscall !== 'string') throw new InvalidArgTypeError('syscall', 'of type string', syscall);
  if (info !== undefined && (info === null || typeof info !== 'object'))
    throw new InvalidArgTypeError('info', 'of type object', info);
  const errno = -Math.abs(res);
  const code = errnoName(errno);
  let message = `${code}: ${errnoMessage(errno)}, ${syscall}`;
  if (info?.path !== undefined) message += ` '${info.path}'`;
  if (info?.dest !== undefined) message += ` -> '${info.dest}'`;
  if (info?.address !== undefined) message += ` ${info.address}${info.port !== undefined ? `:${info.port}` : ''}`;
  const err = new Error(message) as UringSystemError;
  err.errno = errno;
  err.code = code;
  err.syscall = syscall;
  if (info?.path !== undefined) err.path = info.path;
  if (info?.dest !== undefined) err.dest = info.dest;
  if (info?.address !== undefined) err.address = info.address;
  if (info?.port !== undefined) err.port = info.port;
  return err;
}

/** Base for uring's own errors: a permanent `code`, shown in the name as Node does. */
export class UringError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(str(message), options);
    this.code = str(code);
    // name stays Error.prototype's 'Error', not an own property: node's
    // errors have only `code` as their own (Object.keys, spread, JSON).
  }
  override toString(): string {
    return `${this.name} [${this.code}]: ${this.message}`;
  }
}

/** io_uring cannot be used here: why, and what to do about it. */
export class UringUnavailableError extends UringError {
  readonly errno: number;
  constructor(errno: number, message: string) {
    super('ERR_URING_UNAVAILABLE', str(message));
    this.errno = errno;
  }
}

/**
 * process.setuid and the like were called while an io_uring ring that keeps
 * the credentials it was made with (SQPOLL, a registered personality) is
 * open: its ops would go on with the old rights (CVE-2024-22017's class).
 */
export class UringPrivilegedRingError extends UringError {
  /** The process function refused, e.g. 'setuid'. */
  readonly syscall: string;
  /** The rings in the way, as the message names them, e.g. 'fd 23 with SQPOLL (this thread)'. */
  readonly rings: readonly string[];
  constructor(syscall: string, rings: readonly string[]) {
    // Like every class here, built from any values without throwing (they are exported).
    const names = Array.isArray(rings) ? rings.map(str) : [str(rings)];
    super(
      'ERR_URING_PRIVILEGED_RING',
      `Cannot change credentials (process.${str(syscall)}) while an io_uring ring that keeps them is open: ${names.join('; ')}. Close it first: its ops would go on with the credentials it was created with`,
    );
    this.syscall = str(syscall);
    this.rings = names;
  }
}

/** The ring (or runtime) was closed. */
export class UringClosedError extends UringError {
  constructor(message = 'The ring is closed') {
    super('ERR_URING_CLOSED', message);
  }
}

/**
 * The buffer an op was reading into (or writing from) was detached while
 * the kernel had it: transferred by postMessage or structuredClone, or by
 * ArrayBuffer.prototype.transfer. Its memory went with the transfer, so the
 * kernel wrote into (or read from) memory that was no longer the buffer's,
 * and may have been freed: the op's bytes are lost, and whatever now lives
 * there may have been overwritten. Found when the op completes; the op
 * fails with this instead of its result.
 */
export class UringBufferDetachedError extends UringError {
  readonly syscall: string;
  /** What the kernel reported (bytes moved, or -errno) before the detach was seen. */
  readonly result: number;
  constructor(syscall: string, result: number) {
    super(
      'ERR_URING_BUFFER_DETACHED',
      `The buffer of a ${str(syscall)} was detached (transferred away) while the kernel was using it: its memory was no longer the buffer's, and may have been freed and reused. Do not transfer a buffer until the operation using it has settled`,
    );
    this.syscall = str(syscall);
    this.result = result;
  }
}

// Node's own codes, as node 20 words them: each an Error with `code`, named
// 'Error', whose toString() is `Error [CODE]: message` (UringError's shape).

/** ERR_SOCKET_CLOSED: an operation on a closed socket (or one never connected, node:net's resetAndDestroy()). */
export class SocketClosedError extends UringError {
  constructor() {
    super('ERR_SOCKET_CLOSED', 'Socket is closed');
  }
}

/**
 * ERR_SOCKET_CONNECTED: connect() on a socket that is connected or
 * connecting. uring's own: node 20's net has no such check (nor code).
 */
export class SocketConnectedError extends UringError {
  constructor() {
    super('ERR_SOCKET_CONNECTED', 'Socket is already connected');
  }
}

/** ERR_SOCKET_CLOSED_BEFORE_CONNECTION: a write waiting for the connection, failed by destroy(). */
export class SocketClosedBeforeConnectionError extends UringError {
  constructor() {
    super('ERR_SOCKET_CLOSED_BEFORE_CONNECTION', 'Socket closed before the connection was established');
  }
}

/** ERR_IP_BLOCKED: a connect to (or from) an address the socket's or server's net.BlockList holds. */
export class IpBlockedError extends UringError {
  constructor(ip: string) {
    super('ERR_IP_BLOCKED', `IP(${str(ip)}) is blocked by net.BlockList`);
  }
}

/** ERR_SERVER_ALREADY_LISTEN: listen() on a server that is listening. */
export class ServerAlreadyListenError extends UringError {
  constructor() {
    super('ERR_SERVER_ALREADY_LISTEN', 'Listen method has been called more than once without closing.');
  }
}

/** ERR_SERVER_NOT_RUNNING: close(cb) on a server that is not listening. */
export class ServerNotRunningError extends UringError {
  constructor() {
    super('ERR_SERVER_NOT_RUNNING', 'Server is not running.');
  }
}

/** ERR_STREAM_WRITE_AFTER_END: a write after end(). */
export class StreamWriteAfterEndError extends UringError {
  constructor() {
    super('ERR_STREAM_WRITE_AFTER_END', 'write after end');
  }
}

/** ERR_INVALID_STATE: `Invalid state: ${what}`, e.g. 'The FileHandle is closed'. */
export class InvalidStateError extends UringError {
  constructor(what: string) {
    super('ERR_INVALID_STATE', `Invalid state: ${str(what)}`);
  }
}

/**
 * ERR_SYSTEM_ERROR: a call that kept failing without an errno, e.g. a
 * write that moved no bytes, retried. Node names it SystemError.
 */
export class SystemFailureError extends UringError {
  constructor(what: string) {
    super('ERR_SYSTEM_ERROR', `A system error occurred: ${str(what)}`);
  }
}
// Node's is named SystemError, and not as an own key.
Object.defineProperty(SystemFailureError.prototype, 'name', {
  value: 'SystemError',
  writable: true,
  configurable: true,
});

/**
 * A write on a socket whose peer ended it (its FIN came, and the socket is
 * not half-open). As node:net's: code EPIPE but no errno or syscall, since
 * no system call failed, and a plain `Error: message` toString.
 */
export class SocketEndedError extends Error {
  readonly code = 'EPIPE';
  constructor() {
    super('This socket has been ended by the other party');
  }
}

/** A FileHandle op after close(), as node:fs/promises': 'file closed', code EBADF, no errno. */
export class FileClosedError extends Error {
  readonly code = 'EBADF';
  readonly syscall: string;
  constructor(syscall: string) {
    super('file closed');
    this.syscall = str(syscall);
  }
}

export class InvalidArgTypeError extends TypeError {
  readonly code = 'ERR_INVALID_ARG_TYPE';
  constructor(name: string, expected: string, actual: unknown) {
    // Names are ours, but these classes are exported: any value makes a message.
    name = str(name);
    // As node's: 'The "options.signal" property', 'The "fd" argument', 'The first argument'.
    const what = name.endsWith(' argument') ? name : `"${name}" ${name.includes('.') ? 'property' : 'argument'}`;
    super(`The ${what} must be ${str(expected)}. Received ${describeType(actual)}`);
  }
}

export class InvalidArgValueError extends TypeError {
  readonly code = 'ERR_INVALID_ARG_VALUE';
  constructor(name: string, value: unknown, reason: string) {
    let shown: string;
    try {
      shown = inspect(value);
    } catch {
      // inspect throws on some values, e.g. a DataView over a detached buffer.
      shown = describeType(value);
    }
    if (shown.length > 128) shown = `${shown.slice(0, 128)}...`;
    // As node's: 'The property 'options.x'' for a dotted name.
    name = str(name);
    super(`The ${name.includes('.') ? 'property' : 'argument'} '${name}' ${str(reason)}. Received ${shown}`);
  }
}

/** A string that should be an IP address and is not (node's ERR_INVALID_IP_ADDRESS). */
export class InvalidIpAddressError extends TypeError {
  readonly code = 'ERR_INVALID_IP_ADDRESS';
  constructor(address: unknown) {
    super(`Invalid IP address: ${str(address)}`);
  }
}

/** ERR_INVALID_ADDRESS_FAMILY: a lookup gave a family that is neither 4 nor 6 (node:net's connect). */
export class InvalidAddressFamilyError extends RangeError {
  readonly code = 'ERR_INVALID_ADDRESS_FAMILY';
  readonly host: unknown;
  readonly port: unknown;
  constructor(family: unknown, host: unknown, port: unknown) {
    super(`Invalid address family: ${str(family)} ${str(host)}:${str(port)}`);
    this.host = host;
    this.port = port;
  }
}

/** ERR_MISSING_ARGS: each name is one argument, or an array of names any one of which will do. */
export class MissingArgsError extends TypeError {
  readonly code = 'ERR_MISSING_ARGS';
  constructor(...names: (string | readonly string[])[]) {
    const each = names.map((n) => (Array.isArray(n) ? n.map((a) => `"${str(a)}"`).join(' or ') : `"${str(n)}"`));
    const last = each.pop() ?? '""';
    const list =
      each.length === 0
        ? `${last} argument`
        : each.length === 1
          ? `${each[0]} and ${last} arguments`
          : `${each.join(', ')}, and ${last} arguments`;
    super(`The ${list} must be specified`);
  }
}

/** ERR_SOCKET_BAD_PORT: `Port should be >= 0 and < 65536. Received type number (70000).` */
export class SocketBadPortError extends RangeError {
  readonly code = 'ERR_SOCKET_BAD_PORT';
  constructor(name: string, port: unknown, allowZero: boolean) {
    super(`${str(name)} should be ${allowZero ? '>=' : '>'} 0 and < 65536. Received ${describeType(port)}.`);
  }
}

/** ERR_FS_FILE_TOO_LARGE: a whole-file read of a file beyond what one Buffer holds. */
export class FileTooLargeError extends RangeError {
  readonly code = 'ERR_FS_FILE_TOO_LARGE';
  constructor(size: number | bigint) {
    super(`File size (${str(size)}) is greater than 2 GiB`);
  }
}

export class OutOfRangeError extends RangeError {
  readonly code = 'ERR_OUT_OF_RANGE';
  constructor(name: string, range: string, value: unknown) {
    super(`The value of "${str(name)}" is out of range. It must be ${str(range)}. Received ${describeValue(value)}`);
  }
}

// Node's TypeErrors and RangeErrors with a code show it as its own do:
// `TypeError [ERR_INVALID_ARG_TYPE]: The ...` (a method, as UringError's).
for (const C of [
  InvalidArgTypeError,
  InvalidArgValueError,
  InvalidIpAddressError,
  OutOfRangeError,
  MissingArgsError,
  SocketBadPortError,
  FileTooLargeError,
]) {
  Object.defineProperty(C.prototype, 'toString', {
    value: UringError.prototype.toString,
    writable: true,
    configurable: true,
  });
}

/**
 * The received value as node 20's ERR_INVALID_ARG_TYPE (and
 * ERR_SOCKET_BAD_PORT) show it: `null`, `an instance of Buffer`,
 * `function f`, `type number (-0)`, `type symbol (Symbol(s))`, and strings
 * cut to 25 characters plus '...' past 28, in single quotes unless they
 * hold one (then JSON, escapes and all).
 */
export function describeType(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  switch (typeof v) {
    case 'bigint':
      return `type bigint (${v}n)`;
    case 'number':
      return `type number (${Object.is(v, -0) ? '-0' : String(v)})`;
    case 'boolean':
    case 'symbol':
      return `type ${typeof v} (${String(v)})`;
    case 'function':
      return `function ${safeName(v)}`;
    case 'object': {
      try {
        const ctor = (v as object).constructor as { name?: unknown } | undefined;
        if (ctor && 'name' in ctor) return `an instance of ${str(ctor.name)}`;
      } catch {
        // A proxy or a getter that throws: shown as node's inspect shows it.
      }
      return safeInspect(v, { depth: -1 });
    }
    case 'string': {
      const s = v.length > 28 ? `${v.slice(0, 25)}...` : v;
      return `type string (${s.includes("'") ? JSON.stringify(s) : `'${s}'`})`;
    }
    default:
      return `type ${typeof v} (${String(v)})`;
  }
}

/**
 * The received value as node's ERR_OUT_OF_RANGE shows it: inspected (`5`,
 * `'x'`, `-0`), except that integers beyond 2 ** 32 get numeric separators
 * (`10_000_000_000`, bigints `4_294_967_297n`).
 */
function describeValue(v: unknown): string {
  if (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) > 2 ** 32) return withSeparators(String(v));
  if (typeof v === 'bigint') {
    const s = String(v);
    return `${v > 2n ** 32n || v < -(2n ** 32n) ? withSeparators(s) : s}n`;
  }
  return safeInspect(v);
}

/** `_` every three digits from the right, after a leading '-' (node's addNumericalSeparator, quirks included: 1e21 gives '1e_+21'). */
function withSeparators(s: string): string {
  const start = s[0] === '-' ? 1 : 0;
  let out = '';
  let i = s.length;
  for (; i >= start + 4; i -= 3) out = `_${s.slice(i - 3, i)}${out}`;
  return s.slice(0, i) + out;
}

/** String(v), or how inspect shows it when that throws (a null-prototype object, a throwing toString). */
function str(v: unknown): string {
  try {
    return String(v);
  } catch {
    return safeInspect(v);
  }
}

function safeName(f: Function): string {
  try {
    return String(f.name);
  } catch {
    return '';
  }
}

function safeInspect(v: unknown, options?: Parameters<typeof inspect>[1]): string {
  try {
    return inspect(v, options);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

/** Shaped as Node's AbortError: name 'AbortError', code 'ABORT_ERR', `cause` = signal.reason. */
export class AbortError extends Error {
  readonly code = 'ABORT_ERR';
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(str(message), options);
    this.name = 'AbortError';
  }
}

/** The AbortError for an aborted signal, as Node makes it: `cause` is the signal's reason. */
export function abortError(signal: AbortSignal): AbortError {
  if (!(signal instanceof AbortSignal)) throw new InvalidArgTypeError('signal', 'an instance of AbortSignal', signal);
  return new AbortError(undefined, { cause: signal.reason });
}

/** An op's `timeout` elapsed before it completed (the kernel cancelled it). */
export class UringTimeoutError extends UringError {
  readonly timeout: number;
  readonly syscall: string;
  constructor(syscall: string, timeout: number) {
    super('ERR_URING_TIMEOUT', `${str(syscall)} timed out after ${str(timeout)} ms`);
    this.timeout = timeout;
    this.syscall = syscall;
  }
}

/**
 * Re-captures an error's stack at the current point. Called in the catch of
 * the public async function that awaited the op, so the stack shows the
 * caller's frames (V8 adds the awaiting async functions), not the completion
 * loop that built the error.
 */
export function recaptureStack<E extends Error>(err: E, fn?: Function): E {
  if (err instanceof Error) Error.captureStackTrace(err, typeof fn === 'function' ? fn : undefined);
  return err;
}
