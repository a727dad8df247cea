// FileHandle: an open file whose every operation goes through the ring, with
// node:fs/promises' FileHandle argument forms, results and errors.
//
// Ops in flight hold the handle: close() waits for them before the
// descriptor is closed, so a read can never land on a descriptor number the
// process has since reused for another file.
import { Buffer } from 'node:buffer';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import type { BigIntStats, Stats } from 'node:fs';
import { promisify } from 'node:util';
import { InvalidArgTypeError, recaptureStack } from '../errors.js';
import { close as closeFd, fstatx, fsync, read, readv, write, writev, ftruncate, fallocate, type RunOptions } from '../ops/index.js';
import { encodingOf, optionsObject, parseMode } from './args.js';
import { toBigIntStats, toStats } from './stats.js';
import { readAll, writeAll, type WriteData } from './io.js';

export interface ReadResult<T extends ArrayBufferView = Buffer> {
  bytesRead: number;
  buffer: T;
}
export interface WriteResult<T> {
  bytesWritten: number;
  buffer: T;
}

type Position = number | bigint | null | undefined;

const kDefaultReadSize = 16384;

function fileClosed(syscall: string): Error {
  const err = new Error('file closed') as Error & { code: string; syscall: string };
  err.code = 'EBADF';
  err.syscall = syscall;
  return err;
}

export class FileHandle extends EventEmitter {
  #fd: number;
  #inflight = 0;
  #closing: Promise<void> | undefined;
  #drained: (() => void) | undefined;
  readonly #runtimeOptions: RunOptions | undefined;

  constructor(fd: number, runtimeOptions?: RunOptions) {
    super();
    this.#fd = fd;
    this.#runtimeOptions = runtimeOptions;
  }

  /** The descriptor, or -1 once closed. */
  get fd(): number {
    return this.#fd;
  }

  /** Runs `fn` holding the handle: a closed or closing handle rejects with EBADF. */
  async #use<T>(syscall: string, fn: (fd: number) => Promise<T>, caller: Function): Promise<T> {
    if (this.#fd < 0 || this.#closing) throw recaptureStack(fileClosed(syscall), caller);
    this.#inflight++;
    try {
      return await fn(this.#fd);
    } catch (err) {
      throw recaptureStack(err as Error, caller);
    } finally {
      if (--this.#inflight === 0 && this.#drained) this.#drained();
    }
  }

  #opts(signal?: AbortSignal): RunOptions | undefined {
    if (!signal) return this.#runtimeOptions;
    return { ...this.#runtimeOptions, signal };
  }

  /**
   * Reads into a buffer: read(), read(buffer, offset?, length?, position?),
   * read(buffer, { offset, length, position }) or read({ buffer, offset, length, position }).
   */
  read<T extends ArrayBufferView = Buffer>(
    bufferOrOptions?: T | { buffer?: T; offset?: number; length?: number; position?: Position },
    offsetOrOptions?: number | { offset?: number; length?: number; position?: Position } | null,
    length?: number | null,
    position?: Position,
  ): Promise<ReadResult<T>> {
    return this.#use('read', async (fd) => {
      let buffer: T;
      let offset = 0;
      let len: number | undefined;
      let pos: Position = null;
      if (ArrayBuffer.isView(bufferOrOptions)) {
        buffer = bufferOrOptions;
        if (offsetOrOptions !== null && typeof offsetOrOptions === 'object') {
          ({ offset = 0, length: len, position: pos = null } = offsetOrOptions);
        } else {
          offset = offsetOrOptions ?? 0;
          len = length ?? undefined;
          pos = position ?? null;
        }
      } else if (bufferOrOptions === undefined || bufferOrOptions === null || typeof bufferOrOptions === 'object') {
        const o = (bufferOrOptions ?? {}) as { buffer?: T; offset?: number; length?: number; position?: Position };
        buffer = o.buffer ?? (Buffer.alloc(kDefaultReadSize) as unknown as T);
        offset = o.offset ?? 0;
        len = o.length;
        pos = o.position ?? null;
      } else {
        throw new InvalidArgTypeError('buffer', 'an instance of Buffer, TypedArray, or DataView', bufferOrOptions);
      }
      len ??= buffer.byteLength - offset;
      if (len === 0) return { bytesRead: 0, buffer };
      const bytesRead = await read(fd, buffer, { ...this.#runtimeOptions, offset, length: len, position: pos });
      return { bytesRead, buffer };
    }, this.read);
  }

  /** write(buffer, offset?, length?, position?), write(buffer, { offset, length, position }), write(string, position?, encoding?). */
  write<T extends ArrayBufferView | string>(
    data: T,
    offsetOrOptions?: number | null | { offset?: number; length?: number; position?: Position },
    lengthOrEncoding?: number | BufferEncoding | null,
    position?: Position,
  ): Promise<WriteResult<T>> {
    return this.#use('write', async (fd) => {
      if (typeof data === 'string') {
        const pos = typeof offsetOrOptions === 'number' ? offsetOrOptions : null;
        const enc = typeof lengthOrEncoding === 'string' ? lengthOrEncoding : 'utf8';
        const buf = Buffer.from(data, enc);
        const bytesWritten = await write(fd, buf, { ...this.#runtimeOptions, position: pos });
        return { bytesWritten, buffer: data };
      }
      if (!ArrayBuffer.isView(data)) throw new InvalidArgTypeError('buffer', 'of type string or an instance of Buffer, TypedArray, or DataView', data);
      let offset = 0;
      let len: number | undefined;
      let pos: Position = null;
      if (offsetOrOptions !== null && typeof offsetOrOptions === 'object') {
        ({ offset = 0, length: len, position: pos = null } = offsetOrOptions);
      } else {
        offset = offsetOrOptions ?? 0;
        len = typeof lengthOrEncoding === 'number' ? lengthOrEncoding : undefined;
        pos = position ?? null;
      }
      len ??= data.byteLength - offset;
      const bytesWritten = await write(fd, data, { ...this.#runtimeOptions, offset, length: len, position: pos });
      return { bytesWritten, buffer: data };
    }, this.write);
  }

  readv<T extends ArrayBufferView[]>(buffers: T, position?: Position): Promise<{ bytesRead: number; buffers: T }> {
    return this.#use('read', async (fd) => {
      const bytesRead = await readv(fd, buffers, position ?? null, this.#runtimeOptions);
      return { bytesRead, buffers };
    }, this.readv);
  }

  writev<T extends ArrayBufferView[]>(buffers: T, position?: Position): Promise<{ bytesWritten: number; buffers: T }> {
    return this.#use('write', async (fd) => {
      const bytesWritten = await writev(fd, buffers, position ?? null, this.#runtimeOptions);
      return { bytesWritten, buffers };
    }, this.writev);
  }

  stat(options?: { bigint?: false }): Promise<Stats>;
  stat(options: { bigint: true }): Promise<BigIntStats>;
  stat(options?: { bigint?: boolean }): Promise<Stats | BigIntStats>;
  stat(options?: { bigint?: boolean }): Promise<Stats | BigIntStats> {
    return this.#use('fstat', async (fd) => {
      const s = await fstatx(fd, this.#runtimeOptions);
      return options?.bigint ? toBigIntStats(s) : toStats(s);
    }, this.stat);
  }

  sync(): Promise<void> {
    return this.#use('fsync', (fd) => fsync(fd, this.#runtimeOptions), this.sync);
  }

  datasync(): Promise<void> {
    return this.#use('fdatasync', (fd) => fsync(fd, { ...this.#runtimeOptions, datasync: true }), this.datasync);
  }

  truncate(len = 0): Promise<void> {
    return this.#use('ftruncate', (fd) => ftruncate(fd, Math.max(0, len), this.#runtimeOptions), this.truncate);
  }

  /** fallocate(2): reserves [offset, offset + len) so later writes there cannot fail with ENOSPC. */
  allocate(offset: number, len: number, mode = 0): Promise<void> {
    return this.#use('fallocate', (fd) => fallocate(fd, offset, len, mode, this.#runtimeOptions), this.allocate);
  }

  /** Reads from the current position to the end of the file. */
  readFile(options?: { encoding?: BufferEncoding | null; signal?: AbortSignal } | BufferEncoding | null): Promise<string | Buffer> {
    return this.#use('read', async (fd) => {
      const o = optionsObject<{ signal: AbortSignal }>(options);
      const enc = encodingOf(options);
      const buf = await readAll(fd, this.#opts(o.signal));
      return enc ? buf.toString(enc) : buf;
    }, this.readFile);
  }

  writeFile(data: WriteData, options?: { encoding?: BufferEncoding | null; signal?: AbortSignal } | BufferEncoding | null): Promise<void> {
    return this.#use('write', async (fd) => {
      const o = optionsObject<{ signal: AbortSignal }>(options);
      await writeAll(fd, data, encodingOf(options) ?? 'utf8', this.#opts(o.signal));
    }, this.writeFile);
  }

  appendFile(data: WriteData, options?: { encoding?: BufferEncoding | null; signal?: AbortSignal } | BufferEncoding | null): Promise<void> {
    return this.writeFile(data, options);
  }

  // io_uring has no ops for these: node:fs does them on the descriptor.
  chmod(mode: fs.Mode): Promise<void> {
    return this.#use('fchmod', (fd) => promisify(fs.fchmod)(fd, parseMode(mode, 0)), this.chmod);
  }
  chown(uid: number, gid: number): Promise<void> {
    return this.#use('fchown', (fd) => promisify(fs.fchown)(fd, uid, gid), this.chown);
  }
  utimes(atime: fs.TimeLike, mtime: fs.TimeLike): Promise<void> {
    return this.#use('futime', (fd) => promisify(fs.futimes)(fd, atime, mtime), this.utimes);
  }

  /** Closes the descriptor once every op on it has finished. Idempotent. */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    if (this.#fd < 0) return Promise.resolve();
    const fd = this.#fd;
    this.#closing = (async () => {
      if (this.#inflight > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
      this.#fd = -1;
      try {
        await closeFd(fd, this.#runtimeOptions);
      } finally {
        this.emit('close');
      }
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
