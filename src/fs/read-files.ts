// readFiles and forEachFile: many whole files in one go, each file one
// linked openat → read → close chain on a direct descriptor
// (ops/open-read-close.ts), as many in flight as the ring allows. Here are
// the public functions, their options and the checks of their arguments;
// one call's work on the ring is a ReadBatch (read-batch.ts), or, where the
// drop-ins are node's, nodeBatch (read-batch-node.ts).
import { Buffer } from 'node:buffer';
import { abortError, InvalidArgTypeError, OutOfRangeError, recaptureStack } from '../errors.js';
import { runtimeOf, type Runtime } from '../runtime/runtime.js';
import { encodingOf, toPath, type PathArg } from './args.js';
import { mayUseNode, useNode } from './fallback.js';
import { ReadBatch } from './read-batch.js';
import { nodeBatch } from './read-batch-node.js';

const DEFAULT_BUFFER_SIZE = 64 * 1024;
const DEFAULT_CONCURRENCY = 64;
/** Above this, a buffer per chain in flight costs more memory than the batching saves. */
const MAX_BUFFER_SIZE = 64 * 1024 * 1024;

export interface ReadFilesOptions {
  /** Decode every file with this encoding (strings instead of Buffers). */
  encoding?: BufferEncoding | null | undefined;
  /**
   * The largest file read by its chain alone, in bytes (default 64 KiB).
   * A larger file is opened again and read whole with ordinary reads. Each
   * chain in flight has a read buffer of this size (plus one byte).
   */
  bufferSize?: number | undefined;
  /** Most chains (files) in flight at once (default 64; never more than the ring's direct slots). */
  concurrency?: number | undefined;
  /** Aborting rejects at once with an AbortError; files not started are not opened, reads in flight are cancelled. */
  signal?: AbortSignal | undefined;
  /**
   * `true`: never reject for a file's error; resolve with one
   * `{ status, path, value | reason }` per path instead (Promise.allSettled's
   * shape, plus the path). Default `false`: reject with the first error, as
   * `Promise.all(paths.map((p) => readFile(p)))` would.
   */
  settle?: boolean | undefined;
  /** The runtime to use (default: this thread's). */
  runtime?: Runtime | undefined;
}

/** One file's outcome with `settle: true`: Promise.allSettled's shape, with the path. */
export type ReadFileSettled<T> =
  { status: 'fulfilled'; path: string; value: T } | { status: 'rejected'; path: string; reason: Error };

type Data = Buffer | string;

/**
 * Reads many files whole, each through one linked chain
 * openat → read → close on a direct descriptor, with as many chains in
 * flight as the ring allows. Results come in the order of `paths`, each a
 * Buffer that no other result overlaps, or, with `encoding`, a string.
 * As with node's own Buffer pool, a Buffer's `buffer` can be larger than
 * the file and shared: files of at most 8 KiB are cut from chunks of at
 * most 64 KiB shared with other small files of the call (so one kept alive
 * holds at most 64 KiB), and a file of at least half of `bufferSize` keeps
 * the buffer the kernel read it into (up to twice its length). Copy a
 * result (`Buffer.from(buf)`) to hold exactly its bytes for long.
 *
 * Errors are node:fs's (`code`, `errno`, `syscall`, `path`): ENOENT or
 * EACCES from `open`, EISDIR from `read` for a directory. By default the
 * first error rejects the whole call, as `Promise.all` over `readFile` would
 * — the files not yet started are then not read at all. With `settle: true`
 * nothing rejects for a file's error: each path gets
 * `{ status: 'fulfilled', path, value }` or `{ status: 'rejected', path, reason }`,
 * the shape Promise.allSettled gives, so one missing file costs nobody the
 * others.
 *
 * A file larger than `bufferSize` fills its read buffer; it is then
 * opened again and read whole by ordinary reads (so its bytes all come from
 * one open of the file).
 *
 * @param paths The files: strings, Buffers or file: URLs.
 * @param options `encoding`, `bufferSize`, `concurrency`, `signal`, `settle`, `runtime`; a string is the encoding.
 * @returns The contents in the order of `paths`; with `settle`, one result object per path.
 * @throws {AbortError} when `signal` aborts (code ABORT_ERR, `cause` its reason).
 * @throws The first file's system error, unless `settle` is true.
 * @example
 * ```ts
 * import { readFiles } from 'uring/fs';
 * const [a, b] = await readFiles(['a.json', 'b.json'], 'utf8');
 * for (const r of await readFiles(paths, { settle: true })) {
 *   if (r.status === 'rejected') console.error(r.path, r.reason.code);
 * }
 * ```
 */
export function readFiles(
  paths: readonly PathArg[],
  options?: (ReadFilesOptions & { encoding?: null; settle?: false }) | null,
): Promise<Buffer[]>;
export function readFiles(
  paths: readonly PathArg[],
  options: (ReadFilesOptions & { encoding: BufferEncoding; settle?: false }) | BufferEncoding,
): Promise<string[]>;
export function readFiles(
  paths: readonly PathArg[],
  options: ReadFilesOptions & { encoding?: null; settle: true },
): Promise<ReadFileSettled<Buffer>[]>;
export function readFiles(
  paths: readonly PathArg[],
  options: ReadFilesOptions & { encoding: BufferEncoding; settle: true },
): Promise<ReadFileSettled<string>[]>;
export function readFiles(
  paths: readonly PathArg[],
  options?: ReadFilesOptions | BufferEncoding | null,
): Promise<(Data | ReadFileSettled<Data>)[]>;
export async function readFiles(
  paths: readonly PathArg[],
  options?: ReadFilesOptions | BufferEncoding | null,
): Promise<(Data | ReadFileSettled<Data>)[]> {
  try {
    const o: ReadFilesOptions = typeof options === 'string' ? { encoding: options } : (options ?? {});
    if (typeof o !== 'object') throw new InvalidArgTypeError('options', 'of type object or a string', options);
    const a = batchArgs(paths, o);
    if (a === undefined) return [];
    const settle = o.settle === true;
    const results =
      a.runtime === undefined
        ? await nodeBatch(a.list, a.encoding, a.concurrency, a.signal, settle, undefined)
        : await new ReadBatch(a.runtime, a.list, a.encoding, a.bufferSize, a.concurrency, a.signal, settle, undefined)
            .promise;
    if (settle) {
      // Errors were made in the completion loop: give them the caller's stack.
      for (const r of results as ReadFileSettled<Data>[])
        if (r.status === 'rejected') recaptureStack(r.reason, readFiles);
    }
    return results;
  } catch (err) {
    throw recaptureStack(err as Error, readFiles);
  }
}

/** What forEachFile calls for each file read: its bytes (or, with `encoding`, its text), where it was in `paths`, and its path. */
export type FileCallback<T> = (data: T, index: number, path: string) => void;

export interface ForEachFileOptions {
  /** Hand each file over as a string in this encoding instead of a Buffer. */
  encoding?: BufferEncoding | null | undefined;
  /** As readFiles' (default 64 KiB): the largest file read by its chain alone, and each lane's buffer size. */
  bufferSize?: number | undefined;
  /** Most files in flight at once (default 64). */
  concurrency?: number | undefined;
  /** Aborting rejects at once with an AbortError; no callback runs after it. */
  signal?: AbortSignal | undefined;
  /**
   * Called with a file's error (ENOENT, EACCES, EISDIR, ...) instead of
   * rejecting: the other files go on. Without it, the first error rejects
   * and no file not yet started is read.
   */
  onError?: ((err: Error, index: number, path: string) => void) | undefined;
  /** The runtime to use (default: this thread's). */
  runtime?: Runtime | undefined;
}

/**
 * Reads many files whole, as readFiles does (one openat → read → close
 * chain per file on a direct descriptor, `concurrency` in flight), and hands
 * each file's bytes to `onFile` as soon as its chain is done, in the order
 * the files complete (`index` says which). Resolves once every file has
 * been handed over (or reported to `onError`).
 *
 * For work that looks at each file once and keeps nothing of it (hashing,
 * searching, parsing into something else, copying out): the bytes are a
 * view of the buffer the kernel read the file into, which is reused for the
 * next file once `onFile` returns, so no memory is allocated per file and
 * none is left for the garbage collector. **The view is valid only until
 * `onFile` returns**: copy it (`Buffer.from(data)`) to keep it. A file larger
 * than `bufferSize` is read again whole into a Buffer of its own and handed
 * over later. With `encoding`, `onFile` gets a string, which it may keep.
 * The buffer behind `data` is marked untransferable: posting it to a
 * worker with `transfer` copies it (node 20) or throws DataCloneError
 * (node 21+) rather than take memory the kernel reads the next file into.
 *
 * `onFile` is called synchronously for each file, from a microtask (not
 * from inside the ring's completion loop: it may do anything, close the
 * runtime included). If it throws, the promise rejects with that error and
 * no more files are started. A promise it returns is not awaited: an async
 * callback must copy `data` before its first `await`.
 *
 * @example
 * ```ts
 * import { createHash } from 'node:crypto';
 * import { forEachFile } from 'uring/fs';
 * const digests = new Array(paths.length);
 * await forEachFile(paths, (data, i) => {
 *   digests[i] = createHash('sha256').update(data).digest('hex');
 * });
 * ```
 */
export function forEachFile(
  paths: readonly PathArg[],
  onFile: FileCallback<Buffer>,
  options?: (ForEachFileOptions & { encoding?: null }) | null,
): Promise<void>;
export function forEachFile(
  paths: readonly PathArg[],
  onFile: FileCallback<string>,
  options: (ForEachFileOptions & { encoding: BufferEncoding }) | BufferEncoding,
): Promise<void>;
export async function forEachFile(
  paths: readonly PathArg[],
  onFile: FileCallback<Buffer> | FileCallback<string>,
  options?: ForEachFileOptions | BufferEncoding | null,
): Promise<void> {
  try {
    if (typeof onFile !== 'function') throw new InvalidArgTypeError('onFile', 'of type function', onFile);
    const o: ForEachFileOptions = typeof options === 'string' ? { encoding: options } : (options ?? {});
    if (typeof o !== 'object') throw new InvalidArgTypeError('options', 'of type object or a string', options);
    const onError = o.onError;
    if (onError !== undefined && typeof onError !== 'function')
      throw new InvalidArgTypeError('options.onError', 'of type function', onError);
    const a = batchArgs(paths, o);
    if (a === undefined) return;
    const each: Each = { onFile: onFile as FileCallback<Data>, onError, caller: forEachFile };
    if (a.runtime === undefined) await nodeBatch(a.list, a.encoding, a.concurrency, a.signal, false, each);
    else await new ReadBatch(a.runtime, a.list, a.encoding, a.bufferSize, a.concurrency, a.signal, false, each).promise;
  } catch (err) {
    throw recaptureStack(err as Error, forEachFile);
  }
}

interface BatchArgs {
  list: string[];
  encoding: BufferEncoding | null;
  bufferSize: number;
  concurrency: number;
  signal: AbortSignal | undefined;
  /** undefined: the drop-ins are node's here (fallback.ts), read with node:fs. */
  runtime: Runtime | undefined;
}

/** readFiles' and forEachFile's common arguments, checked; undefined for no paths. */
function batchArgs(paths: readonly PathArg[], o: ReadFilesOptions | ForEachFileOptions): BatchArgs | undefined {
  if (!Array.isArray(paths)) throw new InvalidArgTypeError('paths', 'an array of paths', paths);
  // Every index, holes too: a sparse array's missing path is an error, not
  // skipped. Plain strings are taken as they are, without making each an
  // argument name (`paths[i]`) that only an error would use.
  const list = new Array<string>(paths.length);
  for (let i = 0; i < paths.length; i++) {
    const p: unknown = paths[i];
    list[i] = typeof p === 'string' && !p.includes('\0') ? p : toPath(p, `paths[${i}]`);
  }
  const encoding = encodingOf(o);
  const bufferSize = o.bufferSize ?? DEFAULT_BUFFER_SIZE;
  if (!Number.isInteger(bufferSize) || bufferSize < 1 || bufferSize > MAX_BUFFER_SIZE) {
    throw new OutOfRangeError('options.bufferSize', `an integer >= 1 && <= ${MAX_BUFFER_SIZE}`, bufferSize);
  }
  const concurrency = o.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new OutOfRangeError('options.concurrency', 'an integer >= 1', concurrency);
  const signal = o.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw new InvalidArgTypeError('options.signal', 'an instance of AbortSignal', signal);
  if (signal?.aborted) throw abortError(signal);
  if (list.length === 0) return undefined;
  // A runtime given is checked and used; without one, the node fallback may stand in for the ring.
  const runtime = o.runtime !== undefined || !(mayUseNode() && useNode()) ? runtimeOf(o.runtime) : undefined;
  return { list, encoding, bufferSize, concurrency, signal, runtime };
}

/** forEachFile's callbacks, for either batch. */
export interface Each {
  onFile: FileCallback<Data>;
  onError: ((err: Error, index: number, path: string) => void) | undefined;
  /** Where the stack of an error handed to onError is cut (made in the completion loop, it has none of the caller's). */
  caller: Function;
}
