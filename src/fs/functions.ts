// Path-level file functions with node:fs/promises' signatures, results and
// errors, each going through the ring.
import { Buffer, type NonSharedBuffer } from 'node:buffer';
import type { Abortable } from 'node:events';
import * as nodeFsp from 'node:fs/promises';
import * as fs from 'node:fs';
import { constants, type BigIntStats, type Stats } from 'node:fs';
import { promisify } from 'node:util';
import { InvalidArgTypeError, InvalidArgValueError, recaptureStack, systemError } from '../errors.js';
import { errno as E } from '../errno.js';
import { SYMLINK_TYPE_ONE_OF } from '../node-version.js';
import {
  close as closeFd,
  fstatx,
  ftruncate,
  linkat,
  mkdirat,
  openat,
  read,
  renameat,
  statx,
  symlinkat,
  unlinkat,
  write,
  type RunOptions,
} from '../ops/index.js';
import { encodingOf, optionsObject, parseFlags, parseMode, toPath, type PathArg } from './args.js';
import { FileHandle, ownedFileHandle } from './file-handle.js';
import { MAX_RW, checkAborted, isCustomIterable, readAll, readFileWhole, writeAll, type WriteData } from './io.js';
import { getRuntime } from '../runtime/runtime.js';
import { toBigIntStats, toStats } from './stats.js';

// node's own, taken when this module is evaluated, not read from the
// namespace at each call: uring/register puts this module's functions in
// node:fs/promises' place, and a call through the namespace would then come
// back here.
/**
 * The files opened here belong to this thread until closed: a worker
 * terminated in the middle of readFile or a copy has them closed (OpenatOptions.own).
 */
const OWN = { own: true } as const;
const fsp = { rmdir: nodeFsp.rmdir, access: nodeFsp.access, copyFile: nodeFsp.copyFile };

type Flags = string | number;

/** Opens a file: flags as node:fs takes them ('r', 'wx', 'a+', numbers), mode 0o666 by default. */
export async function open(path: PathArg, flags?: Flags, mode?: fs_Mode): Promise<FileHandle> {
  try {
    const p = toPath(path);
    const fd = await openat(p, parseFlags(flags), parseMode(mode, 0o666), OWN);
    return await ownedFileHandle(fd);
  } catch (err) {
    throw recaptureStack(err as Error, open);
  }
}
type fs_Mode = number | string;

function validateSignal(signal: unknown): void {
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw new InvalidArgTypeError('options.signal', 'an instance of AbortSignal', signal);
}

interface ReadFileOptions {
  encoding?: BufferEncoding | null;
  flag?: Flags;
  signal?: AbortSignal;
}

/**
 * Reads a whole file (or a FileHandle from its current position): a string
 * when an encoding is given, a Buffer otherwise.
 */
export async function readFile(
  path: PathArg | FileHandle,
  options?: ({ encoding?: null; flag?: fs.OpenMode } & Abortable) | null,
): Promise<NonSharedBuffer>;
export async function readFile(
  path: PathArg | FileHandle,
  options: ({ encoding: BufferEncoding; flag?: fs.OpenMode } & Abortable) | BufferEncoding,
): Promise<string>;
export async function readFile(
  path: PathArg | FileHandle,
  options?: (fs.ObjectEncodingOptions & { flag?: fs.OpenMode } & Abortable) | BufferEncoding | null,
): Promise<string | NonSharedBuffer>;
export async function readFile(
  path: PathArg | FileHandle,
  options?: ReadFileOptions | BufferEncoding | null,
): Promise<string | Buffer> {
  try {
    const o = optionsObject<ReadFileOptions>(options);
    const enc = encodingOf(options);
    validateSignal(o.signal);
    if (path instanceof FileHandle) return await path.readFile(options);
    const p = toPath(path);
    checkAborted(o.signal);
    if (o.signal === undefined) {
      const buf = await readFileWhole(getRuntime(), p, parseFlags(o.flag, 'r'));
      return enc ? buf.toString(enc) : buf;
    }
    const run: RunOptions | undefined = { signal: o.signal };
    const fd = await openat(p, parseFlags(o.flag, 'r'), 0o666, { ...run, own: true });
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

async function writeFileImpl(
  path: PathArg | FileHandle,
  data: WriteData,
  options: WriteFileOptions | BufferEncoding | null | undefined,
  defFlag: string,
): Promise<void> {
  const o = optionsObject<WriteFileOptions>(options);
  const enc = encodingOf(options) ?? 'utf8';
  validateSignal(o.signal);
  if (o.flush !== undefined && o.flush !== null && typeof o.flush !== 'boolean')
    throw new InvalidArgTypeError('options.flush', 'of type boolean', o.flush);
  // Then the data: a view, an iterable, or a string.
  if (typeof data !== 'string' && !ArrayBuffer.isView(data) && !isCustomIterable(data)) {
    throw new InvalidArgTypeError('data', 'of type string or an instance of Buffer, TypedArray, or DataView', data);
  }
  if (path instanceof FileHandle) return path.writeFile(data, options);
  const p = toPath(path);
  checkAborted(o.signal);
  const run: RunOptions | undefined = o.signal ? { signal: o.signal } : undefined;
  const fd = await openat(p, parseFlags(o.flag, defFlag), parseMode(o.mode, 0o666), { ...run, own: true });
  try {
    // The file was just opened: write at explicit offsets from 0 (with
    // O_APPEND the kernel appends whatever the offset), where the current
    // position would be, so a short write (ENOSPC) needs no position put
    // right after it (ops/position.ts).
    await writeAll(fd, data, enc, run, 0);
    if (o.flush) await new FileHandle(fd).sync();
  } finally {
    await closeFd(fd);
  }
}

/** Writes a whole file (replacing it; flag 'w' by default). */
export async function writeFile(
  path: PathArg | FileHandle,
  data: WriteData,
  options?: WriteFileOptions | BufferEncoding | null,
): Promise<void> {
  try {
    await writeFileImpl(path, data, options, 'w');
  } catch (err) {
    throw recaptureStack(err as Error, writeFile);
  }
}

/** Appends to a file (flag 'a' by default), creating it if needed. */
export async function appendFile(
  path: PathArg | FileHandle,
  data: WriteData,
  options?: WriteFileOptions | BufferEncoding | null,
): Promise<void> {
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
    const s = await statxPath(toPath(path), false);
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
    const s = await statxPath(toPath(path), true);
    return options?.bigint ? toBigIntStats(s) : toStats(s);
  } catch (err) {
    throw recaptureStack(err as Error, lstat);
  }
}

/**
 * statx on a path. The op leaves `path` out of its errors when the path is
 * '' (its fstat form); node names it: ENOENT: ..., stat ''.
 */
async function statxPath(p: string, noFollow: boolean) {
  try {
    return await statx(p, { noFollow });
  } catch (err) {
    const e = err as { errno?: number; syscall?: string; path?: string };
    if (p !== '' || e.path !== undefined || typeof e.errno !== 'number') throw err;
    throw systemError(e.errno, e.syscall ?? 'stat', { path: p });
  }
}

export async function unlink(path: PathArg): Promise<void> {
  try {
    await unlinkat(toPath(path));
  } catch (err) {
    throw recaptureStack(err as Error, unlink);
  }
}

export async function rmdir(
  path: PathArg,
  options?: { recursive?: boolean; maxRetries?: number; retryDelay?: number },
): Promise<void> {
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
export async function mkdir(
  path: PathArg,
  options: fs.MakeDirectoryOptions & { recursive: true },
): Promise<string | undefined>;
export async function mkdir(
  path: PathArg,
  options?: fs_Mode | (fs.MakeDirectoryOptions & { recursive?: false }) | null,
): Promise<undefined>;
export async function mkdir(
  path: PathArg,
  options?: fs_Mode | fs.MakeDirectoryOptions | null,
): Promise<string | undefined>;
export async function mkdir(
  path: PathArg,
  options?: { recursive?: boolean; mode?: fs_Mode } | fs_Mode | null,
): Promise<string | undefined> {
  try {
    const o: { recursive?: boolean; mode?: fs_Mode | null } =
      typeof options === 'object' && options !== null ? options : { mode: options };
    const p = toPath(path);
    if (o.recursive !== undefined && typeof o.recursive !== 'boolean')
      throw new InvalidArgTypeError('options.recursive', 'of type boolean', o.recursive);
    const mode = parseMode(o.mode, 0o777);
    if (!o.recursive) {
      await mkdirat(p, mode);
      return undefined;
    }
    // The path as given, not resolved: node returns the first directory
    // created in the caller's form ('rel/x', './rel').
    return await mkdirRecursive(p, mode);
  } catch (err) {
    throw recaptureStack(err as Error, mkdir);
  }
}

/**
 * mkdir -p as node does it (MKDirpAsync in node_file.cc), so that results
 * and errors match in every corner: a stack of paths, parents pushed on
 * ENOENT (cut at the last '/', the path kept as the caller wrote it);
 * EACCES, ENOSPC, ENOTDIR and EPERM end it; any other error (EEXIST,
 * ELOOP, ...) is settled by a stat that follows links: a directory is fine,
 * anything else is EEXIST (ENOTDIR for a parent), and a failed stat is its
 * own error. Errors name the path being made when they happened. Resolves
 * with the first directory created, or undefined.
 */
async function mkdirRecursive(path: string, mode: number): Promise<string | undefined> {
  const stack = [path];
  let first: string | undefined;
  while (stack.length > 0) {
    const next = stack.pop()!;
    let errno = await mkdirat(next, mode).then(() => 0, systemErrno);
    if (errno === 0) {
      first ??= next;
      continue;
    }
    if (errno === -E.EACCES || errno === -E.ENOSPC || errno === -E.ENOTDIR || errno === -E.EPERM)
      throw systemError(errno, 'mkdir', { path: next });
    if (errno === -E.ENOENT) {
      const slash = next.lastIndexOf('/');
      const parent = slash < 0 ? next : next.slice(0, slash);
      if (parent !== next) {
        stack.push(next, parent);
        continue;
      }
      if (stack.length > 0) continue;
      errno = -E.EEXIST;
    }
    const st = await statx(next).then((s) => s, systemErrno);
    const isDir = typeof st !== 'number' && (st.mode & constants.S_IFMT) === constants.S_IFDIR;
    if (errno === -E.EEXIST && stack.length > 0) {
      if (isDir) continue;
      throw systemError(-E.ENOTDIR, 'mkdir', { path: next });
    }
    if (typeof st === 'number') throw systemError(st, 'mkdir', { path: next });
    if (!isDir) throw systemError(-E.EEXIST, 'mkdir', { path: next });
    return first;
  }
  return first;
}

/** The (negative) errno of a system error; anything else is rethrown. */
function systemErrno(err: unknown): number {
  const errno = (err as { errno?: unknown }).errno;
  if (typeof errno !== 'number') throw err;
  return -Math.abs(errno);
}

const symlinkTypes = ['dir', 'file', 'junction'];

/** symlink's type, checked as the running node does (SYMLINK_TYPE_ONE_OF); Linux ignores it. */
function validateSymlinkType(type: unknown, pathsChecked: boolean): void {
  if (type === undefined || type === null || symlinkTypes.includes(type as string)) return;
  if (SYMLINK_TYPE_ONE_OF) {
    if (!pathsChecked)
      throw new InvalidArgValueError('type', type, "must be one of: 'dir', 'file', 'junction', null, undefined");
  } else if (pathsChecked && typeof type === 'string') {
    const err = new Error(`Symlink type must be one of "dir", "file", or "junction". Received "${type}"`) as Error & {
      code: string;
    };
    err.code = 'ERR_FS_INVALID_SYMLINK_TYPE';
    throw err;
  }
}

export async function symlink(target: PathArg, path: PathArg, type?: string | null): Promise<void> {
  try {
    validateSymlinkType(type, false);
    const t = toPath(target, 'target');
    const p = toPath(path);
    validateSymlinkType(type, true);
    await symlinkat(t, p);
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
        await statxPath(p, false);
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

// 4 MiB in flight either way; in 256 KiB pieces the copy's median time was
// steadier and about half of 1 MiB x 4's on 2026-12-01 (same minimum),
// bench/README-fs.md.
const COPY_CHUNK = 256 << 10;
const COPY_DEPTH = 16;
const fchmod = promisify(fs.fchmod);

/**
 * copyFile as libuv does it (uv__fs_copyfile), with the copy through the
 * ring: positional reads and writes of 256 KiB, sixteen in flight. The
 * destination is opened without O_TRUNC and left alone when it is the
 * source itself (a copy onto itself, or onto a hard link of it, keeps the
 * data); otherwise it is truncated and given the source's mode (fchmod, so
 * the umask does not apply). If anything fails once the destination is
 * open, it is removed. Every error is reported as syscall 'copyfile' with
 * both paths. COPYFILE_FICLONE* (reflinks) go to node:fs, which has the ioctl.
 *
 * Unlike libuv, which copies st_size bytes, the source is read to end of
 * file: /proc files (size 0) are copied with their contents.
 */
export async function copyFile(src: PathArg, dest: PathArg, mode = 0): Promise<void> {
  try {
    const s = toPath(src, 'src');
    const d = toPath(dest, 'dest');
    // Reflinks, and modes node refuses (its own errors, as it words them), are node's.
    const plain = mode === null || (Number.isInteger(mode) && mode >= 0 && mode <= constants.COPYFILE_EXCL);
    if (!plain) return await fsp.copyFile(s, d, mode);
    await copyFileImpl(s, d, (mode & constants.COPYFILE_EXCL) !== 0);
  } catch (err) {
    throw recaptureStack(err as Error, copyFile);
  }
}

async function copyFileImpl(s: string, d: string, excl: boolean): Promise<void> {
  let ifd: number;
  try {
    ifd = await openat(s, constants.O_RDONLY, 0o666, OWN);
  } catch (err) {
    throw copyfileError(err, s, d);
  }
  let ofd = -1;
  let failure: unknown;
  try {
    const st = await fstatx(ifd);
    ofd = await openat(
      d,
      constants.O_WRONLY | constants.O_CREAT | (excl ? constants.O_EXCL : 0),
      st.mode & 0o7777,
      OWN,
    );
    let same = false;
    if (!excl) {
      const dt = await fstatx(ofd);
      same = dt.devMajor === st.devMajor && dt.devMinor === st.devMinor && dt.ino === st.ino;
      // Only a destination with data is truncated. On ext4, truncating even
      // an empty file marks it for allocate-on-close (auto_da_alloc): close()
      // then starts writeback of everything written, 230 ms per GiB here,
      // which libuv's unconditional ftruncate makes node's copyFile pay
      // (bench/README-fs.md).
      if (!same && dt.size > 0n) await ftruncate(ofd, 0);
    }
    if (!same) {
      await fchmod(ofd, st.mode & 0o7777);
      await copyRange(ifd, ofd, Number(st.size));
    }
  } catch (err) {
    failure = err;
  }
  for (const fd of [ifd, ofd]) {
    if (fd < 0) continue;
    try {
      await closeFd(fd);
    } catch (err) {
      failure ??= err;
    }
  }
  if (failure === undefined) return;
  if (ofd >= 0) await unlinkat(d).catch(() => {});
  throw copyfileError(failure, s, d);
}

/** A system error from any step of a copy, reported as node reports it: copyfile 'src' -> 'dest'. */
function copyfileError(err: unknown, s: string, d: string): unknown {
  const errno = (err as { errno?: unknown }).errno;
  if (typeof errno !== 'number') return err;
  return systemError(errno, 'copyfile', { path: s, dest: d });
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
      while (put < got)
        put += await write(ofd, buf, { offset: put, length: Math.min(got - put, MAX_RW), position: pos + put });
    }
  };
  // No more workers (each with a buffer) than the file has chunks; at least
  // one, which reads to end of file whatever the size said.
  const workers = Math.max(1, Math.min(COPY_DEPTH, Math.ceil(size / COPY_CHUNK)));
  await Promise.all(Array.from({ length: workers }, worker));
}
