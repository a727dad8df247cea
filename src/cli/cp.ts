// `uring cp`: copy files through io_uring, as cp(1) would, with many files in
// flight at once (a tree of small files is where one ring beats a thread pool).
import { readdir, readlink } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { accessSync, chmodSync, chownSync, constants, lstatSync, statSync, utimesSync } from 'node:fs';
import { mayUseNode, nodeFallbackReason, useNode } from '../fs/fallback.js';
import { getRuntime } from '../runtime/runtime.js';
import { Engine, errText, type CopyOptions } from './cp-walk.js';
import { startProgress } from './cp-progress.js';
import type { Command, Io } from './main.js';

const USAGE = [
  'Usage: uring cp [options] SOURCE DEST',
  '       uring cp [options] SOURCE... DIRECTORY',
  '',
  'Copies files through io_uring: each small file one chain of requests in the',
  'kernel (open both, read, write, close both), 64 at once; larger files in 4 MiB',
  'pieces, 4 in flight. With several sources, or when DEST is a directory, each',
  'source is copied into it under its own name.',
  '',
  'Options:',
  '  -r, --recursive    copy directories and everything in them (symbolic links',
  '                     are copied as links)',
  '  -n, --no-clobber   never overwrite: an existing destination is an error',
  '  -p, --preserve     keep mode, ownership (when allowed) and times, as cp -p',
  '  -v, --verbose      print each copy, and a summary at the end',
  '',
  'On a terminal, a copy that takes more than a second shows its progress on',
  'stderr (files and bytes done, rate, time left); nothing is shown otherwise.',
  '',
  'Exit code: 0 when everything was copied, 1 when something was not (each error',
  'is printed), 2 on a usage error.',
  '',
].join('\n');

const CONCURRENCY = 16;

type Options = CopyOptions;

interface Job {
  from: string;
  to: string;
  /** The source's size from the walk's lstat; undefined for a symlink that is followed. */
  size: number | undefined;
}

export const cpCommand: Command = {
  summary: 'copy files (and with -r, directories) through io_uring',
  usage: USAGE,
  run: (args, io) => cp(args, io),
};

async function cp(args: string[], io: Io): Promise<number> {
  const opts: Options = { recursive: false, noClobber: false, preserve: false, verbose: false };
  const paths: string[] = [];
  let endOfOptions = false;
  for (const a of args) {
    if (endOfOptions || !a.startsWith('-') || a === '-') paths.push(a);
    else if (a === '--') endOfOptions = true;
    else if (a === '-r' || a === '-R' || a === '--recursive') opts.recursive = true;
    else if (a === '-n' || a === '--no-clobber') opts.noClobber = true;
    else if (a === '-v' || a === '--verbose') opts.verbose = true;
    else if (a === '-p' || a === '--preserve') opts.preserve = true;
    else if (/^-[rRnvp]+$/.test(a)) {
      if (/[rR]/.test(a)) opts.recursive = true;
      if (a.includes('n')) opts.noClobber = true;
      if (a.includes('v')) opts.verbose = true;
      if (a.includes('p')) opts.preserve = true;
    } else {
      io.err.write(`uring cp: unknown option '${a}'\n\n${USAGE}`);
      return 2;
    }
  }
  if (paths.length < 2) {
    io.err.write(
      `uring cp: ${paths.length === 0 ? 'missing SOURCE and DEST' : `missing DEST after '${paths[0]}'`}\n\n${USAGE}`,
    );
    return 2;
  }
  const dest = paths.pop()!;
  let destIsDir = false;
  try {
    destIsDir = statSync(dest).isDirectory();
  } catch {
    // no destination yet
  }
  if (paths.length > 1 && !destIsDir) {
    io.err.write(`uring cp: target '${dest}' is not a directory\n`);
    return 1;
  }

  const started = process.hrtime.bigint();
  // Like cp(1): `cp a dir` puts a in dir; `cp -r a new` makes new a copy of a.
  const target = (src: string) => (destIsDir ? join(dest, basename(src)) : dest);
  let c: { files: number; bytes: number; failed: number };
  const engine = ringEngine(opts, io);
  if (engine !== undefined) {
    for (const src of paths) {
      const to = target(src);
      if (opts.recursive && isInside(to, src) && lstatIsDir(src)) {
        engine.failed++;
        io.err.write(`uring cp: cannot copy a directory, '${src}', into itself, '${to}'\n`);
        continue;
      }
      engine.addSource(src, to);
    }
    const progress = startProgress(engine, io);
    await engine.start();
    progress?.stop();
    c = engine;
  } else {
    // uring/fs only here: the engine needs none of it (start-up time).
    const copier = new Copier(opts, io, await import('../fs/index.js'));
    for (const src of paths) await copier.add(src, target(src));
    await copier.finish();
    c = copier;
  }
  if (opts.verbose) {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const mib = c.bytes / (1024 * 1024);
    io.out.write(
      `${c.files} file${c.files === 1 ? '' : 's'}, ${mib.toFixed(1)} MiB in ${ms.toFixed(0)} ms` +
        (ms > 0 ? ` (${(mib / (ms / 1000)).toFixed(0)} MiB/s)` : '') +
        (c.failed ? `; ${c.failed} failed` : '') +
        via() +
        '\n',
    );
  }
  return c.failed ? 1 : 0;
}

/** With -v, where the drop-ins are node's: say so in the summary. */
function via(): string {
  let why: string | undefined;
  try {
    why = nodeFallbackReason();
  } catch {
    return '';
  }
  return why === undefined ? '' : `; through node:fs (${why})`;
}

/**
 * The ring's engine (cp-walk.ts), or undefined where there is none: the
 * user opted out of io_uring, or it is unavailable and the fallback was
 * asked for (then Copier copies through node), or the ring has no direct
 * descriptors (then Copier copies through uring's copyFile).
 */
function ringEngine(opts: Options, io: Io): Engine | undefined {
  try {
    if (mayUseNode() && useNode()) return undefined;
  } catch {
    return undefined;
  }
  try {
    return new Engine(getRuntime(), opts, {
      copied: (from, to) => io.out.write(`'${from}' -> '${to}'\n`),
      error: (message) => io.err.write(`uring cp: ${message}\n`),
    });
  } catch (err) {
    // No ring and no fallback asked for: say so once, with how to get one,
    // rather than a system error per file from the copier.
    if ((err as { code?: string }).code === 'ERR_URING_UNAVAILABLE') throw err;
    return undefined;
  }
}

/** cp -p for one path: owner (when allowed), mode, times. */
function preserveSync(from: string, to: string): void {
  const st = statSync(from);
  try {
    chownSync(to, st.uid, st.gid);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
  }
  chmodSync(to, st.mode & 0o7777);
  utimesSync(to, st.atime, st.mtime);
}

function sameFile(a: string, b: string): boolean {
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

function lstatIsDir(p: string): boolean {
  try {
    return lstatSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Walks the sources and keeps up to CONCURRENCY copies in flight through uring/fs copyFile (no direct descriptors, or node's fs). */
class Copier {
  files = 0;
  bytes = 0;
  failed = 0;
  readonly #queue: Job[] = [];
  readonly #running = new Set<Promise<void>>();

  constructor(
    readonly opts: Options,
    readonly io: Io,
    readonly ufs: typeof import('../fs/index.js'),
  ) {}

  #fail(err: unknown): void {
    this.failed++;
    this.io.err.write(`uring cp: ${err instanceof Error ? err.message : String(err)}\n`);
  }

  async add(from: string, to: string): Promise<void> {
    let st;
    try {
      st = await this.ufs.lstat(from);
    } catch (err) {
      this.#fail(new Error(`cannot stat '${from}': ${errText(err)}`));
      return;
    }
    if (st.isDirectory()) {
      if (!this.opts.recursive) {
        this.#fail(new Error(`-r not specified; omitting directory '${from}'`));
        return;
      }
      if (isInside(to, from)) {
        this.#fail(new Error(`cannot copy a directory, '${from}', into itself, '${to}'`));
        return;
      }
      try {
        await this.ufs.mkdir(to, { mode: st.mode & 0o7777 }).catch((err: NodeJS.ErrnoException) => {
          // An existing directory is merged into, as cp -r does.
          if (err.code !== 'EEXIST') throw err;
          return this.ufs.stat(to).then((s) => {
            if (!s.isDirectory()) throw err;
          });
        });
        const names = await readdir(from);
        for (const name of names.sort()) await this.add(join(from, name), join(to, name));
        if (this.opts.preserve) this.#dirs.push([from, to]);
      } catch (err) {
        this.#fail(err);
      }
      return;
    }
    if (st.isSymbolicLink() && this.opts.recursive) {
      try {
        await this.ufs.symlink(await readlink(from), to);
        this.files++;
        if (this.opts.verbose) this.io.out.write(`'${from}' -> '${to}'\n`);
      } catch (err) {
        this.#fail(err);
      }
      return;
    }
    if (!st.isFile() && !st.isSymbolicLink()) {
      this.#fail(new Error(`skipping '${from}': not a regular file`));
      return;
    }
    this.#queue.push({ from, to, size: st.isFile() ? st.size : undefined });
    await this.#pump();
  }

  /** Starts queued copies while fewer than CONCURRENCY run; waits for a free place when full. */
  async #pump(): Promise<void> {
    while (this.#queue.length > 0) {
      if (this.#running.size >= CONCURRENCY) {
        await Promise.race(this.#running);
        continue;
      }
      const job = this.#queue.shift()!;
      const p: Promise<void> = this.#copy(job).finally(() => this.#running.delete(p));
      this.#running.add(p);
    }
  }

  async #copy({ from, to, size }: Job): Promise<void> {
    try {
      // cp's wording for a source it cannot read (copyFile's error names both paths).
      try {
        accessSync(from, constants.R_OK);
      } catch (err) {
        throw new Error(`cannot open '${from}' for reading: ${errText(err)}`, { cause: err });
      }
      if (sameFile(from, to)) throw new Error(`'${from}' and '${to}' are the same file`);
      // An existing destination keeps its mode, as with cp (copyFile gives it the source's).
      let kept: number | undefined;
      try {
        kept = statSync(to).mode & 0o7777;
      } catch {
        // no destination yet: it gets the source's mode
      }
      try {
        await this.ufs.copyFile(from, to, this.opts.noClobber ? constants.COPYFILE_EXCL : 0);
      } catch (err) {
        if (this.opts.noClobber && (err as NodeJS.ErrnoException).code === 'EEXIST')
          throw new Error(`not replacing '${to}'`, { cause: err });
        throw err;
      }
      if (kept !== undefined && !this.opts.preserve) chmodSync(to, kept);
      if (this.opts.preserve) preserveSync(from, to);
      this.files++;
      if (this.opts.verbose) {
        // The byte count is for -v's summary only: no stat per file without it.
        this.bytes += size ?? (await this.ufs.stat(to)).size;
        this.io.out.write(`'${from}' -> '${to}'\n`);
      }
    } catch (err) {
      this.#fail(err);
    }
  }

  async finish(): Promise<void> {
    await this.#pump();
    await Promise.all(this.#running);
    // -p: directories last, deepest first, once everything inside is written.
    for (const [from, to] of this.#dirs.reverse()) {
      try {
        preserveSync(from, to);
      } catch (err) {
        this.#fail(err);
      }
    }
  }

  readonly #dirs: [string, string][] = [];
}

/** True when `child` is `parent` or below it (a copy into itself would never end). */
function isInside(child: string, parent: string): boolean {
  const c = resolve(child);
  const p = resolve(parent);
  return c === p || c.startsWith(p === '/' ? p : `${p}/`);
}
