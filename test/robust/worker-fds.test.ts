// Workers terminated in the middle of file work leave no descriptor open:
// each scenario (fixtures/fd-leak-main, in a child process whose main
// thread never loads uring) terminates workers copying a file at some
// moment of the copy, and compares the process's descriptors before and
// after. Before the fix, every open file of a terminated worker leaked
// (the stream's, the FileHandle's, readFile's), and an open running in a
// kernel worker when the thread ended leaked its fd after teardown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { runNode } from '../helpers/proc.js';

const main = fileURLToPath(new URL('./fixtures/fd-leak-main.js', import.meta.url));

async function scenario(mode: string, workers: number): Promise<void> {
  const r = await runNode(main, [mode, String(workers)], 110_000);
  assert.equal(r.signal, null, `${mode}: killed by ${r.signal}\nstderr: ${r.stderr}`);
  assert.equal(r.code, 0, `${mode}: exit code ${r.code}\nstderr: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { before: number; after: number; gained: string[] };
  assert.deepEqual(out.gained, [], `${mode}: descriptors left by ${workers} terminated workers`);
}

for (const mode of ['stream-splice', 'stream-data', 'handle', 'readfile']) {
  test(`40 workers terminated mid-copy (${mode}) leave no descriptor open`, { timeout: 120_000 }, async () => {
    await scenario(mode, 40);
  });
}
