// One thin function per IORING_REGISTER_* operation the library uses. Each
// builds the argument struct in a typed array and lets Ring.register turn a
// negative result into a system error.
import { InvalidArgTypeError, OutOfRangeError } from '../errors.js';
import { validateBoolean, validateInteger } from '../validate.js';
import type { Ring } from './ring.js';
import { addressOf, putU64 } from './structs.js';
import * as U from './uapi.js';

/**
 * The ring argument of the register functions. By shape, not instanceof:
 * ring.ts imports this file (and a fake ring in tests is welcome).
 */
export function validateRing(ring: unknown): asserts ring is Ring {
  if (ring === null || typeof ring !== 'object' || typeof (ring as { register?: unknown }).register !== 'function') {
    throw new InvalidArgTypeError('ring', 'an instance of Ring', ring);
  }
}

function fdArray(fds: readonly number[] | Int32Array, name = 'fds'): Int32Array {
  if (fds instanceof Int32Array) return fds;
  if (!Array.isArray(fds)) throw new InvalidArgTypeError(name, 'an array of integers or an Int32Array', fds);
  fds.forEach((fd, i) => {
    if (!Number.isInteger(fd)) throw new InvalidArgTypeError(`${name}[${i}]`, 'an integer', fd);
    if (fd < -0x80000000 || fd > 0x7fffffff)
      throw new OutOfRangeError(`${name}[${i}]`, '>= -2147483648 && <= 2147483647', fd);
  });
  return Int32Array.from(fds);
}

/** Registers files as direct descriptors 0..n-1 (-1 leaves a slot empty). */
export function registerFiles(ring: Ring, fds: readonly number[] | Int32Array): void {
  validateRing(ring);
  const a = fdArray(fds);
  ring.register(U.IORING_REGISTER_FILES, a, a.length);
}

/** Registers `nr` empty direct-descriptor slots (IORING_RSRC_REGISTER_SPARSE). */
export function registerFilesSparse(ring: Ring, nr: number): void {
  validateRing(ring);
  validateInteger(nr, 'nr', 1, 0xffffffff);
  // struct io_uring_rsrc_register { u32 nr; u32 flags; u64 resv2; u64 data; u64 tags; }
  const reg = new Uint32Array(8);
  reg[0] = nr;
  reg[1] = U.IORING_RSRC_REGISTER_SPARSE;
  ring.register(U.IORING_REGISTER_FILES2, reg, reg.byteLength);
}

/** Replaces registered files from slot `offset`; returns how many were updated. */
export function registerFilesUpdate(ring: Ring, offset: number, fds: readonly number[] | Int32Array): number {
  validateRing(ring);
  validateInteger(offset, 'offset', 0, 0xffffffff);
  const a = fdArray(fds);
  // struct io_uring_files_update { u32 offset; u32 resv; u64 fds; }
  const upd = new Uint32Array(4);
  upd[0] = offset;
  putU64(upd, 2, addressOf(a, 'fds'));
  return ring.register(U.IORING_REGISTER_FILES_UPDATE, upd, a.length);
}

export function unregisterFiles(ring: Ring): void {
  validateRing(ring);
  ring.register(U.IORING_UNREGISTER_FILES, null, 0);
}

/** Limits automatic direct-descriptor allocation to [offset, offset + len). */
export function registerFileAllocRange(ring: Ring, offset: number, len: number): void {
  validateRing(ring);
  validateInteger(offset, 'offset', 0, 0xffffffff);
  validateInteger(len, 'len', 0, 0xffffffff);
  const r = new Uint32Array(4);
  r[0] = offset;
  r[1] = len;
  ring.register(U.IORING_REGISTER_FILE_ALLOC_RANGE, r, 0);
}

/**
 * Registers buffers for read_fixed / write_fixed / send_zc_fixed. The kernel
 * pins their pages; the ring keeps them referenced until unregistered.
 */
export function registerBuffers(ring: Ring, buffers: readonly ArrayBufferView[]): void {
  validateRing(ring);
  if (!Array.isArray(buffers) || buffers.length === 0)
    throw new InvalidArgTypeError('buffers', 'a non-empty array of ArrayBufferView', buffers);
  const iov = new Uint32Array(buffers.length * 4);
  buffers.forEach((b, i) => {
    if (!ArrayBuffer.isView(b)) throw new InvalidArgTypeError(`buffers[${i}]`, 'an ArrayBufferView', b);
    putU64(iov, i * 4, addressOf(b, `buffers[${i}]`));
    putU64(iov, i * 4 + 2, b.byteLength);
  });
  ring.register(U.IORING_REGISTER_BUFFERS, iov, buffers.length);
  ring.registeredBuffers = buffers.slice();
}

export function unregisterBuffers(ring: Ring): void {
  validateRing(ring);
  ring.register(U.IORING_UNREGISTER_BUFFERS, null, 0);
  ring.registeredBuffers = [];
}

/** The eventfd is signalled on every completion (or only async ones with `async`). */
export function registerEventfd(ring: Ring, fd: number, async = false): void {
  validateRing(ring);
  validateInteger(fd, 'fd', 0, 0x7fffffff);
  validateBoolean(async, 'async');
  ring.register(async ? U.IORING_REGISTER_EVENTFD_ASYNC : U.IORING_REGISTER_EVENTFD, Int32Array.of(fd), 1);
}

export function unregisterEventfd(ring: Ring): void {
  validateRing(ring);
  ring.register(U.IORING_UNREGISTER_EVENTFD, null, 0);
}

/** Caps the kernel's async workers: [bounded, unbounded]; 0 leaves one unchanged. Returns the previous values. */
export function registerIowqMaxWorkers(ring: Ring, bounded: number, unbounded: number): [number, number] {
  validateRing(ring);
  validateInteger(bounded, 'bounded', 0, 0xffffffff);
  validateInteger(unbounded, 'unbounded', 0, 0xffffffff);
  const v = Uint32Array.of(bounded, unbounded);
  ring.register(U.IORING_REGISTER_IOWQ_MAX_WORKERS, v, 2);
  return [v[0]!, v[1]!];
}
