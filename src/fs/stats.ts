// statx results as node:fs Stats / BigIntStats, computed as libuv does.
import { Stats, statSync } from 'node:fs';
import type { StatxResult } from '../ring/structs.js';
import { InvalidArgTypeError } from '../errors.js';

const NUMBERS = ['mode', 'nlink', 'uid', 'gid', 'blksize', 'devMajor', 'devMinor', 'rdevMajor', 'rdevMinor'] as const;
const BIGINTS = ['ino', 'size', 'blocks'] as const;
const TIMES = ['atime', 'mtime', 'ctime', 'btime'] as const;

/** A statx result's shape (from statx, fstatx or parseStatx), field by field. */
function validateStatx(s: unknown): asserts s is StatxResult {
  if (s === null || typeof s !== 'object')
    throw new InvalidArgTypeError('statx', 'a statx result (from statx or parseStatx)', s);
  const o = s as Record<string, unknown>;
  for (const k of NUMBERS)
    if (typeof o[k] !== 'number') throw new InvalidArgTypeError(`statx.${k}`, 'of type number', o[k]);
  for (const k of BIGINTS)
    if (typeof o[k] !== 'bigint') throw new InvalidArgTypeError(`statx.${k}`, 'of type bigint', o[k]);
  for (const k of TIMES) {
    const t = o[k] as { sec?: unknown; nsec?: unknown } | null;
    if (t === null || typeof t !== 'object' || typeof t.sec !== 'bigint' || typeof t.nsec !== 'number') {
      throw new InvalidArgTypeError(`statx.${k}`, 'a { sec: bigint, nsec: number } object', t);
    }
  }
}

type BigIntStatsCtor = new (...args: bigint[]) => import('node:fs').BigIntStats;
// Node does not export BigIntStats; take its constructor from a real one.
const BigIntStats = Object.getPrototypeOf(statSync('/', { bigint: true })).constructor as BigIntStatsCtor;
// Likewise Stats: node 22+ exports its constructor wrapped in a DEP0180
// deprecation warning; the one behind a real Stats is node's own, unwrapped
// (and fs.Stats.prototype is its prototype, so instanceof still holds).
const StatsCtor = Object.getPrototypeOf(statSync('/')).constructor as new (...args: number[]) => Stats;

/** glibc's makedev. */
function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0),
    mi = BigInt(minor >>> 0);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

export function toStats(s: StatxResult): Stats {
  validateStatx(s);
  const ms = (t: { sec: bigint; nsec: number }) => Number(t.sec) * 1e3 + t.nsec / 1e6;
  return new StatsCtor(
    Number(makedev(s.devMajor, s.devMinor)),
    s.mode,
    s.nlink,
    s.uid,
    s.gid,
    Number(makedev(s.rdevMajor, s.rdevMinor)),
    s.blksize,
    Number(s.ino),
    Number(s.size),
    Number(s.blocks),
    ms(s.atime),
    ms(s.mtime),
    ms(s.ctime),
    ms(s.btime),
  );
}

export function toBigIntStats(s: StatxResult): import('node:fs').BigIntStats {
  validateStatx(s);
  const ns = (t: { sec: bigint; nsec: number }) => t.sec * 1000000000n + BigInt(t.nsec);
  return new BigIntStats(
    makedev(s.devMajor, s.devMinor),
    BigInt(s.mode),
    BigInt(s.nlink),
    BigInt(s.uid),
    BigInt(s.gid),
    makedev(s.rdevMajor, s.rdevMinor),
    BigInt(s.blksize),
    s.ino,
    s.size,
    s.blocks,
    ns(s.atime),
    ns(s.mtime),
    ns(s.ctime),
    ns(s.btime),
  );
}
