// The differential harness: one scenario, run once through node:fs/promises
// and once through uring/fs/promises, each on its own temp directory, must
// give the same results, the same errors and leave the same tree.
//
// Results are normalised before they are compared: each side's root becomes
// `<root>`, errors become their name/code/errno/syscall/path/dest/message,
// buffers their bytes, Stats the fields that do not depend on which twin
// directory a file is in (inode numbers and times do).
import assert from 'node:assert/strict';
import {
  Stats,
  lstatSync,
  statSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  realpathSync,
} from 'node:fs';
import * as nodeFsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect, isDeepStrictEqual } from 'node:util';
import { fileURLToPath } from 'node:url';
import { runChild } from '../helpers/proc.js';
import * as uringFsp from '../../src/fs/promises.js';

/** What a scenario may use of either implementation: node:fs/promises' shape. */
export type Fsp = typeof nodeFsp;
export type ImplName = 'node' | 'uring';

// node:fs exports no BigIntStats value; take its class from a real one.
const BigIntStats = Object.getPrototypeOf(statSync('/', { bigint: true })).constructor as Function;

export const impls: Record<ImplName, Fsp> = {
  node: nodeFsp,
  uring: uringFsp as unknown as Fsp,
};

export interface Side {
  readonly name: ImplName;
  readonly fs: Fsp;
  /** This side's temp directory (absolute, no symlinks). */
  readonly root: string;
  /** A path under the root. */
  path(...parts: string[]): string;
}

/** A step's outcome: what it resolved with, or what it rejected with. */
export type Outcome<T = unknown> = { ok: T } | { error: unknown };

/** Runs `fn`, catching a rejection (or throw) as a value, so a scenario can go on. */
export async function attempt<T>(fn: () => T | Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: await fn() };
  } catch (error) {
    return { error };
  }
}

/** The Stats fields the same on twin files: all but inode numbers and times. */
export const STAT_FIELDS = ['dev', 'mode', 'nlink', 'uid', 'gid', 'rdev', 'size', 'blksize', 'blocks'] as const;
const STAT_KINDS = [
  'isFile',
  'isDirectory',
  'isSymbolicLink',
  'isFIFO',
  'isSocket',
  'isCharacterDevice',
  'isBlockDevice',
] as const;

export interface NormaliseOptions {
  /** Replaced by `<root>` in every string. */
  roots: string[];
  /** Keep every Stats field (ino and times too): for Stats of one same file. */
  fullStats?: boolean;
}

/** A value made comparable across the two sides (see the header). */
export function normalise(v: unknown, o: NormaliseOptions, seen = new Set<unknown>()): unknown {
  if (typeof v === 'string') {
    let s = v;
    for (const r of o.roots) s = s.split(r).join('<root>');
    return s;
  }
  if (v === null || typeof v !== 'object') return v;
  if (seen.has(v)) return '<cycle>';
  seen.add(v);
  try {
    if (v instanceof Error) {
      const e = v as Error & Record<string, unknown>;
      const out: Record<string, unknown> = { error: e.name, message: normalise(e.message, o, seen) };
      for (const k of ['code', 'errno', 'syscall', 'path', 'dest'])
        if (e[k] !== undefined) out[k] = normalise(e[k], o, seen);
      if (e.cause !== undefined) out.cause = normalise(e.cause, o, seen);
      return out;
    }
    if (v instanceof Stats || v instanceof BigIntStats) {
      const s = v as unknown as Record<string, unknown>;
      const out: Record<string, unknown> = { stats: v instanceof BigIntStats ? 'BigIntStats' : 'Stats' };
      const fields = o.fullStats ? Object.keys(s) : STAT_FIELDS;
      for (const k of fields) out[k] = s[k] instanceof Date ? (s[k] as Date).getTime() : s[k];
      for (const k of STAT_KINDS) out[k] = (s[k] as () => boolean).call(v);
      return out;
    }
    if (ArrayBuffer.isView(v)) {
      const bytes = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      return {
        [v.constructor.name]: bytes.length > 256 ? `${bytes.length} bytes, sha ${hash(bytes)}` : bytes.toString('hex'),
      };
    }
    if (v instanceof Date) return { date: v.getTime() };
    if (Array.isArray(v)) return v.map((x) => normalise(x, o, seen));
    if (isFileHandle(v)) return '<FileHandle>';
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = normalise(x, o, seen);
    return out;
  } finally {
    seen.delete(v);
  }
}

function isFileHandle(v: object): boolean {
  return v instanceof uringFsp.FileHandle || v.constructor?.name === 'FileHandle';
}

/** FNV-1a over the bytes: enough to tell contents apart in a message. */
export function hash(b: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

export interface TreeEntry {
  type: 'file' | 'dir' | 'symlink' | 'fifo' | 'other';
  mode: string;
  nlink?: number;
  size?: number;
  content?: string;
  target?: string;
}

/**
 * Everything under `root`: each entry's type, permission bits, and contents
 * or link target. Names are read as bytes; one that is not valid UTF-8
 * shows as `<hex:...>`, so a name mangled by a lossy decoding shows up.
 */
export function listTree(root: string): Record<string, TreeEntry> {
  const out: Record<string, TreeEntry> = {};
  const walk = (rel: Buffer) => {
    const dir = Buffer.concat([Buffer.from(root), rel.length ? Buffer.from('/') : Buffer.alloc(0), rel]);
    const names = readdirSync(dir, { encoding: 'buffer' }).sort(Buffer.compare);
    for (const name of names) {
      const r = rel.length ? Buffer.concat([rel, Buffer.from('/'), name]) : name;
      const p = Buffer.concat([Buffer.from(`${root}/`), r]);
      const key = showName(r);
      const st = lstatSync(p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out[key] = { type: 'dir', mode };
        walk(r);
      } else if (st.isSymbolicLink()) {
        out[key] = { type: 'symlink', mode, target: readlinkSync(p).toString().split(root).join('<root>') };
      } else if (st.isFile()) {
        const data = readFileSync(p);
        out[key] = {
          type: 'file',
          mode,
          nlink: st.nlink,
          size: st.size,
          content: data.length > 256 ? `sha ${hash(data)}` : data.toString('hex'),
        };
      } else {
        out[key] = { type: st.isFIFO() ? 'fifo' : 'other', mode };
      }
    }
  };
  walk(Buffer.alloc(0));
  return out;
}

function showName(b: Buffer): string {
  const s = b.toString('utf8');
  return Buffer.from(s, 'utf8').equals(b) ? s : `<hex:${b.toString('hex')}>`;
}

/**
 * A fresh temp directory, with symlinks resolved so error paths print as
 * given. Twin roots have paths of the same length (labels padded to 5),
 * so what depends on a path's length (a symlink's size) matches.
 */
export function makeRoot(label: string): string {
  return realpathSync(mkdtempSync(join(tmpdir(), `uring-fs-${label.padEnd(5, '_')}-`)));
}

export interface DifferentialOptions {
  /** Prepares each side's root before its scenario runs (synchronous node:fs). */
  setup?: (root: string) => void;
  /** Compare the trees left behind (default true). */
  compareTree?: boolean;
  fullStats?: boolean;
}

export interface DifferentialResult<T> {
  /** Node's result, normalised: what the test may assert on further. */
  node: T;
  uring: T;
  tree: Record<string, TreeEntry>;
}

/**
 * Runs `scenario` through node:fs/promises, then through uring/fs/promises,
 * each on its own fresh root, and asserts that the normalised results and
 * the trees left behind are equal. Returns node's normalised result (for
 * assertions that the scenario did what it meant to).
 */
export async function differential<T = unknown>(
  scenario: (side: Side) => Promise<T>,
  options: DifferentialOptions = {},
): Promise<DifferentialResult<unknown>> {
  const results: Partial<Record<ImplName, unknown>> = {};
  const trees: Partial<Record<ImplName, Record<string, TreeEntry>>> = {};
  const roots: string[] = [];
  try {
    for (const name of ['node', 'uring'] as const) {
      const root = makeRoot(name);
      roots.push(root);
      options.setup?.(root);
      const side: Side = { name, fs: impls[name], root, path: (...parts) => join(root, ...parts) };
      const raw = await scenario(side);
      results[name] = normalise(raw, { roots: [root], fullStats: options.fullStats });
      if (options.compareTree !== false) trees[name] = listTree(root);
    }
    assertSame(results.uring, results.node, 'results');
    if (options.compareTree !== false) assertSame(trees.uring, trees.node, 'trees');
    return { node: results.node, uring: results.uring, tree: trees.node ?? {} };
  } finally {
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  }
}

/** deepStrictEqual; when they differ, the message shows just the differing entries of each side. */
export function assertSame(uring: unknown, node: unknown, what: string): void {
  try {
    assert.deepStrictEqual(uring, node);
  } catch (err) {
    const show = (v: unknown) => inspect(v, { depth: 8, breakLength: 120, maxArrayLength: 50 });
    let detail = `--- uring:\n${show(uring)}\n--- node:\n${show(node)}`;
    if (isPlain(uring) && isPlain(node)) {
      const keys = [...new Set([...Object.keys(uring), ...Object.keys(node)])].filter(
        (k) => !isDeepStrictEqual(uring[k], node[k]),
      );
      detail = keys.map((k) => `[${k}]\n  uring: ${show(uring[k])}\n  node:  ${show(node[k])}`).join('\n');
    }
    throw Object.assign(new Error(`${what} differ between uring and node\n${detail}`), { code: 'ERR_ASSERTION' });
  }
}

function isPlain(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object';
}

/** Node's result of a differential run, as a typed record, for further assertions. */
export function asRecord(v: unknown): Record<string, any> {
  return v as Record<string, any>;
}

/** A fixture script's path in dist (fixtures are compiled beside the tests). */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}.js`, import.meta.url));
}

/**
 * Runs fixture `name` in a node child (optionally under a launcher such as
 * `prlimit --nofile=64:64`) with the implementation's name and a root, and
 * returns the JSON it printed (already normalised by the fixture).
 */
export async function runFixture(
  name: string,
  impl: ImplName,
  root: string,
  launcher: string[] = [],
): Promise<unknown> {
  const argv = [...launcher, process.execPath, fixturePath(name), impl, root];
  const r = await runChild(argv[0]!, argv.slice(1));
  if (r.code !== 0 || r.signal)
    throw new Error(`fixture ${name} (${impl}) exited with ${r.code ?? r.signal}:\n${r.stderr}`);
  return JSON.parse(r.stdout);
}
