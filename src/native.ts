// The one file that knows where the native addon lives and what it exports.
// Tests inject a fake binding (setNativeBinding) to simulate a kernel without
// io_uring, or a ring that misbehaves, without touching the real kernel.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export interface SetupParams {
  flags?: number;
  cqEntries?: number;
  sqThreadIdle?: number;
  sqThreadCpu?: number;
  wqFd?: number;
}

export interface RingOffsets {
  head: number;
  tail: number;
  ringMask: number;
  ringEntries: number;
  flags: number;
}

export interface SqOffsets extends RingOffsets {
  dropped: number;
  array: number;
}

export interface CqOffsets extends RingOffsets {
  overflow: number;
  cqes: number;
}

export interface SetupResult {
  handle: object;
  fd: number;
  flags: number;
  features: number;
  sqEntries: number;
  cqEntries: number;
  sqOff: SqOffsets;
  cqOff: CqOffsets;
  sqRing: ArrayBuffer;
  cqRing: ArrayBuffer;
  sqes: ArrayBuffer;
}

export type BinaryView = ArrayBufferView | ArrayBuffer;

export interface NativeBinding {
  /** A new ring, or -errno. */
  setup(entries: number, params?: SetupParams): SetupResult | number;
  /** Detach the views, cancel what is in flight, unmap and close. Idempotent. */
  close(handle: object): void;
  /** Records the ring's IORING_REGISTER_RING_FDS index, so teardown unregisters it. */
  ringRegistered(handle: object, index: number): void;
  /**
   * CQEs whose user data has bit 63 set carry new fds: when the ring goes
   * away, the native side closes those never consumed (past the CQ head).
   */
  ringOwnsFdResults(handle: object): void;
  /** io_uring_enter: the result, or -errno. Never throws. */
  enter(fd: number, toSubmit: number, minComplete: number, flags: number, timeoutNs?: number): number;
  /** io_uring_register: the result, or -errno. Never throws. */
  register(fd: number, op: number, arg: BinaryView | number | null, nr: number): number;
  /** The address of a view's first byte; -1 if its buffer is detached. */
  address(view: BinaryView): number;
  /** Zeroed, page-aligned memory, or -errno. */
  alignedAlloc(size: number): ArrayBuffer | number;
  /** A non-blocking eventfd, owned by this thread (see ownFd), or -errno. */
  eventfd(): number;
  /** close(2), after disowning fd: 0 or -errno. */
  closeFd(fd: number): number;
  /**
   * Makes fd this thread's: it is closed when the thread's environment goes
   * away (a worker ending, even by terminate()) unless disowned first.
   * socket() and eventfd() own what they return.
   */
  ownFd(fd: number): void;
  /**
   * fd is no longer this thread's to close at teardown. Called before a close
   * that does not go through closeFd (a CLOSE op through the ring): once
   * closed, the number may be another thread's socket.
   */
  disownFd(fd: number): void;
  /** How many fds this thread owns (tests). */
  ownedFds(): number;
  /**
   * Consumes a tagged CQE carrying the new descriptor `fd` (ownFdResults):
   * owns fd, then publishes the CQ head `head`, with no JavaScript between.
   */
  ringTakeFd(handle: object, head: number, fd: number): void;
  /**
   * A CLOSE of fd is written into a ring but not submitted: fd stays this
   * thread's (closed at its teardown) until the next submit of this thread
   * (enter with SQEs, or fdsSubmitted), and is not this thread's after.
   */
  closingFd(fd: number): void;
  /** An SQPOLL ring's tail is about to move: closes written so far may run (see closingFd). */
  fdsSubmitted(): void;
  /** Watches fd for readability and calls back; starts unref'd. */
  createPoller(fd: number, isEventfd: boolean, callback: () => void): object | number;
  pollerRef(poller: object, ref: boolean): void;
  pollerClose(poller: object): void;
  /** socket(2): an fd, owned by this thread (see ownFd), or -errno. */
  socket(domain: number, type: number, protocol: number): number;
  /** bind(2): 0 or -errno. */
  bind(fd: number, addr: Uint8Array): number;
  /** listen(2): 0 or -errno. */
  listen(fd: number, backlog: number): number;
  /** setsockopt(2) with an int value: 0 or -errno. SO_LINGER: the seconds (lingering on), or -1 (off). */
  setsockopt(fd: number, level: number, name: number, value: number): number;
  /** getsockopt(2) of an int option: its value, or -errno. */
  getsockopt(fd: number, level: number, name: number): number;
  /** getsockname(2), or getpeername(2) with `peer`: the address length written into `buf`, or -errno. */
  sockName(fd: number, buf: Uint8Array, peer: boolean): number;
  /** lseek(2): the new offset, or -errno. */
  lseek(fd: number, offset: number, whence: number): number;
  /** fcntl(2) with an int argument: its result, or -errno. */
  fcntl(fd: number, cmd: number, arg: number): number;
  /** memfd_create(2): a descriptor, or -errno. */
  memfdCreate(flags: number): number;
  readonly pageSize: number;
}

let binding: NativeBinding | undefined;
let loadError: unknown;

function load(): NativeBinding {
  const here = dirname(fileURLToPath(import.meta.url));
  // dist/src/native.js -> ../../build/Release/uring.node
  const require = createRequire(import.meta.url);
  return require(join(here, '..', '..', 'build', 'Release', 'uring.node')) as NativeBinding;
}

/** The native binding (loaded on first use), or the one a test injected. */
export function native(): NativeBinding {
  if (binding) return binding;
  if (loadError) throw loadError;
  try {
    binding = load();
  } catch (err) {
    loadError = err;
    throw err;
  }
  return binding;
}

/**
 * Replaces the native binding (tests only). Returns the previous one so a test
 * can restore it; pass undefined to go back to the real addon.
 */
export function setNativeBinding(fake: NativeBinding | undefined): NativeBinding | undefined {
  const prev = binding;
  binding = fake;
  loadError = undefined;
  return prev;
}
