// Edges where the kernel says no or numbers get big: files past 2 GiB and
// 4 GiB (sparse), a full filesystem (ENOSPC on a 1 MiB tmpfs), and the
// descriptor limit (EMFILE under prlimit). Each skips, saying why, where the
// machine cannot set it up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  openSync,
  readSync,
  rmSync,
  statSync,
  statfsSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { attempt, assertSame, differential, impls, listTree, makeRoot, normalise, runFixture } from './harness.js';

const GiB = 2 ** 30;

test('files over 2 GiB and 4 GiB (sparse): positional reads and writes land at the right offsets', async (t) => {
  const root = makeRoot('big');
  try {
    const fsStat = statfsSync(root);
    const free = fsStat.bavail * fsStat.bsize;
    if (free < 256 * 2 ** 20)
      return t.skip(`only ${free} bytes free under ${root}; a sparse file needs little, but not that little`);
    const file = `${root}/sparse`;
    const fh = await impls.uring.open(file, 'w+');
    try {
      await fh.truncate(3 * GiB);
      const at = (n: number) => Buffer.from(`@${n}`);
      // Writes straddling 2^31 and 2^32, and past them; none overlap.
      const offsets = [2.5 * GiB, 2 ** 31 - 5, 2 ** 31 + 64, 2 ** 32 - 5, 2 ** 32 + 64, 5 * GiB + 12345];
      for (const off of offsets) {
        const w = await fh.write(at(off), 0, at(off).length, off);
        assert.equal(w.bytesWritten, at(off).length, `write at ${off}`);
      }
      // A bigint position past 4 GiB, and writev/readv there.
      await fh.write(Buffer.from('big'), 0, 3, BigInt(6 * GiB) as unknown as number);
      await fh.writev([Buffer.from('v1'), Buffer.from('v2')], 6 * GiB + 100);
      // Read back through uring and through node's own synchronous reads.
      const fd = openSync(file, 'r');
      try {
        for (const off of offsets) {
          const want = at(off);
          const r = await fh.read(Buffer.alloc(want.length), 0, want.length, off);
          assert.equal(r.buffer.toString(), want.toString(), `uring read at ${off}`);
          const b = Buffer.alloc(want.length);
          readSync(fd, b, 0, b.length, off);
          assert.equal(b.toString(), want.toString(), `node read at ${off}`);
        }
        const b = Buffer.alloc(3);
        readSync(fd, b, 0, 3, 6 * GiB);
        assert.equal(b.toString(), 'big');
        const v = [Buffer.alloc(2), Buffer.alloc(2)];
        await fh.readv(v, 6 * GiB + 100);
        assert.equal(Buffer.concat(v).toString(), 'v1v2');
        // Zeros between, where nothing was written.
        const z = await fh.read(Buffer.alloc(4), 0, 4, 2 * GiB + 1000);
        assert.deepEqual([...z.buffer], [0, 0, 0, 0]);
        // Node writes, uring reads, across the 2^31 and 2^32 boundaries.
        const wfd = openSync(file, 'r+');
        writeSync(wfd, Buffer.from('NODE'), 0, 4, 2 ** 31 - 100);
        writeSync(wfd, Buffer.from('EDON'), 0, 4, 2 ** 32 + 1000);
        closeSync(wfd);
        assert.equal((await fh.read(Buffer.alloc(4), 0, 4, 2 ** 31 - 100)).buffer.toString(), 'NODE');
        const n = await fh.read(Buffer.alloc(4), 0, 4, 2 ** 32 + 1000);
        assert.equal(n.buffer.toString(), 'EDON');
      } finally {
        closeSync(fd);
      }
      // Sizes past 2^32, as numbers and bigints, the same as node's.
      const size = 6 * GiB + 104;
      assert.equal((await fh.stat()).size, size);
      assert.equal((await impls.uring.stat(file, { bigint: true })).size, BigInt(size));
      assertSame(
        normalise(await impls.uring.stat(file), { roots: [root], fullStats: true }),
        normalise(statSync(file), { roots: [root], fullStats: true }),
        'stat of the sparse file',
      );
      // readFile refuses more than 2 GiB in one Buffer, as node does.
      const [nodeErr, uringErr] = [
        await attempt(() => impls.node.readFile(file)),
        await attempt(() => impls.uring.readFile(file)),
      ];
      assertSame(
        normalise(uringErr, { roots: [root] }),
        normalise(nodeErr, { roots: [root] }),
        'readFile of a 6 GiB file',
      );
      assert.equal((nodeErr as { error: { code: string } }).error.code, 'ERR_FS_FILE_TOO_LARGE');
      // A RangeError as node's, whose toString shows the code.
      const [theirs, ours] = [(nodeErr as { error: Error }).error, (uringErr as { error: Error }).error];
      assert.ok(ours instanceof RangeError);
      assert.equal(String(ours), String(theirs));
      // truncate(path, len) with len past 2^32, then shorter again.
      await impls.uring.truncate(file, 5 * GiB);
      assert.equal(statSync(file).size, 5 * GiB);
      await impls.uring.truncate(file, 2 ** 31 + 1);
      assert.equal(statSync(file).size, 2 ** 31 + 1);
      // The tail of a file past 2 GiB through FileHandle.readFile from a position near its end.
      const tail = await fh.read(Buffer.alloc(16), 0, 16, 2 ** 31 - 5);
      assert.equal(tail.bytesRead, 6);
      assert.equal(tail.buffer.subarray(0, 6).toString(), '@21474');
    } finally {
      await fh.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

/** Mounts a tmpfs of `size` on `dir` (as root); returns why not, or undefined. */
function mountTmpfs(dir: string, size: string): string | undefined {
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.error) return `mount could not run: ${r.error.message}`;
  if (r.status !== 0) return `mount -t tmpfs failed: ${r.stderr.trim() || `exit ${r.status}`}`;
  return undefined;
}

test('ENOSPC on a 1 MiB tmpfs: writeFile of 2 MiB rejects in both, and what was written is a prefix of the data', async (t) => {
  const root = makeRoot('nospc');
  const mnt = `${root}/mnt`;
  mkdirSync(mnt);
  const why = mountTmpfs(mnt, '1m');
  if (why) {
    rmSync(root, { recursive: true, force: true });
    return t.skip(why);
  }
  try {
    const data = Buffer.alloc(2 << 20);
    for (let i = 0; i < data.length; i += 4) data.writeUInt32LE(i, i);
    const results: Record<string, unknown> = {};
    for (const name of ['node', 'uring'] as const) {
      const fs = impls[name];
      const f = `${mnt}/data`;
      const out: Record<string, unknown> = {};
      out.writeFile = await attempt(() => fs.writeFile(f, data));
      const written = await fs.readFile(f);
      assert.ok(written.length > 0 && written.length < data.length, `${name}: ${written.length} bytes written`);
      assert.ok(
        written.equals(data.subarray(0, written.length)),
        `${name}: the bytes written are a prefix of the data`,
      );
      out.writtenSize = written.length;
      out.appendFile = await attempt(() => fs.appendFile(f, 'more'));
      out.copyFile = await attempt(() => fs.copyFile(f, `${mnt}/copy`));
      out.copyLeftBehind = listTree(mnt).copy ?? 'removed';
      out.tree = listTree(mnt);
      await fs.unlink(f);
      // A FileHandle write of 2 MiB at 0 on an empty filesystem: short, not an error (as node's);
      // then 4 KiB at the current position, still 0 after a positional write: it fits.
      // (Short writes at the current position: 62.current-position.)
      const fh = await fs.open(f, 'w');
      try {
        const w = await attempt(() => fh.write(data, 0, data.length, 0));
        out.handleWrite = 'ok' in w ? { short: w.ok.bytesWritten < data.length } : w;
        out.handleWriteAgain = await attempt(() => fh.write(data, 0, 4096, null));
      } finally {
        await fh.close();
      }
      await fs.unlink(f);
      results[name] = normalise(out, { roots: [f, mnt] });
    }
    assertSame(results.uring, results.node, 'ENOSPC results');
    const r = results.node as Record<string, any>;
    assert.equal(r.writeFile.error.code, 'ENOSPC');
    assert.equal(r.appendFile.error.code, 'ENOSPC');
    assert.equal(r.copyFile.error.code, 'ENOSPC');
    assert.deepEqual(r.handleWrite, { short: true });
  } finally {
    spawnSync('umount', [mnt]);
    rmSync(root, { recursive: true, force: true });
  }
});

test('EMFILE under a limit of 64 descriptors (prlimit): same errors in both, and both recover after closing', async (t) => {
  const probe = spawnSync('prlimit', ['--nofile=64:64', 'true']);
  if (probe.error || probe.status !== 0)
    return t.skip(`prlimit --nofile=64:64 is not available here: ${probe.error?.message ?? probe.stderr}`);
  const counts: Record<string, { openedSequentially: number; openedConcurrently: number }> = {};
  const { node } = await differential(
    async (side) => {
      const r = (await runFixture('emfile', side.name, side.root, ['prlimit', '--nofile=64:64'])) as Record<
        string,
        any
      >;
      // How many opened before the limit depends on the descriptors each process already holds
      // (uring: the ring and its eventfd), so those are compared loosely, below.
      const { openedSequentially, openedConcurrently, ...rest } = r;
      counts[side.name] = { openedSequentially, openedConcurrently };
      return rest;
    },
    {
      setup: (root) => {
        for (let i = 0; i < 100; i++) writeFileSync(`${root}/f${i}`, `file ${i}`);
      },
    },
  );
  const n: Record<string, any> = { ...(node as Record<string, any>), counts: counts.node! };
  const u = { counts: counts.uring! };
  assert.equal(n.firstError.code, 'EMFILE');
  assert.equal(n.readFileAtLimit.error.code, 'EMFILE');
  assert.equal(n.readFileAfterClose.ok, 'file 99');
  assert.deepEqual(n.concurrentCodes, ['EMFILE']);
  for (const [name, c] of [
    ['node', n.counts],
    ['uring', u.counts],
  ] as const) {
    assert.ok(
      c.openedSequentially > 30 && c.openedSequentially < 64,
      `${name} opened ${c.openedSequentially} files one by one`,
    );
    assert.ok(
      c.openedConcurrently > 30 && c.openedConcurrently < 64,
      `${name} opened ${c.openedConcurrently} files at once`,
    );
  }
  t.diagnostic(
    `opened before EMFILE (one by one / at once): node ${n.counts.openedSequentially}/${n.counts.openedConcurrently}, uring ${u.counts.openedSequentially}/${u.counts.openedConcurrently}`,
  );
});
