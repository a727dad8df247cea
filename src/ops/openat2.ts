// openat2: open with resolve rules (RESOLVE_BENEATH and friends), which
// plain openat cannot express. The kernel reads the 24-byte struct open_how
// when the SQE is submitted; the op keeps it referenced until its CQE anyway.
import { InvalidArgTypeError, recaptureStack, type SystemErrorInfo } from '../errors.js';
import { constants } from 'node:fs';
import type { Sqe } from '../ring/sqe.js';
import { openHow } from '../ring/structs.js';
import { AT_FDCWD } from '../ring/uapi.js';
import { PromiseOp } from '../runtime/op.js';
import { validateInteger } from '../validate.js';
import { run, validateFd, type RunOptions } from './common.js';
import { native } from '../native.js';

const O_CLOEXEC = 0o2000000;

/** Refuse crossing a mount point. */
export const RESOLVE_NO_XDEV = 0x01;
/** Refuse /proc/self/fd-style magic links. */
export const RESOLVE_NO_MAGICLINKS = 0x02;
/** Refuse every symlink. */
export const RESOLVE_NO_SYMLINKS = 0x04;
/** Every step must stay under dirfd: '..' above it and absolute paths or symlinks fail with EXDEV. */
export const RESOLVE_BENEATH = 0x08;
/** Resolve as if dirfd were the root directory. */
export const RESOLVE_IN_ROOT = 0x10;

export class Openat2Op extends PromiseOp<number> {
  override resultIsFd = true;
  readonly how: Uint32Array;
  constructor(
    readonly dirfd: number,
    readonly path: string,
    flags: number,
    mode: number,
    resolve: number,
  ) {
    super();
    this.how = openHow(flags, mode, resolve);
  }
  get syscall(): string {
    return 'openat2';
  }
  override errorInfo(): SystemErrorInfo {
    return { path: this.path };
  }
  prep(sqe: Sqe): void {
    sqe.prepOpenat2(this.dirfd, this.path, this.how);
  }
  override complete(res: number, flags: number): void {
    // A raw descriptor for the caller: not this thread's to close at its end (see OpenatOp).
    if (res >= 0) native().disownFd(res);
    super.complete(res, flags);
  }
}

export interface Openat2Options extends RunOptions {
  /** Resolve relative paths against this directory fd (default: the working directory). */
  dirfd?: number;
  /** O_* flags (default O_RDONLY; O_CLOEXEC always added). */
  flags?: number;
  mode?: number;
  /** RESOLVE_* flags. */
  resolve?: number;
}

/**
 * openat2(2): opens `path` under the resolve rules given and resolves with
 * the new file descriptor (closed for the caller if it aborts and the open
 * still completes).
 */
export async function openat2(path: string, options?: Openat2Options): Promise<number> {
  try {
    if (typeof path !== 'string') throw new InvalidArgTypeError('path', 'of type string', path);
    const flags = options?.flags ?? constants.O_RDONLY;
    const mode = options?.mode ?? 0;
    const resolve = options?.resolve ?? 0;
    validateInteger(flags, 'options.flags', 0, 0xffffffff);
    validateInteger(mode, 'options.mode', 0, 0o7777);
    validateInteger(resolve, 'options.resolve', 0, 0xffffffff);
    const dirfd = options?.dirfd ?? AT_FDCWD;
    if (dirfd !== AT_FDCWD) validateFd(dirfd, 'options.dirfd');
    return await run(new Openat2Op(dirfd, path, flags | O_CLOEXEC, mode, resolve), options).promise;
  } catch (err) {
    throw recaptureStack(err as Error, openat2);
  }
}
