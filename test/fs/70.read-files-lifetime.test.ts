// readFiles' results and the memory the kernel reads into, across calls,
// collections, threads and exit: a result kept while later calls run (and
// the GC frees their chunks) keeps its bytes and shares no chunk with a new
// result; workers terminated mid-call and a process exiting with calls in
// flight end cleanly.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { readFiles } from '../../src/fs/read-files.js';
import { getRuntime } from '../../src/runtime/index.js';
import { makeFiles } from '../fs-batch/util.js';
import { gc } from '../helpers/gc.js';
import { tempDir } from '../helpers/tmp.js';
import { sleep } from '../helpers/wait.js';
import { assertTransferKeeps } from '../helpers/untransferable.js';

const dir = tempDir();
after(() => {
  dir.remove();
  return getRuntime().close();
});
// 400 files of 4 KiB: about 25 shared chunks.
const paths = makeFiles(dir, 'life', 400, () => 4096);
const expected = paths.map((p) => readFileSync(p));
const readFilesUrl = new URL('../../src/fs/read-files.js', import.meta.url).href;

test('one result of each chunk kept while later calls run and the GC frees theirs: every kept one intact', async () => {
  let got: Buffer[] | undefined = await readFiles(paths);
  const kept = new Map<ArrayBufferLike, { buf: Buffer; i: number }>();
  got.forEach((buf, i) => {
    if (!kept.has(buf.buffer)) kept.set(buf.buffer, { buf, i });
  });
  assert.ok(kept.size < 40, `${kept.size} chunks for 400 files of 4 KiB`);
  got = undefined;
  const other = makeFiles(dir, 'other', 400, () => 4096);
  for (let round = 0; round < 5; round++) {
    const r = await readFiles(other);
    for (const b of r) assert.ok(!kept.has(b.buffer), 'a new result shares a chunk with a live one');
    gc();
    await sleep(5);
  }
  for (const { buf, i } of kept.values()) assert.ok(buf.equals(expected[i]!), `kept result ${i} intact`);
});

test('a small result transferred: its chunk is not detached, the others keep their bytes', async () => {
  const got = await readFiles(paths.slice(0, 8));
  const one = got[0]!;
  assert.equal(got[1]!.buffer, one.buffer, 'the first two 4 KiB results share a chunk');
  assertTransferKeeps(one.buffer as ArrayBuffer);
  got.forEach((b, i) => assert.deepEqual(b, expected[i], `result ${i}`));
});

test('workers: terminated mid-call (three times), and ending with results alive, exit cleanly', async () => {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.url).then(async ({ readFiles }) => {
      globalThis.kept = await readFiles(workerData.paths);
      parentPort.postMessage(globalThis.kept.every((b) => b.length === 4096));
      // Reading until terminated: calls in flight at terminate().
      for (;;) await readFiles(workerData.paths);
    });`;
  for (let round = 0; round < 3; round++) {
    const w = new Worker(code, { eval: true, workerData: { url: readFilesUrl, paths } });
    const ok = await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    assert.equal(ok, true);
    await w.terminate();
  }
  const done = new Worker(
    `const { workerData } = require('node:worker_threads');
     import(workerData.url).then(async ({ readFiles }) => { globalThis.kept = await readFiles(workerData.paths); });`,
    { eval: true, workerData: { url: readFilesUrl, paths } },
  );
  const exitCode = await new Promise((resolve, reject) => {
    done.once('exit', resolve);
    done.once('error', reject);
  });
  assert.equal(exitCode, 0);
  const got = await readFiles(paths);
  got.forEach((b, i) => assert.ok(b.equals(expected[i]!), `file ${i}`));
});

test('process.exit() with results alive and calls in flight, and exit by running out of work: no crash', () => {
  const script = `
    import(${JSON.stringify(readFilesUrl)}).then(async ({ readFiles }) => {
      const paths = ${JSON.stringify(paths)};
      const kept = await readFiles(paths);
      readFiles(paths);
      readFiles(paths);
      setImmediate(() => process.exit(kept.length === paths.length ? 0 : 3));
    });`;
  for (let i = 0; i < 3; i++) execFileSync(process.execPath, ['-e', script], { stdio: 'pipe', timeout: 30_000 });
  execFileSync(
    process.execPath,
    [
      '-e',
      `import(${JSON.stringify(readFilesUrl)}).then(async (m) => { globalThis.k = await m.readFiles(${JSON.stringify(paths)}); });`,
    ],
    { stdio: 'pipe', timeout: 30_000 },
  );
});
