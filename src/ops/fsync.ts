// fsync / fdatasync.
import { recaptureStack } from '../errors.js';
import type { Sqe } from '../ring/sqe.js';
import { IORING_FSYNC_DATASYNC } from '../ring/uapi.js';
import { PromiseOp } from '../runtime/op.js';
import { run, validateFd, type RunOptions } from './common.js';

export class FsyncOp extends PromiseOp<void> {
  constructor(
    readonly fd: number,
    readonly datasync: boolean,
  ) {
    super();
  }
  get syscall(): string {
    return this.datasync ? 'fdatasync' : 'fsync';
  }
  prep(sqe: Sqe): void {
    sqe.prepFsync(this.fd, this.datasync ? IORING_FSYNC_DATASYNC : 0);
  }
  override result(): void {}
}

/** Flushes the file's data (and, unless `datasync`, its metadata) to storage. */
export async function fsync(fd: number, options?: RunOptions & { datasync?: boolean }): Promise<void> {
  try {
    validateFd(fd);
    return await run(new FsyncOp(fd, options?.datasync === true), options).promise;
  } catch (err) {
    throw recaptureStack(err as Error, fsync);
  }
}
