// Every op as a Promise (or an async iterator for multishot ops).
export { nop, NopOp } from './nop.js';
export {
  read,
  write,
  readv,
  writev,
  readOp,
  writeOp,
  ReadOp,
  WriteOp,
  VectorOp,
  type RwOptions,
  type Position,
} from './rw.js';
export { readMany, writeMany, type Positions } from './rw-many.js';
export { fsync, FsyncOp } from './fsync.js';
export { poll, pollMultishot, PollOp, PollMultishotOp } from './poll.js';
export { openat, close, OpenatOp, CloseOp, type OpenatOptions } from './open.js';
export { statx, fstatx, StatxOp, type StatxOptions } from './statx.js';
export { sleep, timeout, TimeoutOp } from './timeout.js';
export { link } from './link.js';
export { validateOptions, detachedBufferCount, type RunOptions } from './common.js';
export { unlinkat, renameat, mkdirat, symlinkat, linkat, ftruncate, fallocate, PathOp } from './path.js';
export {
  accept,
  connect,
  send,
  recv,
  sendmsg,
  recvmsg,
  shutdown,
  cancelFd,
  AcceptOp,
  ConnectOp,
  SendOp,
  RecvOp,
  SendmsgOp,
  RecvmsgOp,
  ShutdownOp,
  CancelFdOp,
  type Accepted,
  type Datagram,
} from './net.js';
