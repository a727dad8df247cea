// forEachFile against node's readFileSync, on the real kernel: every file
// handed over once with its bytes, sizes around the buffer size, the view's
// lifetime (reused after the callback), per-file errors with and without
// onError, a throwing callback, abort, arguments, and no descriptor or
// direct slot left behind.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { forEachFile } from '../../src/fs/read-files.js';
import { directSlots } from '../../src/fs/direct.js';
import { getRuntime } from '../../src/runtime/index.js';
import { tempDir, type TempDir } from '../helpers/tmp.js';
import { allSlotsFree, makeFiles } from './util.js';
import { fifo, inKernel } from '../runtime/util.js';
import { fdCount, fdList } from '../helpers/proc.js';
import { forEachSetup } from '../helpers/runtimes.js';
import { waitFor } from '../helpers/wait.js';

// A directory per setup: the tests make FIFOs and directories of fixed names.
let dir: TempDir;
after(() => getRuntime().close());

forEachSetup((s) => {
  before(() => {
    dir = tempDir('uring-foreach-');
  });
  after(() => dir.remove());

  test('every file handed over exactly once, with the bytes readFileSync reads, sizes around bufferSize too', async () => {
    const sizes = [0, 1, 4095, 4096, 4097, 8192, 65535, 65536, 65537, 200_000];
    const paths = makeFiles(dir, 'mixed', 500, (i) => (i < sizes.length ? sizes[i]! : (i * 7919) % 70_000));
    directSlots(getRuntime());
    const fds = fdCount();
    const seen = new Array<number>(paths.length).fill(0);
    const copies = new Array<Buffer>(paths.length);
    await forEachFile(paths, (data, index, path) => {
      assert.ok(Buffer.isBuffer(data));
      assert.equal(path, paths[index]);
      seen[index]!++;
      copies[index] = Buffer.from(data);
    });
    assert.ok(
      seen.every((n) => n === 1),
      'each file once',
    );
    copies.forEach((c, i) => assert.ok(c.equals(readFileSync(paths[i]!)), `file ${i} (${c.length} bytes)`));
    assert.equal(fdCount(), fds, `no fd left open: ${fdList().join(', ')}`);
    await allSlotsFree();
  });

  test('the view is the lane buffer: valid during the callback, reused for a later file (copy to keep)', async () => {
    const paths = makeFiles(dir, 'reuse', 200, () => 1000);
    const views: Buffer[] = [];
    const firstBytes: Buffer[] = [];
    await forEachFile(
      paths,
      (data) => {
        views.push(data);
        firstBytes.push(Buffer.from(data));
      },
      { concurrency: 4 },
    );
    // 4 lanes, 200 files: at most 4 distinct memories, each reused, and what
    // a view shows now is the last file read into its lane.
    assert.ok(new Set(views.map((v) => v.buffer)).size <= 4, 'no memory per file');
    assert.ok(
      views.some((v, i) => !v.equals(firstBytes[i]!)),
      'a kept view shows a later file',
    );
  });

  test('encoding: strings, as readFileSync decodes them; the empty list resolves at once', async () => {
    const paths = [dir.write('t1', 'héllo\n'), dir.write('t2', ''), dir.write('t3', 'x'.repeat(70_000))];
    const got = new Array<string>(3);
    await forEachFile(
      paths,
      (s, i) => {
        got[i] = s;
      },
      'utf8',
    );
    assert.deepEqual(
      got,
      paths.map((p) => readFileSync(p, 'utf8')),
    );
    let calls = 0;
    await forEachFile([], () => calls++);
    assert.equal(calls, 0);
  });

  test('files of unknown size (/proc) are read to the end', async () => {
    const paths = ['/proc/self/status', '/proc/self/maps'];
    const got: string[] = [];
    await forEachFile(
      paths,
      (s, i) => {
        got[i] = s;
      },
      { encoding: 'utf8' },
    );
    assert.match(got[0]!, /^Name:/);
    assert.ok(got[1]!.endsWith('\n') && got[1]!.includes('['), 'maps read whole');
  });

  test('per-file errors go to onError, the other files are read; without onError the first rejects', async () => {
    const ok = makeFiles(dir, 'errs', 50, () => 100);
    const paths = [...ok.slice(0, 20), dir.file('missing'), dir.path, ...ok.slice(20)];
    const errors: [string, number, string][] = [];
    let read = 0;
    await forEachFile(paths, () => read++, {
      onError: (err, index, path) => errors.push([(err as NodeJS.ErrnoException).code!, index, path]),
    });
    assert.equal(read, 50);
    errors.sort((a, b) => a[1] - b[1]);
    assert.deepEqual(errors, [
      ['ENOENT', 20, dir.file('missing')],
      ['EISDIR', 21, dir.path],
    ]);
    await assert.rejects(
      forEachFile(paths, () => {}),
      (err: NodeJS.ErrnoException) => {
        assert.ok(err.code === 'ENOENT' || err.code === 'EISDIR', String(err.code));
        assert.ok(err.path === dir.file('missing') || err.path === dir.path);
        return true;
      },
    );
    await allSlotsFree();
  });

  test('a callback that throws rejects with its error; no file starts after, nothing is left behind', async () => {
    const paths = makeFiles(dir, 'throw', 300, () => 64);
    const boom = new Error('boom');
    let calls = 0;
    await assert.rejects(
      forEachFile(
        paths,
        () => {
          if (++calls === 10) throw boom;
        },
        { concurrency: 8 },
      ),
      (err) => err === boom,
    );
    await allSlotsFree();
    assert.ok(calls === 10, `no callback after the throw (${calls})`);
  });

  test('a callback may close the runtime: the call rejects ERR_URING_CLOSED, and nothing crashes', async () => {
    const paths = makeFiles(dir, 'close', 300, () => 200);
    const rt = s.runtime({ entries: 16 });
    let calls = 0;
    let closing: Promise<void> | undefined;
    await assert.rejects(
      forEachFile(
        paths,
        () => {
          if (++calls === 5) closing = rt.close();
        },
        { runtime: rt, concurrency: 8 },
      ),
      { code: 'ERR_URING_CLOSED' },
    );
    await closing;
    assert.ok(rt.closed);
  });

  test('abort: before the call and while a read is blocked in the kernel (a FIFO)', async () => {
    const paths = makeFiles(dir, 'abort', 10, () => 10);
    const reason = new Error('stop');
    await assert.rejects(
      forEachFile(paths, () => {}, { signal: AbortSignal.abort(reason) }),
      { name: 'AbortError', cause: reason },
    );
    const f = fifo(dir.file('fifo'));
    try {
      const ac = new AbortController();
      let calls = 0;
      const p = forEachFile([...paths, dir.file('fifo')], () => calls++, { signal: ac.signal });
      // The regular files handed over, and everything submitted: the FIFO's read blocks in the kernel.
      await waitFor(() => calls === 10, { what: () => `the 10 regular files to be handed over (${calls})` });
      await inKernel(getRuntime(), 1);
      ac.abort();
      await assert.rejects(p, { name: 'AbortError' });
      assert.equal(calls, 10, 'the regular files were handed over before the abort');
      await allSlotsFree();
    } finally {
      f.close();
    }
  });

  test("bad arguments reject (never throw) with node's codes", async () => {
    const cases: [() => Promise<unknown>, string][] = [
      [() => forEachFile('a' as unknown as string[], () => {}), 'ERR_INVALID_ARG_TYPE'],
      [() => forEachFile(['a'], undefined as unknown as () => void), 'ERR_INVALID_ARG_TYPE'],
      [() => forEachFile(['a'], () => {}, { onError: 1 as unknown as () => void }), 'ERR_INVALID_ARG_TYPE'],
      [() => forEachFile(['a'], () => {}, { bufferSize: 0 }), 'ERR_OUT_OF_RANGE'],
      [() => forEachFile(['a'], () => {}, { concurrency: 0 }), 'ERR_OUT_OF_RANGE'],
      [() => forEachFile([1 as unknown as string], () => {}), 'ERR_INVALID_ARG_TYPE'],
      [() => forEachFile(['a'], () => {}, { encoding: 'nope' as BufferEncoding }), 'ERR_INVALID_ARG_VALUE'],
    ];
    for (const [call, code] of cases) {
      let p: Promise<unknown> | undefined;
      assert.doesNotThrow(() => (p = call()));
      await assert.rejects(p!, { code });
    }
  });

  test('a tiny ring (4 SQEs, 8 CQEs) and a runtime without direct slots give the same files', async () => {
    const paths = makeFiles(dir, 'tiny', 100, (i) => i * 37);
    for (const opts of [{ entries: 4, cqEntries: 8 }, { entries: 8 }]) {
      const rt = s.runtime(opts);
      try {
        if (opts.cqEntries === undefined) {
          // Files registered already: no direct slots, regular descriptors instead.
          const fd = openSync(paths[0]!, 'r');
          rt.ring.registerFiles([fd]);
          closeSync(fd);
          assert.equal(directSlots(rt).size, 0);
        }
        const got = new Array<Buffer>(paths.length);
        await forEachFile(
          paths,
          (d, i) => {
            got[i] = Buffer.from(d);
          },
          { runtime: rt },
        );
        got.forEach((b, i) => assert.ok(b.equals(readFileSync(paths[i]!)), `file ${i}`));
      } finally {
        await rt.close();
      }
    }
  });
});
