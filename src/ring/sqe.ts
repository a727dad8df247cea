// A submission queue entry and a prep method for every opcode of Linux 6.18,
// named as liburing names them (io_uring_prep_read -> prepRead). Each prep is
// a line or two over prepRw, which fills the common fields; the rest is which
// union member an opcode reads its extra arguments from.
//
// Preps take buffers, never raw addresses: the address is resolved here.
// What the kernel only reads while the SQE is submitted (paths, timespecs,
// sockaddrs for connect/bind, iovec arrays, open_how, msghdr) is pinned to the
// SQ slot until the slot is reused, which cannot happen before the kernel has
// consumed the SQE. Buffers the kernel reads or writes until the completion
// (read/write/recv/send data, statx and accept outputs) must be kept alive by
// the caller until the CQE arrives, as with liburing; the runtime does that.
import { Buffer } from 'node:buffer';
import { InvalidArgTypeError, InvalidArgValueError, OutOfRangeError } from '../errors.js';
import { validateInteger } from '../validate.js';
import type { BinaryView } from '../native.js';
import {
  addressOf,
  isBinaryView,
  isDetached,
  Timespec,
  putU64,
  type FutexWaitv,
  type Iovecs,
  type Msghdr,
} from './structs.js';
import * as U from './uapi.js';
import { INTERNAL_LO } from './user-data.js';
import { TWO32 } from '../u64.js';

/** The memory an Sqe writes into: views over the whole SQE array, and the SQ slot pins. */
export interface SqeMemory {
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  /** Per SQ slot: what the slot's SQE points at, kept until the slot is reused. */
  readonly pins: unknown[];
  /** 16 for 64-byte SQEs, 32 for 128-byte ones. */
  readonly wordsPerSqe: number;
}

export type Offset = number | bigint;
export type PathLike = string | Uint8Array;
export type TimespecLike = Timespec | number;

/**
 * An integer that fits a field of the SQE: typed-array stores would
 * otherwise wrap it (2^32 -> 0), coerce it ('3' -> 3) or throw a bare
 * TypeError (Symbols, bigints). One typeof and two compares on the hot path.
 */
function field(v: unknown, name: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) validateInteger(v, name, min, max);
  return v as number;
}
const U8 = 0xff;
const U16 = 0xffff;
/** Flag and length words take their bits as signed or unsigned 32-bit integers. */
const I32_MIN = -0x80000000;
const U32 = 0xffffffff;
const I32_MAX = 0x7fffffff;

/** A descriptor (or a direct-descriptor index with IOSQE_FIXED_FILE): an integer, as an i32. */
function fdField(fd: unknown, name = 'fd'): number {
  if (typeof fd !== 'number' || !Number.isInteger(fd)) throw new InvalidArgTypeError(name, 'an integer', fd);
  if (fd < I32_MIN || fd > I32_MAX) throw new OutOfRangeError(name, `>= ${I32_MIN} && <= ${I32_MAX}`, fd);
  return fd;
}

/** More than one thing pinned to a slot. */
class PinList extends Array<unknown> {}

// Word offsets (u32 units) of the SQE fields.
const W_FD = 1;
const W_OFF = 2; // off / addr2 / cmd_op
const W_ADDR = 4; // addr / splice_off_in / level+optname
const W_LEN = 6;
const W_OPFLAGS = 7; // rw_flags, fsync_flags, poll32_events, msg_flags, ...
const W_USER = 8;
const W_FILE_INDEX = 11; // splice_fd_in / file_index / optlen / addr_len
const W_ADDR3 = 12; // addr3 / attr_ptr / optval

export class Sqe {
  readonly #m: SqeMemory;
  /** Word offset of this SQE in the SQE array. */
  readonly #w: number;
  /** SQ slot index, for pins. */
  readonly index: number;

  constructor(memory: SqeMemory, index: number) {
    if (
      memory === null ||
      typeof memory !== 'object' ||
      !(memory.u32 instanceof Uint32Array) ||
      !Number.isInteger(memory.wordsPerSqe)
    ) {
      throw new InvalidArgTypeError('memory', 'the SqeMemory of a Ring (ring.sqeMemory)', memory);
    }
    field(index, 'index', 0, Math.floor(memory.u32.length / memory.wordsPerSqe) - 1);
    this.#m = memory;
    this.index = index;
    this.#w = index * memory.wordsPerSqe;
  }

  // ------------------------------------------------------------------ fields

  get opcode(): number {
    return this.#m.u8[this.#w * 4]!;
  }
  set opcode(v: number) {
    this.#m.u8[this.#w * 4] = field(v, 'opcode', 0, U8);
  }
  /** IOSQE_* flags. */
  get flags(): number {
    return this.#m.u8[this.#w * 4 + 1]!;
  }
  set flags(v: number) {
    this.#m.u8[this.#w * 4 + 1] = field(v, 'flags', 0, U8);
  }
  get ioprio(): number {
    return this.#m.u16[this.#w * 2 + 1]!;
  }
  set ioprio(v: number) {
    this.#m.u16[this.#w * 2 + 1] = field(v, 'ioprio', 0, U16);
  }
  get fd(): number {
    return this.#m.i32[this.#w + W_FD]!;
  }
  set fd(v: number) {
    this.#m.i32[this.#w + W_FD] = fdField(v);
  }
  get len(): number {
    return this.#m.u32[this.#w + W_LEN]!;
  }
  set len(v: number) {
    this.#m.u32[this.#w + W_LEN] = field(v, 'len', I32_MIN, U32);
  }
  /** The per-opcode flags word (rw_flags, msg_flags, timeout_flags, open_flags, ...). */
  get opFlags(): number {
    return this.#m.u32[this.#w + W_OPFLAGS]!;
  }
  set opFlags(v: number) {
    this.#m.u32[this.#w + W_OPFLAGS] = field(v, 'opFlags', I32_MIN, U32);
  }
  get bufIndex(): number {
    return this.#m.u16[this.#w * 2 + 20]!;
  }
  set bufIndex(v: number) {
    this.#m.u16[this.#w * 2 + 20] = field(v, 'bufIndex', 0, U16);
  }
  /** Alias of bufIndex: the provided-buffer group for IOSQE_BUFFER_SELECT. */
  get bufGroup(): number {
    return this.bufIndex;
  }
  set bufGroup(v: number) {
    this.bufIndex = v;
  }
  get personality(): number {
    return this.#m.u16[this.#w * 2 + 21]!;
  }
  set personality(v: number) {
    this.#m.u16[this.#w * 2 + 21] = field(v, 'personality', 0, U16);
  }
  /** splice_fd_in / file_index / optlen, as an unsigned word. */
  get fileIndex(): number {
    return this.#m.u32[this.#w + W_FILE_INDEX]!;
  }
  set fileIndex(v: number) {
    this.#m.u32[this.#w + W_FILE_INDEX] = field(v, 'fileIndex', I32_MIN, U32);
  }
  get off(): bigint {
    return this.#get64(W_OFF);
  }
  set off(v: Offset) {
    putU64(this.#m.u32, this.#w + W_OFF, v, 'off');
  }
  get addr(): bigint {
    return this.#get64(W_ADDR);
  }
  set addr(v: Offset) {
    putU64(this.#m.u32, this.#w + W_ADDR, v, 'addr');
  }
  get addr3(): bigint {
    return this.#get64(W_ADDR3);
  }
  set addr3(v: Offset) {
    putU64(this.#m.u32, this.#w + W_ADDR3, v, 'addr3');
  }

  /** The 64-bit user data, returned in this SQE's CQEs. */
  get userData(): bigint {
    return this.#get64(W_USER);
  }
  set userData(v: bigint | number) {
    putU64(this.#m.u32, this.#w + W_USER, v, 'userData');
  }
  /** io_uring_sqe_set_data64 with a number (up to 2^53): no BigInt on the hot path. */
  setUserData(v: number): this {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
      validateInteger(v, 'userData', 0, Number.MAX_SAFE_INTEGER);
    const u = this.#m.u32;
    u[this.#w + W_USER] = v % TWO32;
    u[this.#w + W_USER + 1] = (v / TWO32) >>> 0;
    return this;
  }
  /**
   * The user data from its two 32-bit words, lo (bits 0-31) and hi (bits
   * 32-63): how the runtime writes the layout of ring/user-data.ts, with
   * no BigInt and no number above 2^53.
   */
  setUserWords(lo: number, hi: number): this {
    // Cheap on the hot path; anything but a u32 gets Node's codes (the
    // typeofs first: `>>>` throws a bare TypeError on a bigint or Symbol).
    if (typeof lo !== 'number' || typeof hi !== 'number' || lo >>> 0 !== lo || hi >>> 0 !== hi) {
      validateInteger(lo, 'lo', 0, U32);
      validateInteger(hi, 'hi', 0, U32);
    }
    const u = this.#m.u32;
    u[this.#w + W_USER] = lo;
    u[this.#w + W_USER + 1] = hi;
    return this;
  }
  /** Zeroes every field (user data too): the SQE as getSqe hands it out. */
  reset(): this {
    const u = this.#m.u32;
    for (let i = this.#w, end = i + this.#m.wordsPerSqe; i < end; i++) u[i] = 0;
    return this;
  }
  /**
   * Rewrites an SQE already taken from the SQ, whose op must not run, as
   * what it then is: a NOP nobody waits for. Unlinked (the flags are
   * cleared), with IOSQE_CQE_SKIP_SUCCESS (a NOP cannot fail, so it posts
   * no CQE) and user data INTERNAL_LO. What its old prep pinned stays
   * pinned until the slot is reused, which is harmless.
   */
  neutralize(): this {
    this.reset().prepNop();
    this.#m.u8[this.#w * 4 + 1] = U.IOSQE_CQE_SKIP_SUCCESS;
    return this.setUserWords(INTERNAL_LO, 0);
  }
  /** io_uring_sqe_set_flags: replaces the IOSQE_* flags. */
  setFlags(flags: number): this {
    this.flags = flags;
    return this;
  }
  /** Adds IOSQE_* flags to those set. */
  addFlags(flags: number): this {
    this.flags |= field(flags, 'flags', 0, U8);
    return this;
  }
  /** io_uring_sqe_set_buf_group. */
  setBufGroup(group: number): this {
    this.bufIndex = group;
    return this;
  }

  #get64(word: number): bigint {
    const u = this.#m.u32;
    return (BigInt(u[this.#w + word + 1]!) << 32n) | BigInt(u[this.#w + word]!);
  }

  /** Keeps `v` referenced until this SQ slot is reused (after the kernel consumed the SQE). */
  #pin(v: unknown): void {
    const pins = this.#m.pins;
    const cur = pins[this.index];
    if (cur === undefined) pins[this.index] = v;
    else if (cur instanceof PinList) cur.push(v);
    else pins[this.index] = new PinList(cur, v);
  }

  /** Address of `view` (pinned to the slot), validated. */
  #buf(view: BinaryView | null | undefined, name: string): number {
    if (view === null || view === undefined) return 0;
    if (!isBinaryView(view))
      throw new InvalidArgTypeError(name, 'an instance of Buffer, TypedArray, DataView or ArrayBuffer', view);
    const a = addressOf(view, name);
    this.#pin(view);
    return a;
  }

  /** A view the prep needs (not null): its byte length, after #buf's checks. */
  #need<V extends BinaryView>(view: V | null | undefined, name: string, kind: Function = Uint8Array): V {
    if (!(view instanceof kind)) throw new InvalidArgTypeError(name, `an instance of ${kind.name}`, view);
    return view as V;
  }

  /** nbytes defaulting to the view's length, and never past its end. */
  #len(view: BinaryView | null | undefined, nbytes: number | undefined, name = 'length'): number {
    let max = 0;
    if (view) {
      try {
        max = view.byteLength;
      } catch {
        // A DataView over a detached buffer throws here (a typed array reads
        // 0): report it as the detached buffer it is, as #buf would. (The
        // error shows its buffer: util.inspect throws on such a DataView too.)
        throw new InvalidArgValueError('buffer', (view as DataView).buffer, 'must not be a detached ArrayBuffer');
      }
    }
    if (nbytes === undefined) return max;
    if (!Number.isInteger(nbytes) || nbytes < 0 || nbytes > max) {
      throw new OutOfRangeError(name, `>= 0 && <= ${max} (the buffer's length)`, nbytes);
    }
    return nbytes;
  }

  /** A NUL-terminated path (pinned). */
  #path(path: PathLike, name = 'path'): number {
    let b: Uint8Array;
    if (typeof path === 'string') {
      if (path.includes('\0'))
        throw new InvalidArgValueError(name, path, 'must be a string or Uint8Array without null bytes');
      b = Buffer.from(`${path}\0`);
    } else if (path instanceof Uint8Array) {
      if (path.byteLength === 0 && isDetached(path.buffer))
        throw new InvalidArgValueError(name, path, 'must not be a detached ArrayBuffer');
      const nul = path.indexOf(0);
      if (nul >= 0 && nul !== path.length - 1)
        throw new InvalidArgValueError(name, path, 'must be a string or Uint8Array without null bytes');
      b = nul === path.length - 1 ? path : Buffer.concat([path, Buffer.alloc(1)]);
    } else {
      throw new InvalidArgTypeError(name, 'of type string or an instance of Buffer or Uint8Array', path);
    }
    return this.#buf(b, name);
  }

  #ts(ts: TimespecLike | null | undefined): number {
    if (ts === null || ts === undefined) return 0;
    const t = typeof ts === 'number' ? new Timespec(ts) : ts;
    if (!(t instanceof Timespec)) throw new InvalidArgTypeError('ts', 'a Timespec or a number of milliseconds', ts);
    return this.#buf(t.buffer, 'ts');
  }

  #struct(v: { buffer: Uint32Array } | BinaryView, name: string): number {
    if (isBinaryView(v)) return this.#buf(v, name);
    if (v && typeof v === 'object' && (v as { buffer?: unknown }).buffer instanceof Uint32Array) {
      this.#pin(v);
      return addressOf((v as { buffer: Uint32Array }).buffer, name);
    }
    throw new InvalidArgTypeError(name, 'a struct builder or binary view', v);
  }

  // ------------------------------------------------------------------ preps

  /** io_uring_prep_rw: the common fields every prep sets. */
  prepRw(op: number, fd: number, addr: number | bigint, len: number, off: Offset): this {
    fdField(fd);
    const m = this.#m;
    const w = this.#w;
    m.u8[w * 4] = field(op, 'op', 0, U8);
    m.i32[w + W_FD] = fd;
    // Validated before any store of the 64-bit fields too: a refused SQE is left as it was.
    m.u32[w + W_LEN] = field(len, 'len', I32_MIN, U32);
    putU64(m.u32, w + W_OFF, off, 'off');
    putU64(m.u32, w + W_ADDR, addr, 'addr');
    return this;
  }

  /** io_uring_prep_nop. */
  prepNop(): this {
    // The hot path of every benchmark: written directly, no validation needed.
    this.#m.u8[this.#w * 4] = U.IORING_OP_NOP;
    this.#m.i32[this.#w + W_FD] = -1;
    return this;
  }
  /** io_uring_prep_nop128 (needs IORING_SETUP_SQE_MIXED or SQE128). */
  prepNop128(): this {
    return this.prepRw(U.IORING_OP_NOP128, -1, 0, 0, 0);
  }

  // ---- read / write
  /** io_uring_prep_read. offset -1 reads at the file position. */
  prepRead(fd: number, buf: ArrayBufferView, nbytes?: number, offset: Offset = -1): this {
    const len = this.#len(buf, nbytes);
    return this.prepRw(U.IORING_OP_READ, fd, this.#buf(buf, 'buffer'), len, offset);
  }
  /** io_uring_prep_write. offset -1 writes at the file position. */
  prepWrite(fd: number, buf: ArrayBufferView, nbytes?: number, offset: Offset = -1): this {
    const len = this.#len(buf, nbytes);
    return this.prepRw(U.IORING_OP_WRITE, fd, this.#buf(buf, 'buffer'), len, offset);
  }
  /** io_uring_prep_read with IOSQE_BUFFER_SELECT: the kernel picks a buffer from `bufGroup`. */
  prepReadProvided(fd: number, nbytes: number, offset: Offset, bufGroup: number): this {
    this.prepRw(U.IORING_OP_READ, fd, 0, nbytes, offset);
    this.bufIndex = bufGroup;
    this.flags |= U.IOSQE_BUFFER_SELECT;
    return this;
  }
  /** io_uring_prep_read_multishot: reads into provided buffers until EOF or error. */
  prepReadMultishot(fd: number, nbytes: number, offset: Offset, bufGroup: number): this {
    this.prepRw(U.IORING_OP_READ_MULTISHOT, fd, 0, nbytes, offset);
    this.bufIndex = bufGroup;
    this.flags |= U.IOSQE_BUFFER_SELECT;
    return this;
  }
  /** io_uring_prep_readv / readv2. */
  prepReadv(fd: number, iovecs: Iovecs, offset: Offset = -1, flags = 0): this {
    this.prepRw(U.IORING_OP_READV, fd, this.#struct(iovecs, 'iovecs'), iovecs.length, offset);
    this.opFlags = flags;
    return this;
  }
  prepReadv2(fd: number, iovecs: Iovecs, offset: Offset, flags: number): this {
    return this.prepReadv(fd, iovecs, offset, flags);
  }
  /** io_uring_prep_writev / writev2. */
  prepWritev(fd: number, iovecs: Iovecs, offset: Offset = -1, flags = 0): this {
    this.prepRw(U.IORING_OP_WRITEV, fd, this.#struct(iovecs, 'iovecs'), iovecs.length, offset);
    this.opFlags = flags;
    return this;
  }
  prepWritev2(fd: number, iovecs: Iovecs, offset: Offset, flags: number): this {
    return this.prepWritev(fd, iovecs, offset, flags);
  }
  /** io_uring_prep_read_fixed: `buf` must lie inside registered buffer `bufIndex`. */
  prepReadFixed(fd: number, buf: ArrayBufferView, nbytes: number | undefined, offset: Offset, bufIndex: number): this {
    const len = this.#len(buf, nbytes);
    this.prepRw(U.IORING_OP_READ_FIXED, fd, this.#buf(buf, 'buffer'), len, offset);
    this.bufIndex = bufIndex;
    return this;
  }
  /** io_uring_prep_write_fixed. */
  prepWriteFixed(fd: number, buf: ArrayBufferView, nbytes: number | undefined, offset: Offset, bufIndex: number): this {
    const len = this.#len(buf, nbytes);
    this.prepRw(U.IORING_OP_WRITE_FIXED, fd, this.#buf(buf, 'buffer'), len, offset);
    this.bufIndex = bufIndex;
    return this;
  }
  /** io_uring_prep_readv_fixed: iovecs inside registered buffer `bufIndex`. */
  prepReadvFixed(fd: number, iovecs: Iovecs, offset: Offset, flags: number, bufIndex: number): this {
    this.prepReadv(fd, iovecs, offset, flags);
    this.opcode = U.IORING_OP_READV_FIXED;
    this.bufIndex = bufIndex;
    return this;
  }
  /** io_uring_prep_writev_fixed. */
  prepWritevFixed(fd: number, iovecs: Iovecs, offset: Offset, flags: number, bufIndex: number): this {
    this.prepWritev(fd, iovecs, offset, flags);
    this.opcode = U.IORING_OP_WRITEV_FIXED;
    this.bufIndex = bufIndex;
    return this;
  }

  // ---- sync, space, advice
  /** io_uring_prep_fsync; flags IORING_FSYNC_DATASYNC for fdatasync. */
  prepFsync(fd: number, flags = 0): this {
    this.prepRw(U.IORING_OP_FSYNC, fd, 0, 0, 0);
    this.opFlags = flags;
    return this;
  }
  /** io_uring_prep_sync_file_range. */
  prepSyncFileRange(fd: number, len: number, offset: Offset, flags = 0): this {
    this.prepRw(U.IORING_OP_SYNC_FILE_RANGE, fd, 0, len, offset);
    this.opFlags = flags;
    return this;
  }
  /** io_uring_prep_fallocate. */
  prepFallocate(fd: number, mode: number, offset: Offset, len: Offset): this {
    return this.prepRw(U.IORING_OP_FALLOCATE, fd, len, mode, offset);
  }
  /** io_uring_prep_ftruncate. */
  prepFtruncate(fd: number, len: Offset): this {
    return this.prepRw(U.IORING_OP_FTRUNCATE, fd, 0, 0, len);
  }
  /** io_uring_prep_fadvise (32-bit length). */
  prepFadvise(fd: number, offset: Offset, len: number, advice: number): this {
    this.prepRw(U.IORING_OP_FADVISE, fd, 0, len, offset);
    this.opFlags = advice;
    return this;
  }
  /** io_uring_prep_fadvise64 (64-bit length, in addr). */
  prepFadvise64(fd: number, offset: Offset, len: Offset, advice: number): this {
    this.prepRw(U.IORING_OP_FADVISE, fd, len, 0, offset);
    this.opFlags = advice;
    return this;
  }
  /** io_uring_prep_madvise over the pages of `buf`. */
  prepMadvise(buf: BinaryView, advice: number, length?: number): this {
    this.prepRw(U.IORING_OP_MADVISE, -1, this.#buf(buf, 'buffer'), this.#len(buf, length), 0);
    this.opFlags = advice;
    return this;
  }
  /** io_uring_prep_madvise64. */
  prepMadvise64(buf: BinaryView, advice: number, length?: number): this {
    this.prepRw(U.IORING_OP_MADVISE, -1, this.#buf(buf, 'buffer'), 0, this.#len(buf, length));
    this.opFlags = advice;
    return this;
  }

  // ---- poll
  /** io_uring_prep_poll_add: one CQE when `mask` (POLLIN, ...) is ready. */
  prepPollAdd(fd: number, mask: number): this {
    this.prepRw(U.IORING_OP_POLL_ADD, fd, 0, 0, 0);
    this.opFlags = mask;
    return this;
  }
  /** io_uring_prep_poll_multishot: a CQE (with F_MORE) each time `mask` becomes ready. */
  prepPollMultishot(fd: number, mask: number): this {
    this.prepPollAdd(fd, mask);
    this.len = U.IORING_POLL_ADD_MULTI;
    return this;
  }
  /** io_uring_prep_poll_remove: removes the poll whose user data is `userData`. */
  prepPollRemove(userData: bigint | number): this {
    this.prepRw(U.IORING_OP_POLL_REMOVE, -1, userData, 0, 0);
    return this;
  }
  /** io_uring_prep_poll_update: `flags` IORING_POLL_UPDATE_EVENTS / _USER_DATA. */
  prepPollUpdate(oldUserData: bigint | number, newUserData: bigint | number, mask: number, flags: number): this {
    this.prepRw(U.IORING_OP_POLL_REMOVE, -1, oldUserData, flags, newUserData);
    this.opFlags = mask;
    return this;
  }
  /** io_uring_prep_epoll_ctl. `event` is an epollEvent() buffer (or null for EPOLL_CTL_DEL). */
  prepEpollCtl(epfd: number, fd: number, op: number, event: Uint8Array | null): this {
    return this.prepRw(U.IORING_OP_EPOLL_CTL, epfd, this.#buf(event, 'event'), op, fd);
  }
  /** io_uring_prep_epoll_wait: `events` holds room for maxevents 12-byte epoll_events. */
  prepEpollWait(fd: number, events: Uint8Array, maxevents: number, flags = 0): this {
    this.#need(events, 'events');
    field(maxevents, 'maxevents', 0, U32);
    if (maxevents * 12 > events.byteLength)
      throw new OutOfRangeError('maxevents', `<= ${Math.floor(events.byteLength / 12)}`, maxevents);
    this.prepRw(U.IORING_OP_EPOLL_WAIT, fd, this.#buf(events, 'events'), maxevents, 0);
    this.opFlags = flags;
    return this;
  }

  // ---- timeouts and cancellation
  /**
   * io_uring_prep_timeout: completes (-ETIME) after `ts`, or (0) once `count`
   * other completions have arrived. `ts` is a Timespec or milliseconds.
   */
  prepTimeout(ts: TimespecLike, count = 0, flags = 0): this {
    this.prepRw(U.IORING_OP_TIMEOUT, -1, this.#ts(ts), 1, count);
    this.opFlags = flags;
    return this;
  }
  /** io_uring_prep_timeout_remove. */
  prepTimeoutRemove(userData: bigint | number, flags = 0): this {
    this.prepRw(U.IORING_OP_TIMEOUT_REMOVE, -1, userData, 0, 0);
    this.opFlags = flags;
    return this;
  }
  /** io_uring_prep_timeout_update. */
  prepTimeoutUpdate(ts: TimespecLike, userData: bigint | number, flags = 0): this {
    this.prepRw(U.IORING_OP_TIMEOUT_REMOVE, -1, userData, 0, this.#ts(ts));
    this.opFlags = field(flags, 'flags', I32_MIN, U32) | U.IORING_TIMEOUT_UPDATE;
    return this;
  }
  /** io_uring_prep_link_timeout: bounds the SQE linked before it (IOSQE_IO_LINK). */
  prepLinkTimeout(ts: TimespecLike, flags = 0): this {
    this.prepRw(U.IORING_OP_LINK_TIMEOUT, -1, this.#ts(ts), 1, 0);
    this.opFlags = flags;
    return this;
  }
  /** io_uring_prep_cancel64: cancels the request with this user data. */
  prepCancel64(userData: bigint | number, flags = 0): this {
    this.prepRw(U.IORING_OP_ASYNC_CANCEL, -1, userData, 0, 0);
    this.opFlags = flags;
    return this;
  }
  /** io_uring_prep_cancel (user data as bigint or number). */
  prepCancel(userData: bigint | number, flags = 0): this {
    return this.prepCancel64(userData, flags);
  }
  /** io_uring_prep_cancel_fd: cancels requests on `fd`. */
  prepCancelFd(fd: number, flags = 0): this {
    this.prepRw(U.IORING_OP_ASYNC_CANCEL, fd, 0, 0, 0);
    this.opFlags = field(flags, 'flags', I32_MIN, U32) | U.IORING_ASYNC_CANCEL_FD;
    return this;
  }

  // ---- files and paths
  /** io_uring_prep_openat. */
  prepOpenat(dfd: number, path: PathLike, flags: number, mode = 0): this {
    this.prepRw(U.IORING_OP_OPENAT, dfd, this.#path(path), mode, 0);
    this.opFlags = flags;
    return this;
  }
  /** io_uring_prep_openat_direct: into direct descriptor `fileIndex` (or IORING_FILE_INDEX_ALLOC). */
  prepOpenatDirect(dfd: number, path: PathLike, flags: number, mode: number, fileIndex: number): this {
    this.prepOpenat(dfd, path, flags, mode);
    return this.#targetFixed(fileIndex);
  }
  /** io_uring_prep_openat2; `how` from openHow(). */
  prepOpenat2(dfd: number, path: PathLike, how: Uint32Array): this {
    this.#need(how, 'how', Uint32Array);
    return this.prepRw(U.IORING_OP_OPENAT2, dfd, this.#path(path), how.byteLength, this.#buf(how, 'how'));
  }
  /** io_uring_prep_openat2_direct. */
  prepOpenat2Direct(dfd: number, path: PathLike, how: Uint32Array, fileIndex: number): this {
    this.prepOpenat2(dfd, path, how);
    return this.#targetFixed(fileIndex);
  }
  /** io_uring_prep_close. */
  prepClose(fd: number): this {
    return this.prepRw(U.IORING_OP_CLOSE, fd, 0, 0, 0);
  }
  /** io_uring_prep_close_direct: closes direct descriptor `fileIndex`. */
  prepCloseDirect(fileIndex: number): this {
    field(fileIndex, 'fileIndex', 0, U32 - 1);
    this.prepClose(0);
    this.fileIndex = fileIndex + 1;
    return this;
  }
  /** io_uring_prep_files_update: replaces registered files from `offset`. */
  prepFilesUpdate(fds: Int32Array, offset: number): this {
    this.#need(fds, 'fds', Int32Array);
    return this.prepRw(U.IORING_OP_FILES_UPDATE, -1, this.#buf(fds, 'fds'), fds.length, offset);
  }
  /** io_uring_prep_fixed_fd_install: a regular fd for direct descriptor `fileIndex`. */
  prepFixedFdInstall(fileIndex: number, flags = 0): this {
    this.prepRw(U.IORING_OP_FIXED_FD_INSTALL, fileIndex, 0, 0, 0);
    this.flags = U.IOSQE_FIXED_FILE;
    this.opFlags = flags;
    return this;
  }
  /** io_uring_prep_statx: the kernel fills `statxbuf` (256 bytes) at completion. */
  prepStatx(dfd: number, path: PathLike, flags: number, mask: number, statxbuf: Uint8Array): this {
    if (!(statxbuf instanceof Uint8Array) || statxbuf.byteLength < 256) {
      throw new InvalidArgValueError('statxbuf', statxbuf, 'must be a Uint8Array of at least 256 bytes');
    }
    this.prepRw(U.IORING_OP_STATX, dfd, this.#path(path), mask, this.#buf(statxbuf, 'statxbuf'));
    this.opFlags = flags;
    return this;
  }
  /** io_uring_prep_renameat. */
  prepRenameat(olddfd: number, oldpath: PathLike, newdfd: number, newpath: PathLike, flags = 0): this {
    this.prepRw(U.IORING_OP_RENAMEAT, olddfd, this.#path(oldpath, 'oldPath'), newdfd, this.#path(newpath, 'newPath'));
    this.opFlags = flags;
    return this;
  }
  /** io_uring_prep_rename. */
  prepRename(oldpath: PathLike, newpath: PathLike): this {
    return this.prepRenameat(U.AT_FDCWD, oldpath, U.AT_FDCWD, newpath, 0);
  }
  /** io_uring_prep_unlinkat; AT_REMOVEDIR removes a directory. */
  prepUnlinkat(dfd: number, path: PathLike, flags = 0): this {
    this.prepRw(U.IORING_OP_UNLINKAT, dfd, this.#path(path), 0, 0);
    this.opFlags = flags;
    return this;
  }
  /** io_uring_prep_unlink. */
  prepUnlink(path: PathLike, flags = 0): this {
    return this.prepUnlinkat(U.AT_FDCWD, path, flags);
  }
  /** io_uring_prep_mkdirat. */
  prepMkdirat(dfd: number, path: PathLike, mode: number): this {
    return this.prepRw(U.IORING_OP_MKDIRAT, dfd, this.#path(path), mode, 0);
  }
  /** io_uring_prep_mkdir. */
  prepMkdir(path: PathLike, mode: number): this {
    return this.prepMkdirat(U.AT_FDCWD, path, mode);
  }
  /** io_uring_prep_symlinkat. */
  prepSymlinkat(target: PathLike, newdirfd: number, linkpath: PathLike): this {
    return this.prepRw(
      U.IORING_OP_SYMLINKAT,
      newdirfd,
      this.#path(target, 'target'),
      0,
      this.#path(linkpath, 'linkpath'),
    );
  }
  /** io_uring_prep_symlink. */
  prepSymlink(target: PathLike, linkpath: PathLike): this {
    return this.prepSymlinkat(target, U.AT_FDCWD, linkpath);
  }
  /** io_uring_prep_linkat. */
  prepLinkat(olddfd: number, oldpath: PathLike, newdfd: number, newpath: PathLike, flags = 0): this {
    this.prepRw(U.IORING_OP_LINKAT, olddfd, this.#path(oldpath, 'oldPath'), newdfd, this.#path(newpath, 'newPath'));
    this.opFlags = flags;
    return this;
  }
  /** io_uring_prep_link. */
  prepLink(oldpath: PathLike, newpath: PathLike, flags = 0): this {
    return this.prepLinkat(U.AT_FDCWD, oldpath, U.AT_FDCWD, newpath, flags);
  }

  // ---- extended attributes
  /** io_uring_prep_fsetxattr. */
  prepFsetxattr(fd: number, name: PathLike, value: Uint8Array, flags = 0): this {
    this.#need(value, 'value');
    this.prepRw(U.IORING_OP_FSETXATTR, fd, this.#path(name, 'name'), value.byteLength, this.#buf(value, 'value'));
    this.opFlags = flags;
    return this;
  }
  /** io_uring_prep_setxattr. */
  prepSetxattr(name: PathLike, value: Uint8Array, path: PathLike, flags = 0): this {
    this.#need(value, 'value');
    this.prepRw(U.IORING_OP_SETXATTR, 0, this.#path(name, 'name'), value.byteLength, this.#buf(value, 'value'));
    this.addr3 = this.#path(path);
    this.opFlags = flags;
    return this;
  }
  /** io_uring_prep_fgetxattr: the value is written into `value` at completion. */
  prepFgetxattr(fd: number, name: PathLike, value: Uint8Array): this {
    this.#need(value, 'value');
    return this.prepRw(
      U.IORING_OP_FGETXATTR,
      fd,
      this.#path(name, 'name'),
      value.byteLength,
      this.#buf(value, 'value'),
    );
  }
  /** io_uring_prep_getxattr. */
  prepGetxattr(name: PathLike, value: Uint8Array, path: PathLike): this {
    this.#need(value, 'value');
    this.prepRw(U.IORING_OP_GETXATTR, 0, this.#path(name, 'name'), value.byteLength, this.#buf(value, 'value'));
    this.addr3 = this.#path(path);
    return this;
  }

  // ---- pipes and splicing
  /** io_uring_prep_splice: fdIn or fdOut must be a pipe; offsets -1 for pipes / file position. */
  prepSplice(fdIn: number, offIn: Offset, fdOut: number, offOut: Offset, nbytes: number, spliceFlags = 0): this {
    fdField(fdIn, 'fdIn');
    this.prepRw(U.IORING_OP_SPLICE, fdOut, offIn, nbytes, offOut);
    this.#m.i32[this.#w + W_FILE_INDEX] = fdIn;
    this.opFlags = spliceFlags;
    return this;
  }
  /** io_uring_prep_tee. */
  prepTee(fdIn: number, fdOut: number, nbytes: number, spliceFlags = 0): this {
    fdField(fdIn, 'fdIn');
    this.prepRw(U.IORING_OP_TEE, fdOut, 0, nbytes, 0);
    this.#m.i32[this.#w + W_FILE_INDEX] = fdIn;
    this.opFlags = spliceFlags;
    return this;
  }
  /** io_uring_prep_pipe: the kernel writes the two new fds into `fds` at completion. */
  prepPipe(fds: Int32Array, pipeFlags = 0): this {
    if (!(fds instanceof Int32Array) || fds.length < 2)
      throw new InvalidArgValueError('fds', fds, 'must be an Int32Array of length 2');
    this.prepRw(U.IORING_OP_PIPE, 0, this.#buf(fds, 'fds'), 0, 0);
    this.opFlags = pipeFlags;
    return this;
  }
  /** io_uring_prep_pipe_direct: both ends as direct descriptors from `fileIndex`. */
  prepPipeDirect(fds: Int32Array, pipeFlags: number, fileIndex: number): this {
    this.prepPipe(fds, pipeFlags);
    return this.#targetFixed(fileIndex);
  }

  // ---- sockets
  /** io_uring_prep_socket. */
  prepSocket(domain: number, type: number, protocol = 0, flags = 0): this {
    this.prepRw(U.IORING_OP_SOCKET, domain, 0, protocol, type);
    this.opFlags = flags;
    return this;
  }
  /** io_uring_prep_socket_direct. */
  prepSocketDirect(domain: number, type: number, protocol: number, fileIndex: number, flags = 0): this {
    this.prepSocket(domain, type, protocol, flags);
    return this.#targetFixed(fileIndex);
  }
  /** io_uring_prep_socket_direct_alloc. */
  prepSocketDirectAlloc(domain: number, type: number, protocol = 0, flags = 0): this {
    return this.prepSocketDirect(domain, type, protocol, U.IORING_FILE_INDEX_ALLOC, flags);
  }
  /** io_uring_prep_bind; `addr` from sockaddr(). */
  prepBind(fd: number, addr: Uint8Array): this {
    this.#need(addr, 'addr');
    return this.prepRw(U.IORING_OP_BIND, fd, this.#buf(addr, 'addr'), 0, addr.byteLength);
  }
  /** io_uring_prep_listen. */
  prepListen(fd: number, backlog: number): this {
    return this.prepRw(U.IORING_OP_LISTEN, fd, 0, backlog, 0);
  }
  /** io_uring_prep_connect; `addr` from sockaddr(). */
  prepConnect(fd: number, addr: Uint8Array): this {
    this.#need(addr, 'addr');
    return this.prepRw(U.IORING_OP_CONNECT, fd, this.#buf(addr, 'addr'), 0, addr.byteLength);
  }
  /**
   * io_uring_prep_accept. With `addr`, `addrlen` (a Uint32Array of one,
   * holding addr's size) receives the peer's address at completion.
   */
  prepAccept(fd: number, addr: Uint8Array | null = null, addrlen: Uint32Array | null = null, flags = 0): this {
    if (addr != null) this.#need(addr, 'addr');
    if (addrlen != null) this.#need(addrlen, 'addrlen', Uint32Array);
    if (addr && addrlen) addrlen[0] = Math.min(addrlen[0] || addr.byteLength, addr.byteLength);
    this.prepRw(U.IORING_OP_ACCEPT, fd, this.#buf(addr, 'addr'), 0, this.#buf(addrlen, 'addrlen'));
    this.opFlags = flags;
    return this;
  }
  /** io_uring_prep_accept_direct. */
  prepAcceptDirect(
    fd: number,
    addr: Uint8Array | null,
    addrlen: Uint32Array | null,
    flags: number,
    fileIndex: number,
  ): this {
    this.prepAccept(fd, addr, addrlen, flags);
    return this.#targetFixed(fileIndex);
  }
  /** io_uring_prep_multishot_accept: a CQE (with F_MORE) per connection. */
  prepMultishotAccept(fd: number, addr: Uint8Array | null = null, addrlen: Uint32Array | null = null, flags = 0): this {
    this.prepAccept(fd, addr, addrlen, flags);
    this.ioprio |= U.IORING_ACCEPT_MULTISHOT;
    return this;
  }
  /** io_uring_prep_multishot_accept_direct. */
  prepMultishotAcceptDirect(
    fd: number,
    addr: Uint8Array | null = null,
    addrlen: Uint32Array | null = null,
    flags = 0,
  ): this {
    this.prepMultishotAccept(fd, addr, addrlen, flags);
    return this.#targetFixed(U.IORING_FILE_INDEX_ALLOC);
  }
  /** io_uring_prep_send. */
  prepSend(fd: number, buf: ArrayBufferView, nbytes?: number, flags = 0): this {
    const len = this.#len(buf, nbytes);
    this.prepRw(U.IORING_OP_SEND, fd, this.#buf(buf, 'buffer'), len, 0);
    this.opFlags = flags;
    return this;
  }
  /** io_uring_prep_send_bundle: sends as many provided buffers of the group as fit `len`. */
  prepSendBundle(fd: number, len: number, flags: number, bufGroup: number): this {
    this.prepRw(U.IORING_OP_SEND, fd, 0, len, 0);
    this.opFlags = flags;
    this.ioprio |= U.IORING_RECVSEND_BUNDLE;
    this.flags |= U.IOSQE_BUFFER_SELECT;
    this.bufIndex = bufGroup;
    return this;
  }
  /** io_uring_prep_sendto. */
  prepSendto(fd: number, buf: ArrayBufferView, nbytes: number | undefined, flags: number, addr: Uint8Array): this {
    this.prepSend(fd, buf, nbytes, flags);
    return this.prepSendSetAddr(addr);
  }
  /** io_uring_prep_send_set_addr: destination address for send / send_zc. */
  prepSendSetAddr(addr: Uint8Array): this {
    this.#need(addr, 'addr');
    putU64(this.#m.u32, this.#w + W_OFF, this.#buf(addr, 'addr'));
    this.#m.u16[this.#w * 2 + 22] = addr.byteLength;
    return this;
  }
  /**
   * io_uring_prep_send_zc: zero-copy send. Two CQEs: the result (with F_MORE),
   * then a notification (F_NOTIF) once the kernel no longer needs `buf`.
   */
  prepSendZc(fd: number, buf: ArrayBufferView, nbytes: number | undefined, flags = 0, zcFlags = 0): this {
    const len = this.#len(buf, nbytes);
    this.prepRw(U.IORING_OP_SEND_ZC, fd, this.#buf(buf, 'buffer'), len, 0);
    this.opFlags = flags;
    this.ioprio = zcFlags;
    return this;
  }
  /** io_uring_prep_send_zc_fixed: from registered buffer `bufIndex`. */
  prepSendZcFixed(
    fd: number,
    buf: ArrayBufferView,
    nbytes: number | undefined,
    flags: number,
    zcFlags: number,
    bufIndex: number,
  ): this {
    this.prepSendZc(fd, buf, nbytes, flags, field(zcFlags, 'zcFlags', 0, U16) | U.IORING_RECVSEND_FIXED_BUF);
    this.bufIndex = bufIndex;
    return this;
  }
  /** io_uring_prep_recv. */
  prepRecv(fd: number, buf: ArrayBufferView | null, nbytes?: number, flags = 0): this {
    const len = this.#len(buf, nbytes);
    this.prepRw(U.IORING_OP_RECV, fd, this.#buf(buf, 'buffer'), len, 0);
    this.opFlags = flags;
    return this;
  }
  /**
   * io_uring_prep_recv_multishot: a CQE (with F_MORE) per receive, each into a
   * buffer the kernel picks from provided-buffer group `bufGroup`.
   */
  prepRecvMultishot(fd: number, bufGroup: number, flags = 0): this {
    this.prepRw(U.IORING_OP_RECV, fd, 0, 0, 0);
    this.opFlags = flags;
    this.ioprio |= U.IORING_RECV_MULTISHOT;
    this.flags |= U.IOSQE_BUFFER_SELECT;
    this.bufIndex = bufGroup;
    return this;
  }
  /** io_uring_prep_recv_zc (zero-copy receive into a registered interface queue). */
  prepRecvZc(fd: number, len: number, flags: number, ifqIndex: number): this {
    this.prepRw(U.IORING_OP_RECV_ZC, fd, 0, len, 0);
    this.opFlags = flags;
    this.ioprio |= U.IORING_RECV_MULTISHOT;
    this.fileIndex = ifqIndex;
    return this;
  }
  /** io_uring_prep_sendmsg; `msg` from new Msghdr(). */
  prepSendmsg(fd: number, msg: Msghdr, flags = 0): this {
    this.prepRw(U.IORING_OP_SENDMSG, fd, this.#struct(msg, 'msg'), 1, 0);
    this.opFlags = flags;
    return this;
  }
  /** io_uring_prep_sendmsg_zc. */
  prepSendmsgZc(fd: number, msg: Msghdr, flags = 0): this {
    this.prepSendmsg(fd, msg, flags);
    this.opcode = U.IORING_OP_SENDMSG_ZC;
    return this;
  }
  /** io_uring_prep_recvmsg. */
  prepRecvmsg(fd: number, msg: Msghdr, flags = 0): this {
    this.prepRw(U.IORING_OP_RECVMSG, fd, this.#struct(msg, 'msg'), 1, 0);
    this.opFlags = flags;
    return this;
  }
  /** io_uring_prep_recvmsg_multishot: with IOSQE_BUFFER_SELECT and a buffer group. */
  prepRecvmsgMultishot(fd: number, msg: Msghdr, flags: number, bufGroup: number): this {
    this.prepRecvmsg(fd, msg, flags);
    this.ioprio |= U.IORING_RECV_MULTISHOT;
    this.flags |= U.IOSQE_BUFFER_SELECT;
    this.bufIndex = bufGroup;
    return this;
  }
  /** io_uring_prep_shutdown (SHUT_RD, SHUT_WR, SHUT_RDWR). */
  prepShutdown(fd: number, how: number): this {
    return this.prepRw(U.IORING_OP_SHUTDOWN, fd, 0, how, 0);
  }
  /** io_uring_prep_cmd_sock: SOCKET_URING_OP_* (SIOCINQ, GETSOCKOPT, SETSOCKOPT, ...). */
  prepCmdSock(cmdOp: number, fd: number, level = 0, optname = 0, optval: Uint8Array | null = null): this {
    this.prepUringCmd(cmdOp, fd);
    const u = this.#m.u32;
    u[this.#w + W_ADDR] = field(level, 'level', I32_MIN, U32);
    u[this.#w + W_ADDR + 1] = field(optname, 'optname', I32_MIN, U32);
    if (optval != null) this.#need(optval, 'optval');
    this.fileIndex = optval ? optval.byteLength : 0;
    putU64(u, this.#w + W_ADDR3, this.#buf(optval, 'optval'));
    return this;
  }
  /** io_uring_prep_uring_cmd: a driver-specific command `cmdOp` on `fd`. */
  prepUringCmd(cmdOp: number, fd: number): this {
    this.prepRw(U.IORING_OP_URING_CMD, fd, 0, 0, 0);
    this.#m.u32[this.#w + W_OFF] = field(cmdOp, 'cmdOp', I32_MIN, U32);
    return this;
  }
  /** io_uring_prep_uring_cmd128 (needs IORING_SETUP_SQE_MIXED or SQE128). */
  prepUringCmd128(cmdOp: number, fd: number): this {
    this.prepUringCmd(cmdOp, fd);
    this.opcode = U.IORING_OP_URING_CMD128;
    return this;
  }

  // ---- provided buffers (the legacy, SQE-based kind; see BufRing for rings)
  /** io_uring_prep_provide_buffers: `nr` buffers of `len` bytes from `buf`, ids from `bid`. */
  prepProvideBuffers(buf: ArrayBufferView, len: number, nr: number, bufGroup: number, bid: number): this {
    if (!ArrayBuffer.isView(buf))
      throw new InvalidArgTypeError('buffer', 'an instance of Buffer, TypedArray or DataView', buf);
    field(len, 'len', 0, U32);
    field(nr, 'nr', 0, U16 + 1);
    if (len * nr > buf.byteLength) throw new OutOfRangeError('len * nr', `<= ${buf.byteLength}`, len * nr);
    this.prepRw(U.IORING_OP_PROVIDE_BUFFERS, nr, this.#buf(buf, 'buffer'), len, bid);
    this.bufIndex = bufGroup;
    return this;
  }
  /** io_uring_prep_remove_buffers. */
  prepRemoveBuffers(nr: number, bufGroup: number): this {
    this.prepRw(U.IORING_OP_REMOVE_BUFFERS, nr, 0, 0, 0);
    this.bufIndex = bufGroup;
    return this;
  }

  // ---- rings, processes, futexes
  /** io_uring_prep_msg_ring: posts a CQE (res = len, user data = data) on ring `fd`. */
  prepMsgRing(fd: number, len: number, data: bigint | number, flags = 0): this {
    this.prepRw(U.IORING_OP_MSG_RING, fd, U.IORING_MSG_DATA, len, data);
    this.opFlags = flags;
    return this;
  }
  /** io_uring_prep_msg_ring_cqe_flags: as prepMsgRing, with the target CQE's flags. */
  prepMsgRingCqeFlags(fd: number, len: number, data: bigint | number, flags: number, cqeFlags: number): this {
    this.prepMsgRing(fd, len, data, U.IORING_MSG_RING_FLAGS_PASS | field(flags, 'flags', I32_MIN, U32));
    this.fileIndex = cqeFlags;
    return this;
  }
  /** io_uring_prep_msg_ring_fd: sends direct descriptor `sourceFd` to slot `targetFd` of ring `fd`. */
  prepMsgRingFd(fd: number, sourceFd: number, targetFd: number, data: bigint | number, flags = 0): this {
    this.prepRw(U.IORING_OP_MSG_RING, fd, U.IORING_MSG_SEND_FD, 0, data);
    this.addr3 = sourceFd;
    this.#targetFixed(targetFd);
    this.opFlags = flags;
    return this;
  }
  /** io_uring_prep_msg_ring_fd_alloc. */
  prepMsgRingFdAlloc(fd: number, sourceFd: number, data: bigint | number, flags = 0): this {
    return this.prepMsgRingFd(fd, sourceFd, U.IORING_FILE_INDEX_ALLOC, data, flags);
  }
  /** io_uring_prep_waitid: `infop` (128 bytes, siginfo_t) is filled at completion. */
  prepWaitid(idtype: number, id: number, infop: Uint8Array | null, options: number, flags = 0): this {
    this.prepRw(U.IORING_OP_WAITID, id, 0, idtype, this.#buf(infop, 'infop'));
    this.opFlags = flags;
    this.fileIndex = options;
    return this;
  }
  /** io_uring_prep_futex_wait on the 32-bit word `futex[0]`. */
  prepFutexWait(futex: Uint32Array | Int32Array, val: Offset, mask: Offset, futexFlags: number, flags = 0): this {
    this.prepRw(U.IORING_OP_FUTEX_WAIT, futexFlags, this.#buf(futex, 'futex'), 0, val);
    this.opFlags = flags;
    this.addr3 = mask;
    return this;
  }
  /** io_uring_prep_futex_wake: wakes up to `val` waiters on `futex[0]`. */
  prepFutexWake(futex: Uint32Array | Int32Array, val: Offset, mask: Offset, futexFlags: number, flags = 0): this {
    this.prepRw(U.IORING_OP_FUTEX_WAKE, futexFlags, this.#buf(futex, 'futex'), 0, val);
    this.opFlags = flags;
    this.addr3 = mask;
    return this;
  }
  /** io_uring_prep_futex_waitv. */
  prepFutexWaitv(futexv: FutexWaitv, nrFutex: number, flags = 0): this {
    this.prepRw(U.IORING_OP_FUTEX_WAITV, 0, this.#struct(futexv, 'futexv'), nrFutex, 0);
    this.opFlags = flags;
    return this;
  }

  /** Direct-descriptor target: file_index is slot + 1 (0 means none); ALLOC stays ALLOC. */
  #targetFixed(fileIndex: number): this {
    field(fileIndex, 'fileIndex', 0, U32);
    this.fileIndex = fileIndex === U.IORING_FILE_INDEX_ALLOC ? U.IORING_FILE_INDEX_ALLOC : fileIndex + 1;
    return this;
  }
}

/** Every opcode has a prep; this maps each to the prep methods that issue it (for docs and tests). */
export const PREPS_BY_OPCODE: Readonly<Record<string, readonly (keyof Sqe)[]>> = {
  NOP: ['prepNop'],
  READV: ['prepReadv', 'prepReadv2'],
  WRITEV: ['prepWritev', 'prepWritev2'],
  FSYNC: ['prepFsync'],
  READ_FIXED: ['prepReadFixed'],
  WRITE_FIXED: ['prepWriteFixed'],
  POLL_ADD: ['prepPollAdd', 'prepPollMultishot'],
  POLL_REMOVE: ['prepPollRemove', 'prepPollUpdate'],
  SYNC_FILE_RANGE: ['prepSyncFileRange'],
  SENDMSG: ['prepSendmsg'],
  RECVMSG: ['prepRecvmsg', 'prepRecvmsgMultishot'],
  TIMEOUT: ['prepTimeout'],
  TIMEOUT_REMOVE: ['prepTimeoutRemove', 'prepTimeoutUpdate'],
  ACCEPT: ['prepAccept', 'prepAcceptDirect', 'prepMultishotAccept', 'prepMultishotAcceptDirect'],
  ASYNC_CANCEL: ['prepCancel', 'prepCancel64', 'prepCancelFd'],
  LINK_TIMEOUT: ['prepLinkTimeout'],
  CONNECT: ['prepConnect'],
  FALLOCATE: ['prepFallocate'],
  OPENAT: ['prepOpenat', 'prepOpenatDirect'],
  CLOSE: ['prepClose', 'prepCloseDirect'],
  FILES_UPDATE: ['prepFilesUpdate'],
  STATX: ['prepStatx'],
  READ: ['prepRead', 'prepReadProvided'],
  WRITE: ['prepWrite'],
  FADVISE: ['prepFadvise', 'prepFadvise64'],
  MADVISE: ['prepMadvise', 'prepMadvise64'],
  SEND: ['prepSend', 'prepSendto', 'prepSendBundle'],
  RECV: ['prepRecv', 'prepRecvMultishot'],
  OPENAT2: ['prepOpenat2', 'prepOpenat2Direct'],
  EPOLL_CTL: ['prepEpollCtl'],
  SPLICE: ['prepSplice'],
  PROVIDE_BUFFERS: ['prepProvideBuffers'],
  REMOVE_BUFFERS: ['prepRemoveBuffers'],
  TEE: ['prepTee'],
  SHUTDOWN: ['prepShutdown'],
  RENAMEAT: ['prepRenameat', 'prepRename'],
  UNLINKAT: ['prepUnlinkat', 'prepUnlink'],
  MKDIRAT: ['prepMkdirat', 'prepMkdir'],
  SYMLINKAT: ['prepSymlinkat', 'prepSymlink'],
  LINKAT: ['prepLinkat', 'prepLink'],
  MSG_RING: ['prepMsgRing', 'prepMsgRingCqeFlags', 'prepMsgRingFd', 'prepMsgRingFdAlloc'],
  FSETXATTR: ['prepFsetxattr'],
  SETXATTR: ['prepSetxattr'],
  FGETXATTR: ['prepFgetxattr'],
  GETXATTR: ['prepGetxattr'],
  SOCKET: ['prepSocket', 'prepSocketDirect', 'prepSocketDirectAlloc'],
  URING_CMD: ['prepUringCmd', 'prepCmdSock'],
  SEND_ZC: ['prepSendZc', 'prepSendZcFixed'],
  SENDMSG_ZC: ['prepSendmsgZc'],
  READ_MULTISHOT: ['prepReadMultishot'],
  WAITID: ['prepWaitid'],
  FUTEX_WAIT: ['prepFutexWait'],
  FUTEX_WAKE: ['prepFutexWake'],
  FUTEX_WAITV: ['prepFutexWaitv'],
  FIXED_FD_INSTALL: ['prepFixedFdInstall'],
  FTRUNCATE: ['prepFtruncate'],
  BIND: ['prepBind'],
  LISTEN: ['prepListen'],
  RECV_ZC: ['prepRecvZc'],
  EPOLL_WAIT: ['prepEpollWait'],
  READV_FIXED: ['prepReadvFixed'],
  WRITEV_FIXED: ['prepWritevFixed'],
  PIPE: ['prepPipe', 'prepPipeDirect'],
  NOP128: ['prepNop128'],
  URING_CMD128: ['prepUringCmd128'],
};
