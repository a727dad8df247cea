// What the file benchmarks (fs-read, fs-files, fs-copy) share: options,
// building the C references, the test files and their page-cache residency,
// running one measured slice in a child process, statistics and the table.
//
// Every slice of every variant runs in a fresh child process pinned to the
// same CPU (taskset), warms up, then measures itself and prints one JSON
// line. The parent runs the variants interleaved (rotating which goes first)
// and re-reads the data files before each slice: the kernel here evicts
// page-cache pages left unused for about a minute (DESIGN.md).
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';

import { buildC, hasTaskset, options, outDir, root } from './lib/harness.js';

export { buildC, hasTaskset, options, outDir, root };

export function num(opts: Map<string, string>, name: string, def: number): number {
  const v = opts.get(name);
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, not ${v}`);
  return n;
}

/** argv pinned to `cpu` (none when cpu < 0 or taskset is missing). */
export function pinned(cpu: number, argv: string[]): [string, string[]] {
  return cpu >= 0 && hasTaskset ? ['taskset', ['-c', String(cpu), ...argv]] : [argv[0]!, argv.slice(1)];
}

/**
 * Runs one slice: `argv` in a child (pinned), which prints JSON: one line
 * as its last line of output, or (fio) a whole document. Throws with its
 * stderr if it fails.
 */
export function slice<T>(argv: string[], cpu: number, env?: NodeJS.ProcessEnv, timeoutMs = 120_000): T {
  const [cmd, args] = pinned(cpu, argv);
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    env: env ?? process.env,
    timeout: timeoutMs,
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0)
    throw new Error(
      `${argv.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr.trim().split('\n').slice(-5).join(' | ')}`,
    );
  const out = r.stdout.trim();
  const last = out.slice(out.lastIndexOf('\n') + 1);
  return JSON.parse(last.startsWith('{') && last.endsWith('}') ? last : out.slice(out.indexOf('{'))) as T;
}

/** A file of `size` bytes of random data at `path`, made once (kept between runs). */
export function ensureFile(path: string, size: number): void {
  if (existsSync(path) && statSync(path).size === size) return;
  mkdirSync(dirname(path), { recursive: true });
  const chunk = randomBytes(1 << 20);
  const fd = openSync(path, 'w');
  try {
    for (let off = 0; off < size; off += chunk.length) {
      chunk.writeUInt32LE(off >>> 20, 0); // no two MiB alike
      writeSync(fd, chunk, 0, Math.min(chunk.length, size - off));
    }
  } finally {
    closeSync(fd);
  }
}

/** Reads `paths` whole (brings them into the page cache, and marks them used). */
export function warm(paths: string[]): void {
  const buf = Buffer.allocUnsafe(8 << 20);
  for (const p of paths) {
    const fd = openSync(p, 'r');
    try {
      while (readSync(fd, buf, 0, buf.length, null) > 0);
    } finally {
      closeSync(fd);
    }
  }
}

export const hasFincore = spawnSync('fincore', ['--version']).status === 0;

/** Fraction of `paths`' pages in the page cache (fincore, util-linux); NaN without fincore. */
export function residency(paths: string[]): number {
  if (!hasFincore || paths.length === 0) return NaN;
  let pages = 0;
  let size = 0;
  // fincore takes many files at once; in groups, to keep argv short.
  for (let i = 0; i < paths.length; i += 500) {
    const out = execFileSync(
      'fincore',
      ['--bytes', '--noheadings', '--raw', '--output', 'PAGES,SIZE', ...paths.slice(i, i + 500)],
      { encoding: 'utf8' },
    );
    for (const line of out.trim().split('\n')) {
      const [p, s] = line.trim().split(/\s+/).map(Number);
      pages += p!;
      size += s!;
    }
  }
  const total = Math.ceil(size / 4096);
  return total === 0 ? 1 : pages / total;
}

/** Warms `paths` and checks they are resident; warms again (up to 3 times) below 99%. Returns the residency. */
export function warmAndCheck(paths: string[], sample = paths): number {
  let r = NaN;
  for (let i = 0; i < 3; i++) {
    warm(paths);
    r = residency(sample);
    if (!(r < 0.99)) break;
  }
  return r;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};

/** The order of the variants in repetition `rep`: rotated, so none always runs first. */
export function rotated<T>(xs: T[], rep: number): T[] {
  const k = rep % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}

/** A plain-text table: first row is the header; columns padded to their widest cell. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join(' | ')
      .trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.slice(1).map(line)].join('\n');
}

export interface Summary {
  median: number;
  min: number;
  max: number;
  /** Median over repetitions of this variant's value / the reference's value in the same repetition. */
  ratio: number;
  values: number[];
}

/** Per variant: median/min/max of its values and the median of its per-repetition ratios to `ref`. */
export function summarize(values: Map<string, number[]>, ref: string): Map<string, Summary> {
  const out = new Map<string, Summary>();
  const r = values.get(ref) ?? [];
  for (const [name, xs] of values) {
    const ratios = xs.map((x, i) => x / r[i]!).filter(Number.isFinite);
    out.set(name, {
      median: median(xs),
      min: Math.min(...xs),
      max: Math.max(...xs),
      ratio: median(ratios),
      values: xs,
    });
  }
  return out;
}

/** 123456 -> "123.5k" */
export const kfmt = (v: number): string => (Number.isFinite(v) ? `${(v / 1000).toFixed(1)}k` : '-');

export function machine(): Record<string, string | number> {
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '?';
  const fs =
    spawnSync('df', ['--output=fstype,source', '/tmp'], { encoding: 'utf8' }).stdout?.trim().split('\n')[1]?.trim() ??
    '?';
  return {
    node: process.version,
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
    cpu,
    cores: readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length ?? 0,
    fs,
    load: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
    date: new Date().toISOString(),
  };
}

/** Runs `fn` repeatedly (whole calls) for `warmMs`, then for `ms`; resolves with units done per second. */
export async function timed(
  fn: () => Promise<number> | number,
  warmMs: number,
  ms: number,
): Promise<{ perSec: number; units: number; seconds: number }> {
  let t0 = performance.now();
  while (performance.now() - t0 < warmMs) await fn();
  let units = 0;
  t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    units += await fn();
    t = performance.now();
  }
  const seconds = (t - t0) / 1000;
  return { perSec: units / seconds, units, seconds };
}
