// uring/ring: liburing's core in TypeScript. Synchronous, like liburing.
export { Ring, MAX_ENTRIES, MAX_CQ_ENTRIES, type RingOptions } from './ring.js';
export { Sqe, PREPS_BY_OPCODE, type SqeMemory, type Offset, type PathLike, type TimespecLike } from './sqe.js';
export { Cqe } from './cqe.js';
export { BufRing, type BufRingOptions } from './buf-ring.js';
export { Probe, probeRing } from './probe.js';
export * from './register.js';
export {
  Timespec,
  Iovecs,
  Msghdr,
  FutexWaitv,
  sockaddr,
  parseSockaddr,
  openHow,
  epollEvent,
  parseStatx,
  addressOf,
  writeU64,
  STATX_SIZE,
  type SocketAddress,
  type StatxResult,
} from './structs.js';
export * from './uapi.js';
