// Files whose size says nothing of their contents: empty files, /proc files
// (size 0, contents generated on read), FIFOs (read to EOF while a writer
// child writes); and Stats of one same file through both implementations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync, symlinkSync, mkdirSync, chmodSync, rmSync } from 'node:fs';
import * as nodeFsp from 'node:fs/promises';
import * as uringFsp from '../../src/fs/promises.js';
import { attempt, asRecord, assertSame, differential, impls, makeRoot, normalise } from './harness.js';

test('empty files: readFile, FileHandle.read, readFile with encoding, stat', async () => {
  const { node } = await differential(async ({ fs, path }) => {
    await fs.writeFile(path('empty'), '');
    await fs.writeFile(path('empty2'), Buffer.alloc(0));
    await fs.appendFile(path('empty3'), [] as unknown as string);
    const fh = await fs.open(path('empty'), 'r');
    try {
      return {
        readFile: await fs.readFile(path('empty')),
        readFileUtf8: await fs.readFile(path('empty'), 'utf8'),
        readFileHex: await fs.readFile(path('empty2'), { encoding: 'hex' }),
        handleRead: await fh.read(Buffer.alloc(8), 0, 8, null),
        handleReadAt: await fh.read(Buffer.alloc(8), 0, 8, 100),
        handleReadNoArgs: await fh.read().then((r) => r.bytesRead),
        handleReadFile: await fh.readFile(),
        readv: await fh.readv([Buffer.alloc(2), Buffer.alloc(2)]),
        stat: await fs.stat(path('empty3')),
        fstat: await fh.stat(),
      };
    } finally {
      await fh.close();
    }
  });
  const r = asRecord(node);
  assert.deepEqual(r.readFile, { Buffer: '' });
  assert.equal(r.readFileUtf8, '');
  assert.equal(r.stat.size, 0);
});

/** Lines of a /proc file that do not change between two reads a moment apart. */
function stableLines(text: string, unstable: RegExp): string[] {
  return text.split('\n').filter((l) => !unstable.test(l));
}

test('/proc files have size 0 but contents: readFile reads them to EOF', async () => {
  const cases: [string, RegExp][] = [
    // Memory, signals, context switches and scheduling fields move between reads.
    [
      '/proc/self/status',
      /^(State|FDSize|Vm|Rss|Hugetlb|Threads|Sig|voluntary|nonvoluntary|Cpus_allowed|Mems_allowed|Ngid|Core|Kthread|untag|x86)/,
    ],
    ['/proc/cpuinfo', /^(cpu MHz|bogomips)/],
    ['/proc/version', /^$/],
    ['/proc/self/mountinfo', /^$/],
  ];
  for (const [file, unstable] of cases) {
    const st = await uringFsp.stat(file);
    assert.equal(st.size, 0, `${file} reports size 0`);
    const fromNode = await nodeFsp.readFile(file, 'utf8');
    const fromUring = (await uringFsp.readFile(file, 'utf8')) as string;
    assert.ok(fromUring.length > 0, `${file}: uring read nothing`);
    assert.deepEqual(stableLines(fromUring, unstable), stableLines(fromNode, unstable), file);
    // Through a FileHandle, and as a Buffer.
    const fh = await uringFsp.open(file);
    try {
      const buf = await fh.readFile();
      assert.ok(buf.length > 0, `${file}: FileHandle.readFile read nothing`);
    } finally {
      await fh.close();
    }
  }
  // A /proc file bigger than one read chunk (64 KiB): /proc/self/maps of a node process is not,
  // but /proc/self/smaps is, by far.
  const smapsNode = await nodeFsp.readFile('/proc/self/smaps', 'utf8');
  const smapsUring = (await uringFsp.readFile('/proc/self/smaps', 'utf8')) as string;
  assert.ok(smapsUring.length > 64 * 1024, `smaps read ${smapsUring.length} bytes`);
  const regions = (s: string) =>
    s
      .split('\n')
      .filter((l) => /^[0-9a-f]+-[0-9a-f]+ /.test(l) && l.includes('/'))
      .map((l) => l.split(' ').slice(-1)[0]);
  assert.deepEqual(new Set(regions(smapsUring)), new Set(regions(smapsNode)));
});

test('readFile of a FIFO reads what a writer child writes, to EOF', { timeout: 30_000 }, async () => {
  const pattern = (n: number) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >> 11)) & 0xff;
    return b;
  };
  const data = pattern(300_000);
  const { node } = await differential(
    async ({ fs, path, name }) => {
      const fifo = path('fifo');
      execFileSync('mkfifo', [fifo]);
      const out: Record<string, unknown> = {};
      for (const how of ['readFile', 'handle'] as const) {
        // The writer opens the FIFO (blocking until the reader has it open), writes in
        // pieces larger and smaller than the pipe buffer, then closes it: EOF.
        const writer = spawn(
          process.execPath,
          [
            '-e',
            `
        const fs = require('node:fs');
        const fd = fs.openSync(process.argv[1], 'w');
        const data = (${pattern.toString()})(${data.length});
        const chunks = ${JSON.stringify([1, 70_000, 100_000, 4096])};
        let off = 0;
        for (const n of chunks) { fs.writeSync(fd, data, off, n); off += n; }
        fs.writeSync(fd, data, off, data.length - off);
        fs.closeSync(fd);
      `,
            fifo,
          ],
          { stdio: 'inherit', timeout: 20_000 },
        );
        const exited = once(writer, 'exit');
        if (how === 'readFile') {
          out.readFile = await fs.readFile(fifo);
        } else {
          const fh = await fs.open(fifo, 'r');
          try {
            out.handleReadFile = await fh.readFile();
            out.afterEof = await fh.read(Buffer.alloc(4), 0, 4, null);
          } finally {
            await fh.close();
          }
        }
        const [code] = await exited;
        assert.equal(code, 0, `${name}: the writer failed`);
      }
      out.stat = await fs.stat(fifo);
      return out;
    },
    { compareTree: true },
  );
  const r = asRecord(node);
  assert.equal(r.readFile.Buffer, `${data.length} bytes, sha ${normaliseHash(data)}`);
  assert.equal(r.stat.isFIFO, true);
});

test(
  'writeFile and appendFile to a FIFO (a reader child copies it to a file), and to /dev/null',
  { timeout: 30_000 },
  async () => {
    const { tree } = await differential(async ({ fs, path, name }) => {
      const fifo = path('fifo');
      execFileSync('mkfifo', [fifo]);
      const out: Record<string, unknown> = {};
      for (const [i, how] of (['writeFile', 'appendFile'] as const).entries()) {
        const reader = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', fifo, path(`copy${i}`)], {
          stdio: 'inherit',
          timeout: 20_000,
        });
        const exited = once(reader, 'exit');
        const chunks = [Buffer.alloc(100_000, 'a'), 'then text', Buffer.alloc(70_000, 'b')];
        out[how] = await attempt(() => fs[how](fifo, chunks as unknown as string));
        const [code] = await exited;
        assert.equal(code, 0, `${name}: the reader failed`);
      }
      out.devNull = await attempt(() => fs.writeFile('/dev/null', Buffer.alloc(1 << 20)));
      out.devNullAppend = await attempt(() => fs.appendFile('/dev/null', 'x'));
      return out;
    });
    assert.equal(tree.copy0?.size, 170_009);
    assert.equal(tree.copy1?.size, 170_009);
  },
);

function normaliseHash(b: Buffer): string {
  return (normalise(b, { roots: [] }) as { Buffer: string }).Buffer.split(' sha ')[1]!;
}

test('Stats of one same file are identical through both, every field (times, ino, dev, rdev)', async () => {
  const root = makeRoot('stats');
  try {
    writeFileSync(`${root}/file`, 'x'.repeat(5000));
    mkdirSync(`${root}/dir`);
    symlinkSync('file', `${root}/link`);
    execFileSync('mkfifo', [`${root}/fifo`]);
    // A sticky, world-writable directory like /tmp, but one nobody else writes
    // into between the two stats (the shared /tmp's times moved under load).
    mkdirSync(`${root}/sticky`);
    chmodSync(`${root}/sticky`, 0o1777);
    const paths = [
      `${root}/file`,
      `${root}/dir`,
      `${root}/link`,
      `${root}/fifo`,
      '/dev/null',
      '/dev/zero',
      '/proc/self/status',
      '/',
      `${root}/sticky`,
    ];
    for (const p of paths) {
      for (const fn of ['stat', 'lstat'] as const) {
        for (const bigint of [false, true]) {
          const [n, u] = await Promise.all([
            attempt(() => impls.node[fn](p, { bigint })),
            attempt(() => impls.uring[fn](p, { bigint })),
          ]);
          assertSame(
            normalise(u, { roots: [root], fullStats: true }),
            normalise(n, { roots: [root], fullStats: true }),
            `${fn}(${p}, { bigint: ${bigint} })`,
          );
        }
      }
    }
    // FileHandle.stat on the same descriptor target.
    for (const p of [`${root}/file`, '/dev/null', `${root}/dir`]) {
      const nh = await impls.node.open(p);
      const uh = await impls.uring.open(p);
      try {
        for (const bigint of [false, true]) {
          assertSame(
            normalise(await uh.stat({ bigint }), { roots: [root], fullStats: true }),
            normalise(await nh.stat({ bigint }), { roots: [root], fullStats: true }),
            `FileHandle.stat(${p}, { bigint: ${bigint} })`,
          );
        }
      } finally {
        await nh.close();
        await uh.close();
      }
    }
    // The Stats objects are of node's own classes, with the same own keys in the same order.
    const [ns, us] = [await impls.node.stat(root), await impls.uring.stat(root)];
    assert.equal(Object.getPrototypeOf(us), Object.getPrototypeOf(ns));
    assert.deepEqual(Object.keys(us), Object.keys(ns));
    const [nb, ub] = [await impls.node.stat(root, { bigint: true }), await impls.uring.stat(root, { bigint: true })];
    assert.equal(Object.getPrototypeOf(ub), Object.getPrototypeOf(nb));
    assert.deepEqual(Object.keys(ub), Object.keys(nb));
    assert.equal(typeof ub.mtimeNs, 'bigint');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('stat vs lstat of symlinks (to a file, a dir, dangling, relative, chained)', async () => {
  const { node } = await differential(async ({ fs, path }) => {
    await fs.writeFile(path('file'), 'hello');
    await fs.mkdir(path('dir'));
    await fs.symlink('file', path('rel'));
    await fs.symlink(path('file'), path('abs'));
    await fs.symlink('dir', path('todir'));
    await fs.symlink('nowhere', path('dangling'));
    await fs.symlink('rel', path('chain'));
    await fs.symlink('loop2', path('loop1'));
    await fs.symlink('loop1', path('loop2'));
    const out: Record<string, unknown> = {};
    for (const n of ['rel', 'abs', 'todir', 'dangling', 'chain', 'loop1']) {
      out[`stat ${n}`] = await attempt(() => fs.stat(path(n)));
      out[`lstat ${n}`] = await attempt(() => fs.lstat(path(n)));
      out[`lstat ${n} bigint`] = await attempt(() => fs.lstat(path(n), { bigint: true }));
      out[`readFile ${n}`] = await attempt(() => fs.readFile(path(n), 'utf8'));
    }
    return out;
  });
  const r = asRecord(node);
  assert.equal(r['stat rel'].ok.isFile, true);
  assert.equal(r['lstat rel'].ok.isSymbolicLink, true);
  assert.equal(r['lstat rel'].ok.size, 4);
  assert.equal(r['stat todir'].ok.isDirectory, true);
  assert.equal(r['stat dangling'].error.code, 'ENOENT');
  assert.equal(r['lstat dangling'].ok.isSymbolicLink, true);
  assert.equal(r['stat loop1'].error.code, 'ELOOP');
  assert.equal(r['lstat loop1 bigint'].ok.stats, 'BigIntStats');
});
