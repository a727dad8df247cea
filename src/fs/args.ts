// Argument parsing as node:fs does it: open flags, modes, paths, encodings.
import { constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Buffer } from 'node:buffer';
import { InvalidArgTypeError, InvalidArgValueError, OutOfRangeError } from '../errors.js';
import { validateInteger } from '../validate.js';
import { isDetached } from '../ring/structs.js';

const { O_APPEND, O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_SYNC, O_TRUNC, O_WRONLY } = constants;

const FLAGS: Record<string, number> = {
  r: O_RDONLY,
  rs: O_RDONLY | O_SYNC,
  sr: O_RDONLY | O_SYNC,
  'r+': O_RDWR,
  'rs+': O_RDWR | O_SYNC,
  'sr+': O_RDWR | O_SYNC,
  w: O_TRUNC | O_CREAT | O_WRONLY,
  wx: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL,
  xw: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL,
  'w+': O_TRUNC | O_CREAT | O_RDWR,
  'wx+': O_TRUNC | O_CREAT | O_RDWR | O_EXCL,
  'xw+': O_TRUNC | O_CREAT | O_RDWR | O_EXCL,
  a: O_APPEND | O_CREAT | O_WRONLY,
  ax: O_APPEND | O_CREAT | O_WRONLY | O_EXCL,
  xa: O_APPEND | O_CREAT | O_WRONLY | O_EXCL,
  as: O_APPEND | O_CREAT | O_WRONLY | O_SYNC,
  sa: O_APPEND | O_CREAT | O_WRONLY | O_SYNC,
  'a+': O_APPEND | O_CREAT | O_RDWR,
  'ax+': O_APPEND | O_CREAT | O_RDWR | O_EXCL,
  'xa+': O_APPEND | O_CREAT | O_RDWR | O_EXCL,
  'as+': O_APPEND | O_CREAT | O_RDWR | O_SYNC,
  'sa+': O_APPEND | O_CREAT | O_RDWR | O_SYNC,
};

/** Node's open flags: a string ('r', 'wx', 'a+', ...) or a number. */
export function parseFlags(flags: unknown, def = 'r'): number {
  if (flags === undefined || flags === null) return FLAGS[def]!;
  if (typeof flags === 'number') {
    // As node: an int32 (2 ** 32 would reach the kernel as 0, O_RDONLY).
    validateInteger(flags, 'flags', -0x80000000, 0x7fffffff);
    return flags;
  }
  if (typeof flags === 'string' && Object.hasOwn(FLAGS, flags)) return FLAGS[flags]!;
  throw new InvalidArgValueError('flags', flags, 'is invalid');
}

/**
 * A mode as node's parseFileMode takes it: a number (a 32-bit unsigned
 * integer) or an octal string; `def` when absent. Returns the permission
 * bits (the kernel ignores the rest).
 */
export function parseMode(mode: unknown, def: number, name = 'mode'): number {
  let v = mode ?? def;
  if (typeof v === 'string') {
    if (!/^[0-7]+$/.test(v))
      throw new InvalidArgValueError(name, v, 'must be a 32-bit unsigned integer or an octal string');
    v = parseInt(v, 8);
  }
  if (typeof v !== 'number') throw new InvalidArgTypeError(name, 'of type number', v);
  if (!Number.isInteger(v)) throw new OutOfRangeError(name, 'an integer', v);
  if (v < 0 || v > 0xffffffff) throw new OutOfRangeError(name, '>= 0 && <= 4294967295', v);
  return v & 0o7777;
}

export type PathArg = string | Buffer | URL;

/** A path argument as node:fs takes it: string, Buffer or file: URL, without NUL bytes. */
export function toPath(path: unknown, name = 'path'): string {
  let p: string;
  if (typeof path === 'string') p = path;
  else if (path instanceof URL) p = fileURLToPath(path);
  else if (path instanceof Uint8Array) {
    if (path.byteLength === 0 && isDetached(path.buffer))
      throw new InvalidArgValueError(name, path, 'must not be a detached ArrayBuffer');
    p = Buffer.from(path.buffer, path.byteOffset, path.byteLength).toString();
  } else throw new InvalidArgTypeError(name, 'of type string or an instance of Buffer or URL', path);
  if (p.includes('\0'))
    throw new InvalidArgValueError(name, path, 'must be a string, Uint8Array, or URL without null bytes');
  return p;
}

export function isEncoding(e: unknown): e is BufferEncoding {
  return typeof e === 'string' && Buffer.isEncoding(e);
}

/** `options` as a string is the encoding; as an object, its `encoding`. */
export function encodingOf(options: unknown): BufferEncoding | null {
  const e = typeof options === 'string' ? options : (options as { encoding?: unknown } | undefined)?.encoding;
  if (e === undefined || e === null || e === 'buffer') return null;
  if (!isEncoding(e)) throw new InvalidArgValueError('encoding', e, 'is invalid encoding');
  return e;
}

export function optionsObject<T extends object>(options: unknown, name = 'options'): Partial<T> {
  if (options === undefined || options === null) return {};
  if (typeof options === 'string') return { encoding: options } as unknown as Partial<T>;
  if (typeof options !== 'object') throw new InvalidArgTypeError(name, 'one of type string or object', options);
  return options as Partial<T>;
}
