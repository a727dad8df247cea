// Path-level file functions with node:fs/promises' signatures, results and
// errors, each going through the ring.
import { Buffer } from 'node:buffer';
import * as fsp from 'node:fs/promises';
import { constants, type BigIntStats, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InvalidArgTypeError, recaptureStack } from '../errors.js';
import {
  close as closeFd, linkat, mkdirat, openat, read, renameat, statx, symlinkat, unlinkat, write, type RunOptions,
} from '../ops/index.js';
import { encodingOf, optionsObject, parseFlags, parseMode, toPath, type PathArg } from './args.js';
import { FileHandle } from './file-handle.js';
import { MAX_RW, readAll, writeAll, type WriteData } from './io.js';
import { toBigIntStats, toStats } from './stats.js';

type Flags = string | number;

/** Opens a file: flags as node:fs takes them ('r', 'wx', 'a+', numbers), mode 0o666 by default. */
export async function open(path: PathArg, flags?: Flags, mode?: fs_Mode): Promise<FileHandle> {
  try {
    const p = toPath(path);
    const fd = await openat(p, parseFlags(flags), parseMode(mode, 0o666));
    return new FileHandle(fd);
  } catch (err) {
    throw recaptureStack(err as Error, open);
  }
}
type fs_Mode = number | string;

interface ReadFileOptions {
  encoding?: BufferEncoding | null;
  flag?: Flags;
  signal?: AbortSignal;
}

/** Reads a whole file (or a FileHandle from its current position). */
export async function readFile(path: PathArg | FileHandle, options?: ReadFileOptions | BufferEncoding | null): Promise<string | Buffer> {
  try {
    const o = optionsObject<ReadFileOptions>(options);
    const enc = encodingOf(options);
    if (path instanceof FileHandle) return await path.readFile(options);
    const p = toPath(path);
    o.signal?.throwIfAborted();
    const run: RunOptions | undefined = o.signal ? { signal: o.signal } : undefined;
    const fd = await openat(p, parseFlags(o.flag, 'r'), 0o666, run);
    let buf: Buffer;
    try {
      buf = await readAll(fd, run);
    } finally {
      await closeFd(fd);
    }
    return enc ? buf.toString(enc) : buf;
  } catch (err) {
    throw recaptureStack(err as Error, readFile);
  }
}

interface WriteFileOptions {
  encoding?: BufferEncoding | null;
  mode?: fs_Mode;
  flag?: Flags;
  signal?: AbortSignal;
  flush?: boolean;
}

async function writeFileImpl(path: PathArg | FileHandle, data: WriteData, options: WriteFileOptions | BufferEncoding | null | undefined, defFlag: string): Promise<void> {
  const o = optionsObject<WriteFileOptions>(options);
  const enc = encodingOf(options) ?? 'utf8';
  if (path instanceof FileHandle) return path.writeFile(data, options);
  if (typeof data !== 'string' && !ArrayBuffer.isView(data) && (data === null || typeof data !== 'object')) {
    throw new InvalidArgTypeError('data', 'of type string or an instance of Buffer, TypedArray, or DataView', data);
  }
  const p = toPath(path);
  o.signal?.throwIfAborted();
  const run: RunOptions | undefined = o.signal ? { signal: o.signal } : undefined;
  const fd = await openat(p, parseFlags(o.flag, defFlag), parseMode(o.mode, 0o666), run);
  try {
    await writeAll(fd, data, enc, run);
    if (o.flush) await new FileHandle(fd).sync();
  } finally {
    await closeFd(fd);
  }
}

/** Writes a whole file (replacing it; flag 'w' by default). */
export async function writeFile(path: PathArg | FileHandle, data: WriteData, options?: WriteFileOptions | BufferEncoding | null): Promise<void> {
  try {
    await writeFileImpl(path, data, options, 'w');
  } catch (err) {
    throw recaptureStack(err as Error, writeFile);
  }
}

/** Appends to a file (flag 'a' by default), creating it if needed. */
export async function appendFile(path: PathArg | FileHandle, data: WriteData, options?: WriteFileOptions | BufferEncoding | null): Promise<void> {
  try {
    await writeFileImpl(path, data, options, 'a');
  } catch (err) {
    throw recaptureStack(err as Error, appendFile);
  }
}

export async function stat(path: PathArg, options?: { bigint?: false }): Promise<Stats>;
export async function stat(path: PathArg, options: { bigint: true }): Promise<BigIntStats>;
export async function stat(path: PathArg, options?: { bigint?: boolean }): Promise<Stats | BigIntStats>;
export async function stat(path: PathArg, options?: { bigint?: boolean }): Promise<Stats | BigIntStats> {
  try {
    const s = await statx(toPath(path));
    return options?.bigint ? toBigIntStats(s) : toStats(s);
  } catch (err) {
    throw recaptureStack(err as Error, stat);
  }
}

export async function lstat(path: PathArg, options?: { bigint?: false }): Promise<Stats>;
export async function lstat(path: PathArg, options: { bigint: true }): Promise<BigIntStats>;
export async function lstat(path: PathArg, options?: { bigint?: boolean }): Promise<Stats | BigIntStats>;
export async function lstat(path: PathArg, options?: { bigint?: boolean }): Promise<Stats | BigIntStats> {
  try {
    const s = await statx(toPath(path), { noFollow: true });
    return options?.bigint ? toBigIntStats(s) : toStats(s);
  } catch (err) {
    throw recaptureStack(err as Error, lstat);
  }
}

export async function unlink(path: PathArg): Promise<void> {
  try {
    await unlinkat(toPath(path));
  } catch (err) {
    throw recaptureStack(err as Error, unlink);
  }
}

export async function rmdir(path: PathArg, options?: { recursive?: boolean; maxRetries?: number; retryDelay?: number }): Promise<void> {
  try {
    // Recursive removal is a directory walk io_uring has no op for.
    if (options?.recursive) return await fsp.rmdir(toPath(path), options);
    await unlinkat(toPath(path), { dir: true });
  } catch (err) {
    throw recaptureStack(err as Error, rmdir);
  }
}

export async function rename(oldPath: PathArg, newPath: PathArg): Promise<void> {
  try {
    await renameat(toPath(oldPath, 'oldPath'), toPath(newPath, 'newPath'));
  } catch (err) {
    throw recaptureStack(err as Error, rename);
  }
}

/**
 * mkdir; with `recursive`, creates missing parents and resolves with the
 * first directory created (undefined if none was), as node:fs does.
 */
export async function mkdir(path: PathArg, options?: { recursive?: boolean; mode?: fs_Mode } | fs_Mode): Promise<string | undefined> {
  try {
    const o = typeof options === 'object' && options !== null ? options : { mode: options };
    const mode = parseMode(o.mode, 0o777);
    const p = toPath(path);
    if (!o.recursive) {
      await mkdirat(p, mode);
      return undefined;
    }
    return await mkdirRecursive(resolve(p), mode);
  } catch (err) {
    throw recaptureStack(err as Error, mkdir);
  }
}

async function mkdirRecursive(p: string, mode: number): Promise<string | undefined> {
  try {
    await mkdirat(p, mode);
    return p;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'EEXIST') {
      // Fine if it is a directory (or a link to one); else node reports EEXIST.
      const st = await statx(p).catch(() => undefined);
      if (st && (st.mode & constants.S_IFMT) === constants.S_IFDIR) return undefined;
      throw err;
    }
    if (code !== 'ENOENT' || dirname(p) === p) throw err;
  }
  const first = await mkdirRecursive(dirname(p), mode);
  try {
    await mkdirat(p, mode);
  } catch (err) {
    if ((err as { code?: string }).code !== 'EEXIST') throw err;
  }
  return first ?? p;
}

export async function symlink(target: PathArg, path: PathArg, _type?: string | null): Promise<void> {
  try {
    await symlinkat(toPath(target, 'target'), toPath(path));
  } catch (err) {
    throw recaptureStack(err as Error, symlink);
  }
}

export async function link(existingPath: PathArg, newPath: PathArg): Promise<void> {
  try {
    await linkat(toPath(existingPath, 'existingPath'), toPath(newPath, 'newPath'));
  } catch (err) {
    throw recaptureStack(err as Error, link);
  }
}

export async function truncate(path: PathArg, len = 0): Promise<void> {
  try {
    const fh = await open(path, 'r+');
    try {
      await fh.truncate(len);
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw recaptureStack(err as Error, truncate);
  }
}

/**
 * access: F_OK (existence) is answered by statx through the ring; R_OK,
 * W_OK and X_OK need the kernel's permission check (ACLs, capabilities),
 * which io_uring has no op for, so those go to node:fs.
 */
export async function access(path: PathArg, mode = constants.F_OK): Promise<void> {
  try {
    const p = toPath(path);
    if (mode === constants.F_OK) {
      try {
        await statx(p);
      } catch (err) {
        const e = err as Error & { syscall: string };
        e.syscall = 'access';
        e.message = e.message.replace(/, stat '/, ", access '");
        throw e;
      }
      return;
    }
    await fsp.access(p, mode);
  } catch (err) {
    throw recaptureStack(err as Error, access);
  }
}

const COPY_CHUNK = 1 << 20;
const COPY_DEPTH = 4;

/**
 * copyFile: positional reads and writes of 1 MiB, four in flight. With
 * COPYFILE_EXCL the destination must not exist. COPYFILE_FICLONE* (reflinks)
 * go to node:fs, which has the ioctl.
 */
export async function copyFile(src: PathArg, dest: PathArg, mode = 0): Promise<void> {
  const s = toPath(src, 'src');
  const d = toPath(dest, 'dest');
  try {
    if (mode & (constants.COPYFILE_FICLONE | constants.COPYFILE_FICLONE_FORCE)) return await fsp.copyFile(s, d, mode);
    const ifd = await openat(s, constants.O_RDONLY);
    try {
      const st = await statx(s);
      const size = Number(st.size);
      const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | (mode & constants.COPYFILE_EXCL ? constants.O_EXCL : 0);
      let ofd: number;
      try {
        ofd = await openat(d, flags, st.mode & 0o7777);
      } catch (err) {
        throw Object.assign(err as Error, { message: (err as Error).message.replace(/, open '.*'$/, `, copyfile '${s}' -> '${d}'`), syscall: 'copyfile', path: s, dest: d });
      }
      try {
        await copyRange(ifd, ofd, size);
      } finally {
        await closeFd(ofd);
      }
    } finally {
      await closeFd(ifd);
    }
  } catch (err) {
    throw recaptureStack(err as Error, copyFile);
  }
}

async function copyRange(ifd: number, ofd: number, size: number): Promise<void> {
  let next = 0;
  let eof = false;
  const worker = async () => {
    const buf = Buffer.allocUnsafeSlow(COPY_CHUNK);
    while (!eof) {
      const pos = next;
      next += COPY_CHUNK;
      let got = 0;
      // A chunk is read in full unless the file ends inside it.
      while (got < COPY_CHUNK) {
        const n = await read(ifd, buf, { offset: got, length: COPY_CHUNK - got, position: pos + got });
        if (n === 0) break;
        got += n;
      }
      if (got < COPY_CHUNK) eof = true;
      let put = 0;
      while (put < got) put += await write(ofd, buf, { offset: put, length: Math.min(got - put, MAX_RW), position: pos + put });
    }
  };
  await Promise.all(Array.from({ length: size > COPY_CHUNK ? COPY_DEPTH : 1 }, worker));
}
