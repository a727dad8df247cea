// openat and close.
import { InvalidArgTypeError, recaptureStack } from '../errors.js';
import { constants } from 'node:fs';
import type { Sqe } from '../ring/sqe.js';
import { AT_FDCWD } from '../ring/uapi.js';
import { PromiseOp } from '../runtime/op.js';
import type { SystemErrorInfo } from '../errors.js';
import { validateInteger } from '../validate.js';
import { run, validateFd, type RunOptions } from './common.js';
import { native } from '../native.js';

const O_CLOEXEC = 0o2000000;

export class OpenatOp extends PromiseOp<number> {
  override resultIsFd = true;
  constructor(
    readonly dirfd: number,
    readonly path: string | Uint8Array,
    readonly flags: number,
    readonly mode: number,
    /** Register the new fd with this thread (see OpenatOptions.own). */
    readonly own = false,
  ) {
    super();
  }
  get syscall(): string {
    return 'open';
  }
  override complete(res: number, flags: number): void {
    // The ring made the fd this thread's as it consumed the CQE (Ring
    // forEachCqe), so that no moment of a worker's termination leaks it;
    // a raw descriptor for the caller is theirs, as node's are.
    if (res >= 0 && !this.own) native().disownFd(res);
    super.complete(res, flags);
  }
  override errorInfo(): SystemErrorInfo {
    return { path: typeof this.path === 'string' ? this.path : Buffer.from(this.path).toString() };
  }
  prep(sqe: Sqe): void {
    sqe.prepOpenat(this.dirfd, this.path, this.flags, this.mode);
  }
}

export interface OpenatOptions extends RunOptions {
  /** Resolve relative paths against this directory fd (default: the working directory). */
  dirfd?: number;
  /**
   * The descriptor belongs to this thread: when the thread ends with it
   * still open (a worker terminated mid-copy, when no JavaScript runs any
   * more), it is closed rather than leaked. close() (or CloseOp) gives it
   * up first; close it through them, not through node:fs. Off by default:
   * a raw descriptor may be handed to another thread, as node's are.
   */
  own?: boolean;
}

/**
 * Opens `path` (O_* flags, O_CLOEXEC always added) and resolves with the new
 * file descriptor. If the caller aborts and the open still completes, the
 * descriptor is closed for them.
 */
export async function openat(
  path: string | Uint8Array,
  flags = constants.O_RDONLY,
  mode = 0o666,
  options?: OpenatOptions,
): Promise<number> {
  try {
    if (typeof path !== 'string' && !(path instanceof Uint8Array))
      throw new InvalidArgTypeError('path', 'of type string or an instance of Buffer', path);
    // Checked here, for the names: the SQE's fields would refuse them as opFlags and len.
    validateInteger(flags, 'flags', -0x80000000, 0xffffffff);
    validateInteger(mode, 'mode', 0, 0xffffffff);
    const dirfd = options?.dirfd ?? AT_FDCWD;
    if (dirfd !== AT_FDCWD) validateFd(dirfd, 'dirfd');
    return await run(new OpenatOp(dirfd, path, flags | O_CLOEXEC, mode, options?.own === true), options).promise;
  } catch (err) {
    throw recaptureStack(err as Error, openat);
  }
}

export class CloseOp extends PromiseOp<void> {
  constructor(readonly fd: number) {
    super();
  }
  get syscall(): string {
    return 'close';
  }
  prep(sqe: Sqe): void {
    // An fd the thread owns is given up once this SQE goes to the kernel,
    // which may then close it and give its number to another thread's
    // file, which this thread's teardown must not close; a thread ending
    // before that never submits this close, and its teardown closes fd.
    native().closingFd(this.fd);
    sqe.prepClose(this.fd);
  }
  override result(): void {}
}

/** Closes a file descriptor. */
export async function close(fd: number, options?: RunOptions): Promise<void> {
  try {
    validateFd(fd);
    return await run(new CloseOp(fd), options).promise;
  } catch (err) {
    throw recaptureStack(err as Error, close);
  }
}
