// A descriptor the kernel made for a thread that ended before it looked:
// an open whose CQE was posted but never reaped by JavaScript is closed by
// the native teardown (FD_RESULTS_BIT in the user data, ring_reap_fds), for
// an op on its own and for an op inside a link() chain, whose SQEs carry
// the tag one by one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { sleep } from '../helpers/wait.js';
import { tempDir } from '../helpers/tmp.js';
import { fdList } from '../helpers/proc.js';

const fixture = fileURLToPath(new URL('./fixtures/unreaped-open.js', import.meta.url));

/** How many of this process's fds point at `path`. */
function fdsOn(path: string): number {
  return fdList().filter((l) => l.endsWith(` -> ${path}`)).length;
}

/** Opens the FIFO's write end once the worker's open waits on it (ENXIO until a reader exists). */
async function openWriter(path: string): Promise<number> {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      return openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENXIO') throw e;
      if (Date.now() > deadline)
        throw new Error("the worker's open of the FIFO never waited for a writer", { cause: e });
      await sleep(5);
    }
  }
}

for (const chained of [false, true]) {
  test(`an open ${chained ? 'inside a link() chain' : 'on its own'} whose CQE the ending worker never reaped is closed`, async (t) => {
    const dir = tempDir();
    t.after(() => dir.remove());
    const path = dir.file('fifo');
    execFileSync('mkfifo', [path]);
    const flag = new SharedArrayBuffer(4);
    const w = new Worker(fixture, { workerData: { path, chained, flag } });
    const exited = once(w, 'exit');
    await once(w, 'message');
    const writer = await openWriter(path);
    closeSync(writer);
    // The kernel's worker thread installs the fd, then hands the completion
    // to the worker's task work, which posts the CQE when the worker leaves
    // the futex wait; the worker then exits without reaping it. Wait for the
    // fd to show, and a little more for the hand-off: an open still inside
    // the kernel's thread when the ring is torn down can post its CQE after
    // the teardown's reap (a known gap, not what this test is about).
    const deadline = Date.now() + 5000;
    while (fdsOn(path) === 0) {
      if (Date.now() > deadline) throw new Error("the worker's open never completed");
      await sleep(5);
    }
    await sleep(50);
    Atomics.store(new Int32Array(flag), 0, 1);
    Atomics.notify(new Int32Array(flag), 0);
    const [code] = await exited;
    assert.equal(code, 0);
    assert.equal(fdsOn(path), 0, 'the fd the kernel opened for the worker is still open');
  });
}
