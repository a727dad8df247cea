// statx results as node:fs Stats / BigIntStats, computed as libuv does.
import { Stats, statSync } from 'node:fs';
import type { StatxResult } from '../ring/structs.js';

type BigIntStatsCtor = new (...args: bigint[]) => import('node:fs').BigIntStats;
// Node does not export BigIntStats; take its constructor from a real one.
const BigIntStats = Object.getPrototypeOf(statSync('/', { bigint: true })).constructor as BigIntStatsCtor;
const StatsCtor = Stats as unknown as new (...args: number[]) => Stats;

/** glibc's makedev. */
function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0), mi = BigInt(minor >>> 0);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

export function toStats(s: StatxResult): Stats {
  const ms = (t: { sec: bigint; nsec: number }) => Number(t.sec) * 1e3 + t.nsec / 1e6;
  return new StatsCtor(
    Number(makedev(s.devMajor, s.devMinor)), s.mode, s.nlink, s.uid, s.gid, Number(makedev(s.rdevMajor, s.rdevMinor)),
    s.blksize, Number(s.ino), Number(s.size), Number(s.blocks), ms(s.atime), ms(s.mtime), ms(s.ctime), ms(s.btime),
  );
}

export function toBigIntStats(s: StatxResult): import('node:fs').BigIntStats {
  const ns = (t: { sec: bigint; nsec: number }) => t.sec * 1000000000n + BigInt(t.nsec);
  return new BigIntStats(
    makedev(s.devMajor, s.devMinor), BigInt(s.mode), BigInt(s.nlink), BigInt(s.uid), BigInt(s.gid),
    makedev(s.rdevMajor, s.rdevMinor), BigInt(s.blksize), s.ino, s.size, s.blocks,
    ns(s.atime), ns(s.mtime), ns(s.ctime), ns(s.btime),
  );
}
