// Seeded random sequences of operations over a small set of names, run step
// by step through node:fs/promises and uring/fs/promises on twin roots: after
// every step the two results (values or errors) must be equal, and every
// 250 steps (and at the end) the two trees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { attempt, assertSame, impls, listTree, makeRoot, normalise, type Fsp, type ImplName } from './harness.js';

const STEPS = 2000;
const SEEDS = [0x5eed, 20251125, 7];

/** mulberry32: a small, fast PRNG with a 32-bit state; the same seed gives the same sequence. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
    bytes(n: number): Buffer {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256);
      return b;
    },
  };
}

// Names that overlap on purpose: files that become dirs' parents, dirs that become files.
const NAMES = ['a', 'b', 'c', 'd', 'd/a', 'd/b', 'd/e', 'd/e/f', 'g', 'g/h'] as const;
const FLAGS = ['r', 'r+', 'w', 'w+', 'a', 'a+', 'wx', 'ax+'] as const;
const ENCODINGS = [undefined, 'utf8', 'hex', 'base64', 'latin1'] as const;

/** One operation, drawn once and run on both sides: `run` gets the side's fs and a path mapper. */
interface Op {
  text: string;
  run(fs: Fsp, p: (name: string) => string): Promise<unknown>;
}

function draw(r: ReturnType<typeof prng>): Op {
  const name = r.pick(NAMES);
  const other = r.pick(NAMES);
  const data = () =>
    r.next() < 0.3
      ? r
          .bytes(r.int(200))
          .toString('latin1')
          .replace(/[^\x20-\x7e]/g, '.')
      : r.bytes(r.pick([0, 1, 17, 100, 3000, 70_000]));
  const kind = r.int(18);
  switch (kind) {
    case 0:
    case 1: {
      const d = data();
      const flag = r.pick([undefined, 'w', 'wx', 'a']);
      return {
        text: `writeFile ${name} (${d.length}) ${flag ?? ''}`,
        run: (fs, p) => fs.writeFile(p(name), d, flag ? { flag } : undefined),
      };
    }
    case 2: {
      const d = data();
      return { text: `appendFile ${name} (${d.length})`, run: (fs, p) => fs.appendFile(p(name), d) };
    }
    case 3:
    case 4: {
      const enc = r.pick(ENCODINGS);
      return { text: `readFile ${name} ${enc ?? ''}`, run: (fs, p) => fs.readFile(p(name), enc) };
    }
    case 5:
      return { text: `stat ${name}`, run: (fs, p) => fs.stat(p(name)) };
    case 6:
      return { text: `lstat ${name} bigint`, run: (fs, p) => fs.lstat(p(name), { bigint: true }) };
    case 7:
      return { text: `rename ${name} ${other}`, run: (fs, p) => fs.rename(p(name), p(other)) };
    case 8:
      return { text: `unlink ${name}`, run: (fs, p) => fs.unlink(p(name)) };
    case 9: {
      const recursive = r.next() < 0.5;
      return {
        text: `mkdir ${name} ${recursive ? 'recursive' : ''}`,
        run: (fs, p) => fs.mkdir(p(name), { recursive }),
      };
    }
    case 10:
      return { text: `rmdir ${name}`, run: (fs, p) => fs.rmdir(p(name)) };
    case 11: {
      const excl = r.next() < 0.3;
      return {
        text: `copyFile ${name} ${other} ${excl ? 'EXCL' : ''}`,
        run: (fs, p) => fs.copyFile(p(name), p(other), excl ? 1 : 0),
      };
    }
    case 12: {
      const len = r.pick([0, 1, 5, 100, 5000, 70_001]);
      return { text: `truncate ${name} ${len}`, run: (fs, p) => fs.truncate(p(name), len) };
    }
    case 13:
      return { text: `link ${name} ${other}`, run: (fs, p) => fs.link(p(name), p(other)) };
    case 14:
      return { text: `symlink ${other} <- ${name}`, run: (fs, p) => fs.symlink(other, p(name)) };
    case 15: {
      const mode = r.pick([0, 2, 4, 6]);
      return { text: `access ${name} ${mode}`, run: (fs, p) => fs.access(p(name), mode) };
    }
    default: {
      // A FileHandle session: open with some flag, a few positional/sequential reads and writes, close.
      const flag = r.pick(FLAGS);
      const steps = Array.from({ length: 1 + r.int(4) }, () => {
        const pos = r.pick([null, 0, 3, 100, 4096]);
        if (r.next() < 0.5) {
          const d = r.bytes(r.pick([1, 10, 500]));
          return { text: `write(${d.length}@${pos})`, run: (fh: any) => fh.write(d, 0, d.length, pos) };
        }
        const len = r.pick([1, 16, 1000]);
        return { text: `read(${len}@${pos})`, run: (fh: any) => fh.read(Buffer.alloc(len), 0, len, pos) };
      });
      return {
        text: `open ${name} ${flag}: ${steps.map((s) => s.text).join(' ')}`,
        run: async (fs, p) => {
          const fh = await fs.open(p(name), flag);
          try {
            const out: unknown[] = [];
            for (const s of steps) out.push(await attempt(() => s.run(fh)));
            out.push(await fh.stat());
            return out;
          } finally {
            await fh.close();
          }
        },
      };
    }
  }
}

/** Normalised as the harness does, less st_blocks (allocation may differ with writeback timing). */
function norm(v: unknown, root: string): unknown {
  const n = normalise(v, { roots: [root] });
  return JSON.parse(JSON.stringify(n, (k, x) => (k === 'blocks' ? undefined : typeof x === 'bigint' ? `${x}n` : x)));
}

for (const seed of SEEDS) {
  test(`random sequence, seed ${seed}: ${STEPS} operations compared step by step`, async (t) => {
    const r = prng(seed);
    const roots: Record<ImplName, string> = { node: makeRoot('rnd'), uring: makeRoot('rnd') };
    const history: string[] = [];
    let errors = 0;
    const codes = new Map<string, number>();
    try {
      for (let step = 0; step < STEPS; step++) {
        const op = draw(r);
        history.push(`${step}: ${op.text}`);
        const out: Partial<Record<ImplName, unknown>> = {};
        for (const name of ['node', 'uring'] as const) {
          const root = roots[name];
          out[name] = norm(await attempt(() => op.run(impls[name], (n) => `${root}/${n}`)), root);
        }
        assertSame(
          out.uring,
          out.node,
          `step ${step} (${op.text}); the last steps:\n${history.slice(-8).join('\n')}\n`,
        );
        const err = (out.node as { error?: { code?: string } }).error;
        if (err) {
          errors++;
          codes.set(err.code ?? '?', (codes.get(err.code ?? '?') ?? 0) + 1);
        }
        if (step % 250 === 249 || step === STEPS - 1) {
          assertSame(listTree(roots.uring), listTree(roots.node), `trees after step ${step}`);
        }
      }
      const summary = [...codes]
        .sort((x, y) => y[1] - x[1])
        .map(([c, n]) => `${c} ${n}`)
        .join(', ');
      t.diagnostic(
        `seed ${seed}: ${STEPS} ops, ${errors} errors on each side (${summary}); final tree ${Object.keys(listTree(roots.node)).length} entries`,
      );
      // The sequence must exercise both outcomes to be worth anything.
      assert.ok(errors > STEPS / 10 && errors < STEPS * 0.9, `errors ${errors} of ${STEPS}`);
    } finally {
      rmSync(roots.node, { recursive: true, force: true });
      rmSync(roots.uring, { recursive: true, force: true });
    }
  });
}
