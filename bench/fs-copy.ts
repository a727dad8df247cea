// Copying a 1 GiB file hot in the page cache: uring's copyFile (256 KiB
// positional reads and writes, 16 in flight) against node's
// fs.promises.copyFile (copy_file_range in the kernel), and candidate
// replacements for uring's: the same loop on a destination opened with
// O_TRUNC and not ftruncate()d (with and without the ftruncate, to show
// what it costs), smaller chunks with more in flight, and splice through
// pipes made by the ring (IORING_OP_PIPE), which copies the data once in the
// kernel instead of into user memory and back.
//
// The ftruncate: libuv truncates the destination with ftruncate(fd, 0)
// after opening it, and uring's copyFile does as libuv does. On ext4,
// truncating a file, even an empty new one, marks it for allocate-on-close
// (auto_da_alloc), so its close() starts writeback of everything written:
// a quarter of a second per GiB here, and disk writes in the background.
//
// One process; before each copy the source is re-read (residency checked
// with fincore) and the previous copy unlinked right before the next one
// starts, so every copy gets page-cache pages the previous one just freed
// (on these VMs, pages freed and left for a few seconds are handed back to
// the host, and touching them again costs more than the copy). Variants
// rotate, 9 repetitions; median / min / max milliseconds and GiB/s.
//
//   node dist/bench/fs-copy.js [--file /tmp/uring-bench/1g] [--size-mb 1024] [--reps 9] [--variants copyFile,splice]
//     [--json out.json]
import { existsSync, unlinkSync, writeFileSync, constants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { copyFile } from '../src/fs/functions.js';
import { close, ftruncate, link, openat, read, statx, write } from '../src/ops/index.js';
import { PromiseOp } from '../src/runtime/op.js';
import { getRuntime } from '../src/runtime/index.js';
import type { Sqe } from '../src/ring/sqe.js';
import { ensureFile, machine, median, num, options, rotated, table, warmAndCheck } from './fs-common.js';

const opts = options();
const FILE = opts.get('file') ?? '/tmp/uring-bench/1g';
const DEST = `${FILE}.copy`;

// ------------------------------------------------------------------ candidates

/**
 * Positional reads and writes of `chunk` bytes, `depth` chunks in flight
 * (copyFile's loop, parametrized), into `dest` opened with O_TRUNC; with
 * `truncate`, also ftruncate(dest, 0) after the open, as libuv does.
 */
export async function copyReadWrite(
  src: string,
  dest: string,
  chunk: number,
  depth: number,
  truncate = false,
): Promise<void> {
  const ifd = await openat(src, constants.O_RDONLY);
  try {
    const st = await statx(src);
    const size = Number(st.size);
    const ofd = await openat(dest, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, st.mode & 0o7777);
    try {
      if (truncate) await ftruncate(ofd, 0);
      let next = 0;
      const worker = async () => {
        const buf = Buffer.allocUnsafeSlow(chunk);
        for (;;) {
          const pos = next;
          if (pos >= size) return;
          next += chunk;
          const len = Math.min(chunk, size - pos);
          let got = 0;
          while (got < len) {
            const n = await read(ifd, buf, { offset: got, length: len - got, position: pos + got });
            if (n === 0) break; // the file shrank
            got += n;
          }
          let put = 0;
          while (put < got) put += await write(ofd, buf, { offset: put, length: got - put, position: pos + put });
          if (got < len) return;
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, Math.min(depth, Math.ceil(size / chunk))) }, worker));
    } finally {
      await close(ofd);
    }
  } finally {
    await close(ifd);
  }
}

class PipeOp extends PromiseOp<[number, number]> {
  readonly fds = new Int32Array(2);
  get syscall(): string {
    return 'pipe';
  }
  prep(sqe: Sqe): void {
    sqe.prepPipe(this.fds, 0o2000000); // O_CLOEXEC
  }
  override result(): [number, number] {
    return [this.fds[0]!, this.fds[1]!];
  }
}

class SpliceOp extends PromiseOp<number> {
  constructor(
    readonly fdIn: number,
    readonly offIn: number,
    readonly fdOut: number,
    readonly offOut: number,
    readonly len: number,
  ) {
    super();
  }
  get syscall(): string {
    return 'splice';
  }
  prep(sqe: Sqe): void {
    sqe.prepSplice(this.fdIn, this.offIn, this.fdOut, this.offOut, this.len, 0);
  }
}

/**
 * splice(src -> pipe) linked to splice(pipe -> dest), `chunk` bytes (at most
 * a pipe's 64 KiB) per pair, `depth` pipes in flight. A short first splice
 * (the file shrank) cancels its soft-linked second; what did reach the pipe
 * is then drained on its own.
 */
export async function copySplice(src: string, dest: string, chunk: number, depth: number): Promise<void> {
  const rt = getRuntime();
  const ifd = await openat(src, constants.O_RDONLY);
  try {
    const st = await statx(src);
    const size = Number(st.size);
    const ofd = await openat(dest, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, st.mode & 0o7777);
    try {
      let next = 0;
      let eof = false;
      const worker = async () => {
        const p = new PipeOp();
        rt.submit(p);
        const [r, w] = await p.promise;
        try {
          while (!eof) {
            const pos = next;
            if (pos >= size) return;
            next += chunk;
            const len = Math.min(chunk, size - pos);
            let done = 0;
            while (done < len) {
              const a = new SpliceOp(ifd, pos + done, w, -1, len - done);
              const b = new SpliceOp(r, -1, ofd, pos + done, len - done);
              link([a, b], { runtime: rt });
              const [ra, rb] = await Promise.allSettled([a.promise, b.promise]);
              if (ra.status === 'rejected') throw ra.reason;
              let out = rb.status === 'fulfilled' ? rb.value : 0;
              while (out < ra.value) {
                const c = new SpliceOp(r, -1, ofd, pos + done + out, ra.value - out);
                rt.submit(c);
                out += await c.promise;
              }
              if (ra.value === 0) {
                eof = true;
                break;
              }
              done += ra.value;
            }
          }
        } finally {
          await close(r);
          await close(w);
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, Math.min(depth, Math.ceil(size / chunk))) }, worker));
    } finally {
      await close(ofd);
    }
  } finally {
    await close(ifd);
  }
}

// ------------------------------------------------------------------ run

interface Variant {
  name: string;
  run(): Promise<void>;
}

const VARIANTS: Variant[] = [
  { name: 'uring copyFile (256 KiB x 16)', run: () => copyFile(FILE, DEST) },
  { name: 'node fs.promises.copyFile', run: () => fsp.copyFile(FILE, DEST) },
  { name: 'read/write 1 MiB x 4, no ftruncate', run: () => copyReadWrite(FILE, DEST, 1 << 20, 4) },
  { name: 'read/write 1 MiB x 4 + ftruncate(0)', run: () => copyReadWrite(FILE, DEST, 1 << 20, 4, true) },
  { name: 'read/write 256 KiB x 16, no ftruncate', run: () => copyReadWrite(FILE, DEST, 256 << 10, 16) },
  { name: 'splice via pipes 64 KiB x 32', run: () => copySplice(FILE, DEST, 64 << 10, 32) },
];

async function main(): Promise<void> {
  const reps = num(opts, 'reps', 9);
  const sizeMb = num(opts, 'size-mb', 1024);
  ensureFile(FILE, sizeMb << 20);
  // --variants: a comma-separated list of substrings of the variant names (default all; node's is always run).
  const only = opts.get('variants')?.split(',');
  const list = VARIANTS.filter((v) => !only || v.name.startsWith('node ') || only.some((w) => v.name.includes(w)));
  const ms = new Map<string, number[]>(list.map((v) => [v.name, []]));
  const resident: number[] = [];
  const started = Date.now();
  // A throwaway copy: its pages are the ones the first measured copy reuses.
  warmAndCheck([FILE]);
  await copyReadWrite(FILE, DEST, 1 << 20, 4);
  for (let rep = 0; rep < reps; rep++) {
    for (const v of rotated(list, rep)) {
      resident.push(warmAndCheck([FILE]));
      if (existsSync(DEST)) unlinkSync(DEST);
      const t0 = performance.now();
      await v.run();
      ms.get(v.name)!.push(performance.now() - t0);
    }
  }
  unlinkSync(DEST);
  await getRuntime().close();
  const m = machine();
  const gib = sizeMb / 1024;
  console.log(
    `Copying a ${sizeMb} MiB file in the page cache (${FILE}, ${m.fs}); node ${m.node}, Linux ${m.kernel}, ${m.cpu}, ${m.cores} cores, load ${m.load}`,
  );
  console.log(
    `one process, unpinned; ${reps} repetitions, variants rotated; source residency min ${(Math.min(...resident) * 100).toFixed(1)}%; total ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  const node = ms.get('node fs.promises.copyFile')!;
  const rows = [['variant', 'ms median', 'min', 'max', 'GiB/s (median)', 'speed vs node']];
  const results: Record<string, unknown> = {};
  for (const [name, xs] of ms) {
    const ratio = median(xs.map((x, i) => node[i]! / x));
    rows.push([
      name,
      median(xs).toFixed(0),
      Math.min(...xs).toFixed(0),
      Math.max(...xs).toFixed(0),
      (gib / (median(xs) / 1000)).toFixed(2),
      ratio.toFixed(2),
    ]);
    results[name] = { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), speedVsNode: ratio, values: xs };
  }
  console.log(table(rows));
  const json = opts.get('json');
  if (json) writeFileSync(json, JSON.stringify({ machine: m, file: FILE, sizeMb, reps, resident, results }, null, 2));
}

await main();
