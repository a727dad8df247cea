// Builders for the structs the kernel reads through SQE pointers: timespec,
// iovec arrays, sockaddrs, msghdr, open_how, epoll_event, futex_waitv, and a
// parser for struct statx. Each builder owns its memory and keeps every
// buffer it points at referenced, so holding the struct holds the data.
import { isIP } from 'node:net';
import { native, type BinaryView } from '../native.js';
import { InvalidArgTypeError, InvalidArgValueError, OutOfRangeError } from '../errors.js';
import { validateInt64, validateInteger, validateObject } from '../validate.js';
import { AF_INET, AF_INET6, AF_UNIX } from './uapi.js';
import { TWO32 } from '../u64.js';

const MIN_I64 = -(2n ** 63n);
const MAX_U64 = 2n ** 64n - 1n;

/**
 * Writes a 64-bit little-endian integer (number, possibly negative, or
 * bigint) as two u32 words: anything from -2^63 (two's complement) to
 * 2^64-1 fits; numbers must be safe integers (past 2^53 a number is not the
 * integer the caller wrote). Anything else is refused (ERR_OUT_OF_RANGE,
 * ERR_INVALID_ARG_TYPE) rather than wrapped: 2n ** 64n would be offset 0.
 * `name` is the field or argument, for the error.
 */
export function putU64(u32: Uint32Array, word: number, v: number | bigint, name = 'value'): void {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) validateInt64(v, name, MIN_I64, MAX_U64);
    // Two's complement for negative numbers: -1 becomes all ones.
    u32[word] = v % TWO32;
    u32[word + 1] = Math.floor(v / TWO32);
  } else {
    if (typeof v !== 'bigint' || v < MIN_I64 || v > MAX_U64) validateInt64(v, name, MIN_I64, MAX_U64);
    u32[word] = Number(v & 0xffffffffn);
    u32[word + 1] = Number((v >> 32n) & 0xffffffffn);
  }
}

/** putU64 for users: `word` and `word + 1` must lie inside `u32`. */
export function writeU64(u32: Uint32Array, word: number, v: number | bigint): void {
  if (!(u32 instanceof Uint32Array)) throw new InvalidArgTypeError('u32', 'an instance of Uint32Array', u32);
  validateInteger(word, 'word', 0, Math.max(0, u32.length - 2));
  if (u32.length < 2) throw new OutOfRangeError('u32.length', '>= 2', u32.length);
  putU64(u32, word, v);
}

/** The address of a view's first byte; throws for a detached buffer. */
export function addressOf(view: BinaryView, name = 'buffer'): number {
  const a = native().address(view);
  if (a < 0) {
    // Shown by its buffer: util.inspect (in the error's message) throws on a detached DataView.
    throw new InvalidArgValueError(
      name,
      view instanceof DataView ? view.buffer : view,
      'must not be a detached ArrayBuffer',
    );
  }
  return a;
}

// The base address of every ArrayBuffer whose address has been asked for,
// kept on the ArrayBuffer itself in a private field (a class whose base
// constructor returns the object it is given installs its fields on that
// object). A private field is invisible to the buffer's users and reads at
// the cost of a property load, where the native lookup is a Node-API call.
// The base stays right while the buffer is not detached: its bytes never
// move (only fixed-length buffers get one: a resizable buffer's may shrink
// under the kernel, and the ops refuse those), and a detached buffer stays
// detached, which viewAddress checks every time.
class Stamped {
  constructor(o: object) {
    return o;
  }
}
class BaseAddress extends Stamped {
  readonly #base: number;
  constructor(ab: object, base: number) {
    super(ab);
    this.#base = base;
  }
  static of(ab: object): number {
    return #base in ab ? (ab as BaseAddress).#base : -1;
  }
}

/**
 * True when `ab` is a fixed-length buffer that is not detached and whose
 * address viewAddress has cached: what validateBuffer would accept, known
 * without asking again.
 */
export function isKnownFixedBuffer(ab: ArrayBufferLike): boolean {
  return ab.byteLength !== 0 && BaseAddress.of(ab) >= 0;
}

/**
 * The address of `view`'s first byte when its buffer is one
 * isKnownFixedBuffer accepts, else -1 (then ask viewAddress). No native call.
 */
export function knownAddress(view: ArrayBufferView): number {
  const ab = view.buffer;
  if (ab.byteLength === 0) return -1;
  const base = BaseAddress.of(ab);
  return base < 0 ? -1 : base + view.byteOffset;
}

/**
 * The address of a view's first byte, as addressOf, cached per ArrayBuffer
 * (for the per-op path of reads and writes). Throws for a detached buffer.
 */
export function viewAddress(view: ArrayBufferView, name = 'buffer'): number {
  const ab = view.buffer;
  // A detached buffer's byteLength is 0 (and a view over it cannot be asked
  // its byteOffset without throwing, for a DataView).
  if (ab.byteLength !== 0) {
    const base = BaseAddress.of(ab);
    if (base >= 0) return base + view.byteOffset;
  }
  const a = addressOf(view, name);
  const fixed = ab as ArrayBufferLike & { resizable?: boolean; growable?: boolean };
  if (ab.byteLength !== 0 && !fixed.resizable && !fixed.growable) {
    try {
      new BaseAddress(ab, a - view.byteOffset);
    } catch {
      // An object that takes no private fields: no cache, no harm.
    }
  }
  return a;
}

/** Whether `ab` was detached (transferred): its memory is gone. */
export function isDetached(ab: ArrayBufferLike & { detached?: boolean }): boolean {
  if (typeof ab.detached === 'boolean') return ab.detached;
  // Node 20's V8 has no ArrayBuffer.prototype.detached. A detached buffer
  // reads byteLength 0, and only then is a probe worth it: a view over a
  // detached buffer cannot be made.
  if (ab.byteLength !== 0) return false;
  try {
    new Uint8Array(ab, 0, 0);
    return false;
  } catch {
    return true;
  }
}

export function isBinaryView(v: unknown): v is BinaryView {
  return ArrayBuffer.isView(v) || v instanceof ArrayBuffer;
}

/** struct __kernel_timespec: 16 bytes, seconds and nanoseconds. */
export class Timespec {
  readonly buffer = new Uint32Array(4);
  constructor(ms = 0) {
    this.setMs(ms);
  }
  /** A timespec of `sec` seconds and `nsec` nanoseconds (bigint seconds allowed). */
  static of(sec: number | bigint, nsec = 0): Timespec {
    const t = new Timespec();
    putU64(t.buffer, 0, sec, 'sec');
    validateInteger(nsec, 'nsec', 0, 999_999_999);
    putU64(t.buffer, 2, nsec, 'nsec');
    return t;
  }
  setMs(ms: number): this {
    if (typeof ms !== 'number' || !(ms >= 0) || !Number.isFinite(ms))
      throw new OutOfRangeError('ms', '>= 0 and finite', ms);
    const sec = Math.floor(ms / 1000);
    if (sec > Number.MAX_SAFE_INTEGER) throw new OutOfRangeError('ms', `<= ${Number.MAX_SAFE_INTEGER * 1000}`, ms);
    putU64(this.buffer, 0, sec, 'ms');
    putU64(this.buffer, 2, Math.round((ms - sec * 1000) * 1e6), 'ms');
    return this;
  }
  get sec(): number {
    return this.buffer[0]! + this.buffer[1]! * TWO32;
  }
  get nsec(): number {
    return this.buffer[2]!;
  }
}

/** An array of struct iovec over the given buffers, which it keeps referenced. */
export class Iovecs {
  readonly buffer: Uint32Array;
  readonly views: readonly ArrayBufferView[];
  constructor(views: readonly ArrayBufferView[]) {
    if (!Array.isArray(views)) throw new InvalidArgTypeError('buffers', 'an array of ArrayBufferView', views);
    this.views = views.slice();
    this.buffer = new Uint32Array(Math.max(1, views.length) * 4);
    // An index loop, not forEach: forEach skips the holes of a sparse array,
    // which would leave them as empty iovecs and undefined views.
    for (let i = 0; i < this.views.length; i++) {
      const v = this.views[i];
      if (!ArrayBuffer.isView(v)) throw new InvalidArgTypeError(`buffers[${i}]`, 'an ArrayBufferView', v);
      putU64(this.buffer, i * 4, addressOf(v, `buffers[${i}]`));
      putU64(this.buffer, i * 4 + 2, v.byteLength);
    }
  }
  get length(): number {
    return this.views.length;
  }
}

/** Encodes a socket address: `{ host, port }` (IPv4 or IPv6) or `{ path }` (Unix). */
export function sockaddr(addr: {
  host?: string;
  port?: number;
  path?: string;
  flowinfo?: number;
  scopeId?: number;
}): Buffer {
  validateObject(addr, 'addr');
  if (addr.path !== undefined) {
    if (typeof addr.path !== 'string') throw new InvalidArgTypeError('addr.path', 'of type string', addr.path);
    // A NUL first makes an abstract socket; one inside would cut the path short (and 'a\0b' bind 'a').
    if (addr.path.includes('\0', 1))
      throw new InvalidArgValueError(
        'path',
        addr.path,
        'must not contain null bytes (but the first, for an abstract socket)',
      );
    const p = Buffer.from(addr.path);
    if (p.length > 107) throw new OutOfRangeError('path', 'at most 107 bytes', addr.path);
    const b = Buffer.alloc(110);
    b.writeUInt16LE(AF_UNIX, 0);
    p.copy(b, 2);
    // An abstract socket (leading NUL) has no terminator; its length is exact.
    return addr.path.startsWith('\0') ? b.subarray(0, 2 + p.length) : b;
  }
  const host = addr.host ?? '127.0.0.1';
  const port = addr.port ?? 0;
  if (typeof host !== 'string') throw new InvalidArgTypeError('addr.host', 'of type string', host);
  validateInteger(port, 'port', 0, 65535);
  const { flowinfo = 0, scopeId = 0 } = addr;
  validateInteger(flowinfo, 'addr.flowinfo', 0, 0xffffffff);
  validateInteger(scopeId, 'addr.scopeId', 0, 0xffffffff);
  const family = isIP(host);
  if (family === 4) {
    const b = Buffer.alloc(16);
    b.writeUInt16LE(AF_INET, 0);
    b.writeUInt16BE(port, 2);
    host.split('.').forEach((o, i) => b.writeUInt8(Number(o), 4 + i));
    return b;
  }
  if (family === 6) {
    const b = Buffer.alloc(28);
    b.writeUInt16LE(AF_INET6, 0);
    b.writeUInt16BE(port, 2);
    b.writeUInt32BE(flowinfo, 4);
    ipv6Bytes(host).copy(b, 8);
    b.writeUInt32LE(scopeId, 24);
    return b;
  }
  throw new InvalidArgValueError('host', host, 'must be an IPv4 or IPv6 address');
}

function ipv6Bytes(host: string): Buffer {
  const out = Buffer.alloc(16);
  let h = host.replace(/%.*$/, '');
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(h);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    h = h.slice(0, v4.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [left, right] = h.split('::') as [string, string | undefined];
  const l = left ? left.split(':') : [];
  const r = right !== undefined && right !== '' ? right.split(':') : [];
  const groups = right === undefined ? l : [...l, ...Array(8 - l.length - r.length).fill('0'), ...r];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

export interface SocketAddress {
  family: 'IPv4' | 'IPv6' | 'Unix';
  address: string;
  port: number;
}

/** Decodes a socket address the kernel wrote (accept, recvmsg, getsockname). */
export function parseSockaddr(buf: Uint8Array, len?: number): SocketAddress | null {
  if (!(buf instanceof Uint8Array)) throw new InvalidArgTypeError('buf', 'an instance of Uint8Array', buf);
  if (buf.byteLength === 0 && isDetached(buf.buffer))
    throw new InvalidArgValueError('buf', buf, 'must not be a detached ArrayBuffer');
  if (len === undefined) len = buf.byteLength;
  else validateInteger(len, 'len', 0);
  const b = Buffer.from(buf.buffer, buf.byteOffset, Math.min(len, buf.byteLength));
  if (b.length < 2) return null;
  const family = b.readUInt16LE(0);
  if (family === AF_INET && b.length >= 8) {
    return { family: 'IPv4', address: `${b[4]}.${b[5]}.${b[6]}.${b[7]}`, port: b.readUInt16BE(2) };
  }
  if (family === AF_INET6 && b.length >= 24) {
    const groups: string[] = [];
    for (let i = 0; i < 8; i++) groups.push(b.readUInt16BE(8 + i * 2).toString(16));
    return { family: 'IPv6', address: compressIpv6(groups), port: b.readUInt16BE(2) };
  }
  if (family === AF_UNIX) {
    const raw = b.subarray(2);
    const end = raw[0] === 0 ? raw.length : raw.indexOf(0) === -1 ? raw.length : raw.indexOf(0);
    return { family: 'Unix', address: raw.subarray(0, end).toString(), port: 0 };
  }
  return null;
}

function compressIpv6(groups: string[]): string {
  // The longest run of zero groups (two or more) becomes '::', as node prints it.
  let best = -1,
    bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  // An IPv4 address inside (node prints what inet_ntop does): mapped
  // ::ffff:a.b.c.d (a dual-stack listener's IPv4 peers), and the old
  // "compatible" ::a.b.c.d (six zero groups; ::2 stays ::2).
  if (best === 0 && (bestLen === 6 || (bestLen === 5 && groups[5] === 'ffff'))) {
    const hi = parseInt(groups[6]!, 16),
      lo = parseInt(groups[7]!, 16);
    const v4 = `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
    return bestLen === 5 ? `::ffff:${v4}` : `::${v4}`;
  }
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/**
 * struct msghdr (56 bytes on 64-bit Linux) with its name, iovecs and control
 * buffer, all kept referenced. For recvmsg the kernel writes msg_namelen,
 * msg_controllen and msg_flags back into `buffer`.
 */
export class Msghdr {
  readonly buffer = new Uint32Array(14);
  readonly iov: Iovecs;
  readonly name: Uint8Array | undefined;
  readonly control: Uint8Array | undefined;
  constructor(opts: { name?: Uint8Array; iov: readonly ArrayBufferView[]; control?: Uint8Array; flags?: number }) {
    validateObject(opts, 'opts');
    for (const k of ['name', 'control'] as const) {
      if (opts[k] !== undefined && !(opts[k] instanceof Uint8Array))
        throw new InvalidArgTypeError(`opts.${k}`, 'an instance of Uint8Array', opts[k]);
    }
    if (opts.flags !== undefined) validateInteger(opts.flags, 'opts.flags', -0x80000000, 0xffffffff);
    this.iov = new Iovecs(opts.iov);
    this.name = opts.name;
    this.control = opts.control;
    const w = this.buffer;
    if (opts.name) {
      putU64(w, 0, addressOf(opts.name, 'name'));
      w[2] = opts.name.byteLength;
    }
    putU64(w, 4, addressOf(this.iov.buffer, 'iov'));
    putU64(w, 6, this.iov.length);
    if (opts.control) {
      putU64(w, 8, addressOf(opts.control, 'control'));
      putU64(w, 10, opts.control.byteLength);
    }
    w[12] = opts.flags ?? 0;
  }
  get namelen(): number {
    return this.buffer[2]!;
  }
  get controllen(): number {
    return this.buffer[10]!;
  }
  get flags(): number {
    return this.buffer[12]!;
  }
}

/** struct open_how for openat2: flags, mode, resolve (24 bytes). */
export function openHow(flags: number, mode = 0, resolve = 0): Uint32Array {
  const b = new Uint32Array(6);
  putU64(b, 0, flags, 'flags');
  putU64(b, 2, mode, 'mode');
  putU64(b, 4, resolve, 'resolve');
  return b;
}

/** struct epoll_event (packed, 12 bytes on x86-64): events and 64-bit data. */
export function epollEvent(events: number, data: number | bigint = 0): Buffer {
  validateInteger(events, 'events', -0x80000000, 0xffffffff);
  const b = Buffer.alloc(12);
  b.writeUInt32LE(events >>> 0, 0);
  validateInt64(data, 'data', MIN_I64, MAX_U64);
  b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(data)), 4);
  return b;
}

/** struct futex_waitv[]: one entry per futex word (a 4-byte view), with the expected value. */
export class FutexWaitv {
  readonly buffer: Uint32Array;
  readonly words: readonly ArrayBufferView[];
  constructor(entries: readonly { word: Uint32Array | Int32Array; value: number; flags: number }[]) {
    if (!Array.isArray(entries))
      throw new InvalidArgTypeError('entries', 'an array of { word, value, flags }', entries);
    entries.forEach((e, i) => {
      validateObject(e, `entries[${i}]`);
      if (!(e.word instanceof Uint32Array || e.word instanceof Int32Array))
        throw new InvalidArgTypeError(`entries[${i}].word`, 'an instance of Uint32Array or Int32Array', e.word);
      validateInteger(e.value, `entries[${i}].value`, -0x80000000, 0xffffffff);
      validateInteger(e.flags, `entries[${i}].flags`, 0, 0xffffffff);
    });
    this.words = entries.map((e) => e.word);
    this.buffer = new Uint32Array(Math.max(1, entries.length) * 6);
    entries.forEach((e, i) => {
      putU64(this.buffer, i * 6, e.value >>> 0);
      putU64(this.buffer, i * 6 + 2, addressOf(e.word, `futex[${i}]`));
      this.buffer[i * 6 + 4] = e.flags;
    });
  }
}

/** The fields of a struct statx (256 bytes) as the kernel wrote them. */
export interface StatxResult {
  mask: number;
  blksize: number;
  attributes: bigint;
  nlink: number;
  uid: number;
  gid: number;
  mode: number;
  ino: bigint;
  size: bigint;
  blocks: bigint;
  attributesMask: bigint;
  atime: { sec: bigint; nsec: number };
  btime: { sec: bigint; nsec: number };
  ctime: { sec: bigint; nsec: number };
  mtime: { sec: bigint; nsec: number };
  rdevMajor: number;
  rdevMinor: number;
  devMajor: number;
  devMinor: number;
}

export const STATX_SIZE = 256;

export function parseStatx(buf: Uint8Array): StatxResult {
  if (!(buf instanceof Uint8Array)) throw new InvalidArgTypeError('buf', 'an instance of Uint8Array', buf);
  if (buf.byteLength < STATX_SIZE)
    throw new InvalidArgValueError('buf', buf, `must be at least ${STATX_SIZE} bytes long`);
  const d = new DataView(buf.buffer, buf.byteOffset, STATX_SIZE);
  const ts = (o: number) => ({ sec: d.getBigInt64(o, true), nsec: d.getUint32(o + 8, true) });
  return {
    mask: d.getUint32(0, true),
    blksize: d.getUint32(4, true),
    attributes: d.getBigUint64(8, true),
    nlink: d.getUint32(16, true),
    uid: d.getUint32(20, true),
    gid: d.getUint32(24, true),
    mode: d.getUint16(28, true),
    ino: d.getBigUint64(32, true),
    size: d.getBigUint64(40, true),
    blocks: d.getBigUint64(48, true),
    attributesMask: d.getBigUint64(56, true),
    atime: ts(64),
    btime: ts(80),
    ctime: ts(96),
    mtime: ts(112),
    rdevMajor: d.getUint32(128, true),
    rdevMinor: d.getUint32(132, true),
    devMajor: d.getUint32(136, true),
    devMinor: d.getUint32(140, true),
  };
}
