// Path operations: unlinkat, renameat, mkdirat, symlinkat, linkat — and the
// descriptor ones that change a file's size: ftruncate, fallocate.
import type { Sqe } from '../ring/sqe.js';
import { AT_FDCWD, AT_REMOVEDIR } from '../ring/uapi.js';
import { PromiseOp } from '../runtime/op.js';
import { recaptureStack, type SystemErrorInfo } from '../errors.js';
import { validateInt64, validateInteger } from '../validate.js';
import { run, validateFd, type RunOptions } from './common.js';

/** One op over one or two paths; `prepare` writes the SQE. */
export class PathOp extends PromiseOp<void> {
  constructor(
    readonly name: string,
    readonly prepare: (sqe: Sqe) => void,
    readonly path?: string,
    readonly dest?: string,
  ) {
    super();
  }
  get syscall(): string {
    return this.name;
  }
  override errorInfo(): SystemErrorInfo {
    return { path: this.path, dest: this.dest };
  }
  prep(sqe: Sqe): void {
    this.prepare(sqe);
  }
  override result(): void {}
}

async function runPath(op: PathOp, options: RunOptions | undefined, fn: Function): Promise<void> {
  try {
    await run(op, options).promise;
  } catch (err) {
    throw recaptureStack(err as Error, fn);
  }
}

// Sizes and offsets: what the kernel's signed loff_t holds (2n ** 64n + 5n would wrap to 5).
const MAX_OFF = 2n ** 63n - 1n;

/** unlinkat(2): removes a file (or, with `dir`, an empty directory). Async: a throwing options getter rejects. */
export async function unlinkat(path: string, options?: RunOptions & { dir?: boolean }): Promise<void> {
  const dir = options?.dir === true;
  return runPath(
    new PathOp(dir ? 'rmdir' : 'unlink', (s) => s.prepUnlinkat(AT_FDCWD, path, dir ? AT_REMOVEDIR : 0), path),
    options,
    unlinkat,
  );
}

/** renameat2(2); `flags` RENAME_NOREPLACE (1), RENAME_EXCHANGE (2). */
export async function renameat(
  oldPath: string,
  newPath: string,
  options?: RunOptions & { flags?: number },
): Promise<void> {
  return runPath(
    new PathOp(
      'rename',
      (s) => s.prepRenameat(AT_FDCWD, oldPath, AT_FDCWD, newPath, options?.flags ?? 0),
      oldPath,
      newPath,
    ),
    options,
    renameat,
  );
}

/** mkdirat(2). */
export async function mkdirat(path: string, mode = 0o777, options?: RunOptions): Promise<void> {
  validateInteger(mode, 'mode', 0, 0xffffffff);
  return runPath(new PathOp('mkdir', (s) => s.prepMkdirat(AT_FDCWD, path, mode), path), options, mkdirat);
}

/** symlinkat(2): creates `path` pointing at `target`. */
export async function symlinkat(target: string, path: string, options?: RunOptions): Promise<void> {
  return runPath(
    new PathOp('symlink', (s) => s.prepSymlinkat(target, AT_FDCWD, path), target, path),
    options,
    symlinkat,
  );
}

/** linkat(2): a new hard link `newPath` to `existingPath`. */
export async function linkat(
  existingPath: string,
  newPath: string,
  options?: RunOptions & { flags?: number },
): Promise<void> {
  return runPath(
    new PathOp(
      'link',
      (s) => s.prepLinkat(AT_FDCWD, existingPath, AT_FDCWD, newPath, options?.flags ?? 0),
      existingPath,
      newPath,
    ),
    options,
    linkat,
  );
}

/** ftruncate(2). */
export async function ftruncate(fd: number, len: number | bigint = 0, options?: RunOptions): Promise<void> {
  validateFd(fd);
  validateInt64(len, 'len', 0n, MAX_OFF);
  return runPath(new PathOp('ftruncate', (s) => s.prepFtruncate(fd, len)), options, ftruncate);
}

/** fallocate(2): reserves (mode 0) or punches space in a file. */
export async function fallocate(
  fd: number,
  offset: number | bigint,
  len: number | bigint,
  mode = 0,
  options?: RunOptions,
): Promise<void> {
  validateFd(fd);
  validateInt64(offset, 'offset', 0n, MAX_OFF);
  validateInt64(len, 'len', 0n, MAX_OFF);
  validateInteger(mode, 'mode', 0, 0xffffffff);
  return runPath(new PathOp('fallocate', (s) => s.prepFallocate(fd, mode, offset, len)), options, fallocate);
}
