// readFiles against node:fs's own readFileSync, on the real kernel: contents,
// order, sizes around the buffer size, per-file errors, abort, and that no
// descriptor (process fd or direct slot) outlives a call.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, openSync, readFileSync, constants } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFiles, type ReadFileSettled } from '../../src/fs/read-files.js';
import { directSlots } from '../../src/fs/direct.js';
import { IORING_FEAT_CQE_SKIP } from '../../src/ring/uapi.js';
import { getRuntime } from '../../src/runtime/index.js';
import { tempDir, type TempDir } from '../helpers/tmp.js';
import { allSlotsFree, makeFiles } from './util.js';
import { drained } from '../runtime/util.js';
import { fdCount, fdList } from '../helpers/proc.js';
import { waitFor, within } from '../helpers/wait.js';
import { forEachSetup } from '../helpers/runtimes.js';

// A directory per setup: the tests make FIFOs and directories of fixed names.
let dir: TempDir;
after(() => getRuntime().close());

/**
 * No two of `bufs` share a byte: their ranges within each ArrayBuffer are
 * disjoint, and filling each with its own mark leaves every other's mark.
 */
function assertDisjoint(bufs: Buffer[]): void {
  const byBuffer = new Map<ArrayBufferLike, Buffer[]>();
  for (const b of bufs) if (b.length > 0) byBuffer.set(b.buffer, [...(byBuffer.get(b.buffer) ?? []), b]);
  for (const group of byBuffer.values()) {
    group.sort((x, y) => x.byteOffset - y.byteOffset);
    for (let i = 1; i < group.length; i++) {
      assert.ok(group[i - 1]!.byteOffset + group[i - 1]!.length <= group[i]!.byteOffset, 'results overlap');
    }
  }
  bufs.forEach((b, i) => b.fill(i % 251));
  bufs.forEach((b, i) =>
    assert.ok(
      b.every((x) => x === i % 251),
      `result ${i} was changed by writing another`,
    ),
  );
}

forEachSetup((s) => {
  before(() => {
    dir = tempDir('uring-readfiles-');
  });
  after(() => dir.remove());

  test('1000 small files: the bytes readFileSync reads, in the order given, each in memory of its own', async () => {
    const paths = makeFiles(dir, 'small', 1000, (i) => (i * 7919) % 9000);
    directSlots(getRuntime()); // the ring's own fds exist before the count
    const fds = fdCount();
    const got = await readFiles(paths);
    assert.equal(got.length, paths.length);
    got.forEach((buf, i) => {
      assert.ok(Buffer.isBuffer(buf), `result ${i} is a Buffer`);
      assert.ok(buf.equals(readFileSync(paths[i]!)), `file ${i} (${paths[i]})`);
    });
    // Reversed order in, reversed order out.
    const rev = await readFiles([...paths].reverse());
    rev.forEach((buf, i) => assert.ok(buf.equals(got[got.length - 1 - i]!)));
    // No two results overlap: writing one cannot change another (small ones
    // share chunks, so they are checked by their ranges and by writing).
    assertDisjoint(got);
    assert.equal(fdCount(), fds, `no fd left open: ${fdList().join(', ')}`);
    await allSlotsFree();
  });

  test('empty files come back as empty Buffers (or empty strings)', async () => {
    const paths = makeFiles(dir, 'empty', 5, () => 0);
    const got = await readFiles(paths);
    assert.deepEqual(
      got.map((b) => b.length),
      [0, 0, 0, 0, 0],
    );
    assert.deepEqual(await readFiles(paths, 'utf8'), ['', '', '', '', '']);
    assert.deepEqual(await readFiles([]), []);
  });

  test('files around and above bufferSize are read whole', async () => {
    const sizes = [0, 1, 4095, 4096, 4097, 8192, 100_000, 1 << 20];
    const paths = sizes.map((n, i) => dir.write(`around-${i}`, randomBytes(n)));
    for (const bufferSize of [4096, 4097, 1, 64 * 1024]) {
      const got = await readFiles(paths, { bufferSize });
      got.forEach((buf, i) =>
        assert.ok(buf.equals(readFileSync(paths[i]!)), `size ${sizes[i]} with bufferSize ${bufferSize}`),
      );
    }
    // The default buffer: a file of exactly 64 KiB is read by its chain alone; one byte more is not.
    const edge = [65535, 65536, 65537, 3 << 20].map((n, i) => dir.write(`edge-${i}`, randomBytes(n)));
    const got = await readFiles(edge);
    got.forEach((buf, i) => assert.ok(buf.equals(readFileSync(edge[i]!)), edge[i]));
    await allSlotsFree();
  });

  test('a file keeping its read buffer owns it: results never alias', async () => {
    // 40 KiB files fill more than half of the 64 KiB buffer: each keeps the buffer it was read into.
    const paths = makeFiles(dir, 'handoff', 50, () => 40 * 1024);
    const got = await readFiles(paths, { concurrency: 4 });
    assert.equal(new Set(got.map((b) => b.buffer)).size, got.length);
    got.forEach((b, i) => assert.ok(b.equals(readFileSync(paths[i]!))));
    got[0]!.fill(0);
    assert.ok(got[1]!.equals(readFileSync(paths[1]!)), 'writing one result leaves the others alone');
  });

  test('small files share chunks of at most 64 KiB, sized to the batch, on 8-byte boundaries', async () => {
    const paths = makeFiles(dir, 'chunked', 300, (i) => 1 + ((i * 37) % 8192));
    const got = await readFiles(paths);
    got.forEach((b, i) => assert.ok(b.equals(readFileSync(paths[i]!)), `file ${i}`));
    const shared = new Set(got.map((b) => b.buffer));
    assert.ok(
      shared.size < got.length / 4,
      `small results share chunks (${shared.size} ArrayBuffers for ${got.length} files)`,
    );
    for (const b of got) {
      assert.ok(b.buffer.byteLength <= 64 * 1024, `a small result holds at most 64 KiB (${b.buffer.byteLength})`);
      assert.equal(b.byteOffset % 8, 0);
    }
    // A Float64Array over a result works where its length allows.
    const eight = got.find((b) => b.length >= 8)!;
    assert.equal(new Float64Array(eight.buffer, eight.byteOffset, 1).length, 1);
    // One small file alone does not hold a whole chunk.
    const [lone] = await readFiles([dir.write('lone', randomBytes(100))]);
    assert.ok(lone!.buffer.byteLength <= 128, `a lone 100-byte file holds ${lone!.buffer.byteLength} bytes`);
    assertDisjoint(got);
  });

  test('a mix of tiny, chunk-sized, exact-bufferSize, larger and empty files, with and without encoding', async () => {
    const bufferSize = 16 * 1024;
    const sizes = [
      1,
      0,
      7,
      8191,
      8192,
      8193,
      8200,
      bufferSize - 1,
      bufferSize,
      bufferSize + 1,
      3 * bufferSize,
      0,
      100,
      64 * 1024,
      65537,
      5,
    ];
    const paths = sizes.map((n, i) => dir.write(`mix-${i}`, randomBytes(n)));
    const withMissing = [...paths.slice(0, 8), dir.file('mix-missing'), ...paths.slice(8)];
    for (const bs of [bufferSize, undefined]) {
      const got = await readFiles(paths, { bufferSize: bs });
      got.forEach((b, i) => assert.ok(b.equals(readFileSync(paths[i]!)), `size ${sizes[i]}, bufferSize ${bs}`));
      assertDisjoint(got);
      const hex = await readFiles(paths, { bufferSize: bs, encoding: 'hex' });
      assert.deepEqual(
        hex,
        paths.map((p) => readFileSync(p, 'hex')),
      );
      for (const encoding of [null, 'latin1'] as const) {
        const settled = (await readFiles(withMissing, { bufferSize: bs, settle: true, encoding })) as ReadFileSettled<
          Buffer | string
        >[];
        assert.equal(settled.length, withMissing.length);
        settled.forEach((r, i) => {
          assert.equal(r.path, withMissing[i]);
          if (i === 8) {
            assert.equal(r.status, 'rejected');
            assert.equal((r as { reason: NodeJS.ErrnoException }).reason.code, 'ENOENT');
          } else {
            assert.equal(r.status, 'fulfilled');
            const want = readFileSync(withMissing[i]!);
            const v = (r as { value: Buffer | string }).value;
            if (encoding) assert.equal(v, want.toString(encoding), `${withMissing[i]} as ${encoding}`);
            else assert.ok((v as Buffer).equals(want), `${withMissing[i]}`);
          }
        });
      }
      await assert.rejects(readFiles(withMissing, { bufferSize: bs }), { code: 'ENOENT', path: withMissing[8] });
    }
    await allSlotsFree();
  });

  test('a file larger than the place reserved from the sizes before it is read whole (split between chunk and lane buffer)', async () => {
    // One at a time, so each read reserves what the files before it suggest:
    // 1000 bytes, then files a byte larger, much larger, above 8 KiB, above
    // the buffer, empty, and back.
    const sizes = [...Array<number>(50).fill(1000), 1001, 5000, 8192, 9000, 70_000, 0, 1000, 3, 8000, 1000, 1000];
    const paths = sizes.map((n, i) => dir.write(`split-${i}`, randomBytes(n)));
    for (const concurrency of [1, 3, 64]) {
      const got = await readFiles(paths, { concurrency });
      got.forEach((b, i) =>
        assert.ok(b.equals(readFileSync(paths[i]!)), `file ${i} (${sizes[i]} bytes), concurrency ${concurrency}`),
      );
      assertDisjoint(got);
      assert.deepEqual(
        await readFiles(paths, { concurrency, encoding: 'base64' }),
        paths.map((p) => readFileSync(p, 'base64')),
      );
    }
    await allSlotsFree();
  });

  test('batches one after another (lane buffers passed on): earlier results stay intact and disjoint from later ones', async () => {
    const small = makeFiles(dir, 'seq-small', 100, (i) => 1 + ((i * 131) % 8000));
    const big = makeFiles(dir, 'seq-big', 40, (i) => 40 * 1024 + i);
    const other = makeFiles(dir, 'seq-other', 40, () => 50 * 1024);
    const r1 = await readFiles(small);
    const r2 = await readFiles(big, { concurrency: 4 });
    const r3 = await readFiles(other, { concurrency: 64 });
    const r4 = await readFiles([...small.slice(0, 10), ...big.slice(0, 10)], 'latin1');
    const all = [...r1, ...r2, ...r3];
    const files = [...small, ...big, ...other];
    all.forEach((b, i) => assert.ok(b.equals(readFileSync(files[i]!)), `${files[i]} after the later batches`));
    assert.deepEqual(
      r4,
      [...small.slice(0, 10), ...big.slice(0, 10)].map((p) => readFileSync(p, 'latin1')),
    );
    assertDisjoint(all);
    await allSlotsFree();
  });

  test('encoding: strings decoded as readFile would', async () => {
    const texts = ['héllo wörld', '', 'x'.repeat(70_000), '日本語のテキスト'];
    const paths = texts.map((t, i) => dir.write(`text-${i}`, t));
    assert.deepEqual(await readFiles(paths, 'utf8'), texts);
    assert.deepEqual(
      await readFiles(paths, { encoding: 'base64' }),
      paths.map((p) => readFileSync(p, 'base64')),
    );
    // Paths as Buffers and file: URLs too.
    assert.deepEqual(await readFiles([Buffer.from(paths[0]!), new URL(`file://${paths[3]}`)], 'utf8'), [
      texts[0],
      texts[3],
    ]);
  });

  test('non-ASCII paths between ASCII ones: each opens its own file', async () => {
    const names = ['plain-a', 'é-accent', 'plain-b', '日本語', '😀-emoji', 'plain-c', 'ünï-çødé-😀-日本', 'plain-d'];
    const paths = names.map((n) => dir.write(`names-${n}`, `contents of ${n}`));
    assert.deepEqual(
      await readFiles(paths, 'utf8'),
      names.map((n) => `contents of ${n}`),
    );
    // All ASCII, for the other way of finding where each path starts.
    const plain = names.filter((n) => n.startsWith('plain')).map((n) => dir.file(`names-${n}`));
    assert.deepEqual(
      await readFiles(plain, 'utf8'),
      ['a', 'b', 'c', 'd'].map((x) => `contents of plain-${x}`),
    );
  });

  test('files of unknown size (/proc) are read to the end, as readFileSync reads them', async () => {
    const [version] = await readFiles(['/proc/version'], 'latin1');
    assert.equal(version, readFileSync('/proc/version', 'latin1'));
    assert.ok(version!.length > 0);
  });

  test('CQEs: the open posts none when it succeeds; a failed open, and a failed read, still settle the file and free its slot', async () => {
    const rt = s.runtime({ entries: 16 });
    try {
      const good = makeFiles(dir, 'cqes', 30, (i) => i * 50);
      const sub = dir.file('cqes-dir');
      mkdirSync(sub);
      // A missing file after every third (three CQEs: open, read and close
      // fail), a directory (open succeeds, read fails EISDIR: two).
      const paths: string[] = [];
      good.forEach((p, i) => {
        paths.push(p);
        if (i % 3 === 0) paths.push(dir.file(`cqes-missing-${i}`));
      });
      paths.push(sub);
      const c0 = rt.stats.completions;
      // Twice, so a slot freed too early or never would show in the second round.
      for (let round = 0; round < 2; round++) {
        const got = await within(readFiles(paths, { runtime: rt, settle: true, concurrency: 4 }), 20_000, 'readFiles');
        got.forEach((r, i) => {
          if (paths[i]!.includes('missing'))
            assert.equal((r as { reason: NodeJS.ErrnoException }).reason.code, 'ENOENT');
          else if (paths[i] === sub) assert.equal((r as { reason: NodeJS.ErrnoException }).reason.code, 'EISDIR');
          else assert.ok((r as { value: Buffer }).value.equals(readFileSync(paths[i]!)), `file ${i}`);
        });
      }
      const missing = paths.filter((p) => p.includes('missing')).length;
      const opened = paths.length - missing;
      const perOpened = rt.ring.features & IORING_FEAT_CQE_SKIP ? 2 : 3;
      assert.equal(rt.stats.completions - c0, 2 * (perOpened * opened + 3 * missing));
      const slots = directSlots(rt);
      assert.equal(slots.available, slots.size, 'every direct slot released');
      await drained(rt);
    } finally {
      await rt.close();
    }
  });

  test('missing files and a directory, settle: true: an error for that file, the others read', async () => {
    const good = makeFiles(dir, 'mixed', 20, (i) => i * 100);
    const sub = dir.file('a-directory');
    mkdirSync(sub);
    const paths: string[] = [];
    good.forEach((p, i) => {
      paths.push(p);
      if (i % 3 === 0) paths.push(dir.file(`missing-${i}`));
    });
    paths.splice(5, 0, sub);
    const fds = fdCount();
    const got: ReadFileSettled<Buffer>[] = await readFiles(paths, { settle: true });
    assert.equal(got.length, paths.length);
    got.forEach((r, i) => {
      assert.equal(r.path, paths[i]);
      if (paths[i]!.includes('missing-')) {
        assert.equal(r.status, 'rejected');
        const e = (r as { reason: NodeJS.ErrnoException }).reason;
        assert.equal(e.code, 'ENOENT');
        assert.equal(e.errno, -2);
        assert.equal(e.syscall, 'open');
        assert.equal(e.path, paths[i]);
        assert.equal(e.message, `ENOENT: no such file or directory, open '${paths[i]}'`);
        assert.match(e.stack!, /read-files\.test/, 'the stack shows the caller');
      } else if (paths[i] === sub) {
        assert.equal(r.status, 'rejected');
        const e = (r as { reason: NodeJS.ErrnoException }).reason;
        assert.equal(e.code, 'EISDIR');
        assert.equal(e.syscall, 'read');
        assert.equal(e.path, sub);
      } else {
        assert.equal(r.status, 'fulfilled');
        assert.ok((r as { value: Buffer }).value.equals(readFileSync(paths[i]!)));
      }
    });
    assert.equal(fdCount(), fds);
    await allSlotsFree();
  });

  test("missing file, default mode: rejects with that file's error, as Promise.all over readFile would", async () => {
    const good = makeFiles(dir, 'reject', 10, () => 10);
    const missing = dir.file('not-there');
    await assert.rejects(readFiles([...good, missing, ...good]), (e: NodeJS.ErrnoException) => {
      assert.equal(e.code, 'ENOENT');
      assert.equal(e.syscall, 'open');
      assert.equal(e.path, missing);
      assert.match(e.stack!, /read-files\.test/);
      return true;
    });
    await assert.rejects(readFiles([good[0]!, dir.path]), { code: 'EISDIR', syscall: 'read', path: dir.path });
    await allSlotsFree();
  });

  test('EACCES is reported for the file (when not root)', async (t) => {
    if (process.getuid?.() === 0) return t.skip('root reads files whatever their mode');
    const p = dir.write('secret', 'x');
    execFileSync('chmod', ['000', p]);
    const [r] = await readFiles([p], { settle: true });
    assert.equal(r!.status, 'rejected');
    assert.equal((r as { reason: NodeJS.ErrnoException }).reason.code, 'EACCES');
  });

  test('twice as many files as the runtime has direct slots, twice: every slot comes back', async () => {
    const rt = getRuntime();
    const slots = directSlots(rt);
    assert.ok(slots.size > 0, `a sparse file table could be registered: ${slots.unavailable?.message}`);
    const base = makeFiles(dir, 'many', 64, (i) => i);
    const paths = Array.from({ length: 2 * slots.size }, (_, i) => base[i % base.length]!);
    paths[100] = dir.file('missing-in-many');
    const fds = fdCount();
    for (let round = 0; round < 2; round++) {
      const got = await readFiles(paths, { settle: true, concurrency: 1024 });
      assert.equal(got.filter((r) => r.status === 'rejected').length, 1);
      assert.equal((got[7] as { value: Buffer }).value.length, 7);
      assert.equal(slots.available, slots.size, `round ${round}: all ${slots.size} slots free`);
    }
    assert.equal(fdCount(), fds);
  });

  test('batches sharing the slot table wait for free slots and all complete', async () => {
    const rt = getRuntime();
    const slots = directSlots(rt);
    const paths = makeFiles(dir, 'shared', 32, (i) => i * 3);
    const big = Array.from({ length: slots.size + 500 }, (_, i) => paths[i % paths.length]!);
    // The first takes every slot (tiny buffers keep it cheap); the others must wait for its releases.
    const runs: [Promise<Buffer[]>, Promise<Buffer[]>, Promise<Buffer[]>] = [
      readFiles(big, { concurrency: slots.size, bufferSize: 128 }),
      readFiles(paths, { concurrency: 8 }),
      readFiles(paths, { concurrency: 1 }),
    ];
    const [a, b, c] = await within(Promise.all(runs), 10_000, 'three batches on one slot table');
    a.forEach((buf, i) => assert.equal(buf.length, (i % 32) * 3));
    assert.deepEqual(
      b.map((x) => x.length),
      c.map((x) => x.length),
    );
    await allSlotsFree();
  });

  test('abort before the call and right after it: AbortError with the reason, nothing leaked', async () => {
    const base = makeFiles(dir, 'abort', 64, () => 512);
    const paths = Array.from({ length: 3000 }, (_, i) => base[i % base.length]!);
    await assert.rejects(readFiles(paths, { signal: AbortSignal.abort('early') }), {
      name: 'AbortError',
      code: 'ABORT_ERR',
      cause: 'early',
    });
    const fds = fdCount();
    const ac = new AbortController();
    const p = readFiles(paths, { signal: ac.signal, concurrency: 16 });
    ac.abort('stop');
    await assert.rejects(p, (e: Error & { code: string }) => {
      assert.equal(e.name, 'AbortError');
      assert.equal(e.code, 'ABORT_ERR');
      assert.equal(e.cause, 'stop');
      assert.match(e.stack!, /read-files\.test/);
      return true;
    });
    await allSlotsFree();
    assert.equal(fdCount(), fds);
  });

  test('abort cancels a read blocked in the kernel (a FIFO with a writer and no data)', async () => {
    const fifo = dir.file('fifo');
    execFileSync('mkfifo', [fifo]);
    // Held open for writing: the chain's open returns at once, its read waits for data.
    const writer = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
    try {
      const ok = dir.write('fine', 'fine');
      const ac = new AbortController();
      const p = readFiles([ok, fifo, ok], { signal: ac.signal });
      const slots = directSlots(getRuntime());
      await waitFor(() => slots.available === slots.size - 1, {
        timeout: 2000,
        what: 'only the FIFO chain to be left',
      });
      ac.abort();
      await assert.rejects(p, { name: 'AbortError' });
      // The kernel cancels the read; the chain's close runs and frees the slot, though the writer stays.
      await allSlotsFree();
    } finally {
      closeSync(writer);
    }
  });

  test("bad arguments reject (never throw) with node's codes", async () => {
    const p = dir.write('arg', 'a');
    const bad: [unknown, unknown, string][] = [
      ['not an array', undefined, 'ERR_INVALID_ARG_TYPE'],
      [[p, 42], undefined, 'ERR_INVALID_ARG_TYPE'],
      [[`${p}\0x`], undefined, 'ERR_INVALID_ARG_VALUE'],
      [[p], { bufferSize: 0 }, 'ERR_OUT_OF_RANGE'],
      [[p], { bufferSize: 1.5 }, 'ERR_OUT_OF_RANGE'],
      [[p], { concurrency: 0 }, 'ERR_OUT_OF_RANGE'],
      [[p], { encoding: 'nope' }, 'ERR_INVALID_ARG_VALUE'],
      [[p], { signal: {} }, 'ERR_INVALID_ARG_TYPE'],
      // A hole, on purpose: refused like any non-path.
      // eslint-disable-next-line no-sparse-arrays
      [[p, , p], undefined, 'ERR_INVALID_ARG_TYPE'],
    ];
    for (const [paths, options, code] of bad) {
      let promise: Promise<unknown> | undefined;
      assert.doesNotThrow(() => {
        promise = readFiles(paths as string[], options as undefined);
      });
      await assert.rejects(promise!, { code }, `${String(paths)} ${JSON.stringify(options)}`);
    }
  });

  test('a ring whose files are already registered: regular descriptors instead, same results', async () => {
    const rt = s.runtime({ entries: 16 });
    try {
      const fd = openSync(dir.write('reg', 'r'), 'r');
      rt.ring.registerFiles([fd]);
      closeSync(fd);
      const slots = directSlots(rt);
      assert.equal(slots.size, 0);
      assert.equal((slots.unavailable as NodeJS.ErrnoException).code, 'EBUSY');
      const paths = makeFiles(dir, 'fallback', 30, (i) => i * 1000);
      const got = await readFiles([...paths, dir.file('nope')], { runtime: rt, settle: true, concurrency: 4 });
      got.slice(0, 30).forEach((r, i) => assert.ok((r as { value: Buffer }).value.equals(readFileSync(paths[i]!))));
      assert.equal((got[30] as { reason: NodeJS.ErrnoException }).reason.code, 'ENOENT');
    } finally {
      await rt.close();
    }
  });

  test('the runtime closing mid-batch rejects with ERR_URING_CLOSED, and does not hang', async () => {
    const rt = s.runtime({ entries: 16 });
    const base = makeFiles(dir, 'closing', 64, () => 100);
    const paths = Array.from({ length: 2000 }, (_, i) => base[i % base.length]!);
    const p = readFiles(paths, { runtime: rt });
    await rt.close();
    await within(assert.rejects(p, { code: 'ERR_URING_CLOSED' }), 5000, 'readFiles on a closing runtime');
  });

  test('a second runtime gets a file table of its own', async () => {
    const rt = s.runtime({ entries: 16 });
    try {
      const a = directSlots(rt);
      assert.notEqual(a, directSlots(getRuntime()));
      assert.equal(a, directSlots(rt), 'registered once per runtime');
      const p = dir.write('own', 'own table');
      assert.deepEqual(await readFiles([p, p], { runtime: rt, encoding: 'latin1' }), ['own table', 'own table']);
      assert.equal(a.available, a.size);
    } finally {
      await rt.close();
    }
  });

  test("a tiny ring (4 SQEs, 8 CQEs: two chains' CQEs at once) reads a large batch through the backlog, every file right", async () => {
    const rt = s.runtime({ entries: 4, cqEntries: 8 });
    try {
      const paths = makeFiles(dir, 'tiny', 300, (i) => (i * 37) % 9000);
      const before = fdCount();
      const got = await within(readFiles(paths, { runtime: rt, concurrency: 64 }), 20_000, 'readFiles on a tiny ring');
      got.forEach((b, i) => assert.ok(b.equals(readFileSync(paths[i]!)), `file ${i}`));
      assertDisjoint(got);
      assert.ok(rt.stats.backlogged > 0, 'chains waited in the backlog');
      // A successful open posts no CQE where the kernel can skip it (CQE_SKIP_SUCCESS).
      const perFile = rt.ring.features & IORING_FEAT_CQE_SKIP ? 2 : 3;
      assert.equal(rt.stats.completions, perFile * paths.length, `${perFile} CQEs per file`);
      assert.equal(rt.ring.cqOverflow, 0);
      const slots = directSlots(rt);
      assert.equal(slots.available, slots.size, 'every direct slot released');
      await drained(rt);
      assert.equal(fdCount(), before, fdList().join('\n'));
    } finally {
      await rt.close();
    }
  });
});
