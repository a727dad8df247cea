// Ops that complete inside io_uring_enter (page-cache reads) resolve their
// promises at once; a loop of awaited ops must still let the event loop run
// (timers, sockets) rather than chaining flushes through process.nextTick forever.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { read, openat, close, getRuntime } from '../../src/index.js';
import { tempDir } from '../helpers/tmp.js';
import { forEachSetup } from '../helpers/runtimes.js';

const dir = tempDir('uring-turns-');
after(async () => {
  dir.remove();
  await getRuntime().close();
});

forEachSetup((s) => {
  test('a loop of awaited reads that complete at once lets timers run', async () => {
    const fd = await openat(dir.write('hot', Buffer.alloc(1 << 20, 1)), 0);
    let fired = 0;
    const timer = setInterval(() => fired++, 5);
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        const buf = Buffer.alloc(4096);
        while (performance.now() - t0 < 300) await read(fd, buf, { position: 0 });
      }),
    );
    clearInterval(timer);
    await close(fd);
    // Starved, the interval would not fire at all until the loop ended; 60
    // is what an idle machine gives, and a busy one (2 shared cores) was
    // seen at 9. A few fires prove the event loop turned during the reads.
    assert.ok(fired >= 3, `a 5 ms interval fired ${fired} times in 300 ms of reads`);
  });
});
