// A worker that used uring ends, in every way a worker can end, and the
// process lives on. Each scenario runs in its own child process
// (fixtures/teardown-main) so that a crash is a signal exit there, not a
// dead test runner. In the "worker-only" ones the main thread never loads
// the addon, so Node unloads it with the worker: anything libuv still owes
// the addon at that point (a poll handle's close callback) would crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { runNode } from '../helpers/proc.js';

const main = fileURLToPath(new URL('./fixtures/teardown-main.js', import.meta.url));

async function scenario(name: string, killAfterMs = 30_000): Promise<void> {
  const r = await runNode(main, [name], killAfterMs);
  assert.equal(r.signal, null, `${name}: killed by ${r.signal}\nstderr: ${r.stderr}`);
  assert.equal(r.code, 0, `${name}: exit code ${r.code}\nstderr: ${r.stderr}`);
  assert.equal(r.stdout, 'ok\n', `${name}: did not get to the end\nstderr: ${r.stderr}`);
}

test('a worker that used uring exits by itself; the main thread never loaded uring', async () => {
  // Three runs: the crash this guards against was 10 in 10, but cheap to repeat.
  for (let i = 0; i < 3; i++) await scenario('worker-only');
});

test('worker.terminate() with a sleep and a FIFO read in flight; main never loaded uring', async () => {
  for (let i = 0; i < 3; i++) await scenario('worker-only-terminate');
});

test('process.exit() in a worker with ops in flight; main never loaded uring', async () => {
  await scenario('worker-only-exit');
});

test('process.exit() in a worker right after runtime.close() (the close callback still owed)', async () => {
  await scenario('worker-only-close-exit');
});

test('main and worker both use uring: natural exit, then terminate(), main still works', async () => {
  await scenario('main-and-worker');
});

test('200 workers, 4 at a time, every other one terminated with ops in flight', { timeout: 120_000 }, async () => {
  await scenario('many', 110_000);
});

test('process.exit() in main with ops in flight in main and in a worker', async () => {
  await scenario('process-exit');
});

test('process.exit() in main with ops in flight in a worker; main never loaded uring', async () => {
  await scenario('process-exit-worker-only');
});
