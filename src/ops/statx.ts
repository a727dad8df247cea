// statx: file status, the kernel filling a 256-byte struct statx.
import { InvalidArgTypeError, recaptureStack } from '../errors.js';
import type { Sqe } from '../ring/sqe.js';
import { parseStatx, STATX_SIZE, type StatxResult } from '../ring/structs.js';
import { AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, STATX_BTIME } from '../ring/uapi.js';
import { PromiseOp } from '../runtime/op.js';
import type { SystemErrorInfo } from '../errors.js';
import { run, validateFd, type RunOptions } from './common.js';

export class StatxOp extends PromiseOp<StatxResult> {
  readonly buf = new Uint8Array(STATX_SIZE);
  constructor(
    readonly dirfd: number,
    readonly path: string,
    readonly flags: number,
    readonly mask: number,
    readonly name: string,
  ) {
    super();
  }
  get syscall(): string {
    return this.name;
  }
  override errorInfo(): SystemErrorInfo | undefined {
    return this.path === '' ? undefined : { path: this.path };
  }
  prep(sqe: Sqe): void {
    sqe.prepStatx(this.dirfd, this.path, this.flags, this.mask, this.buf);
  }
  override result(): StatxResult {
    return parseStatx(this.buf);
  }
}

export interface StatxOptions extends RunOptions {
  /** Do not follow a final symlink (lstat). */
  noFollow?: boolean;
  /** STATX_* fields wanted (default: basic stats and birth time). */
  mask?: number;
  dirfd?: number;
}

/** statx(2) on a path. */
export async function statx(path: string, options?: StatxOptions): Promise<StatxResult> {
  try {
    if (typeof path !== 'string') throw new InvalidArgTypeError('path', 'of type string', path);
    const flags = options?.noFollow ? AT_SYMLINK_NOFOLLOW : 0;
    const dirfd = options?.dirfd ?? AT_FDCWD;
    const op = new StatxOp(
      dirfd,
      path,
      flags,
      options?.mask ?? STATX_BASIC_STATS | STATX_BTIME,
      options?.noFollow ? 'lstat' : 'stat',
    );
    return await run(op, options).promise;
  } catch (err) {
    throw recaptureStack(err as Error, statx);
  }
}

/** statx(2) on an open file descriptor (fstat). */
export async function fstatx(fd: number, options?: RunOptions & { mask?: number }): Promise<StatxResult> {
  try {
    validateFd(fd);
    const op = new StatxOp(fd, '', AT_EMPTY_PATH, options?.mask ?? STATX_BASIC_STATS | STATX_BTIME, 'fstat');
    return await run(op, options).promise;
  } catch (err) {
    throw recaptureStack(err as Error, fstatx);
  }
}
