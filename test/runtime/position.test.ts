// ops/position.ts: the file position after a short write at the current
// position, on a memfd sealed against growing (a write past its end is cut
// short, then refused: the same path as a full filesystem, without root).
// 62.current-position in test/fs checks the same against node on a full
// tmpfs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, ftruncateSync, writeSync } from 'node:fs';
import { native } from '../../src/native.js';
import { getRuntime, write } from '../../src/index.js';
import { restorePosition, shortAtCurrentPosition } from '../../src/ops/position.js';
import { forEachSetup } from '../helpers/runtimes.js';

after(() => getRuntime().close());

const SEEK_CUR = 1;
const size = 2 << 20;

/** A memfd of `size` bytes that cannot grow; undefined where memfds or seals are refused. */
function sealedMemfd(): number | undefined {
  const fd = native().memfdCreate(0x0003); // MFD_CLOEXEC | MFD_ALLOW_SEALING
  if (fd < 0) return undefined;
  ftruncateSync(fd, size);
  if (native().fcntl(fd, 1033, 0x0004) < 0) {
    // F_ADD_SEALS, F_SEAL_GROW
    closeSync(fd);
    return undefined;
  }
  return fd;
}

forEachSetup((s) => {
  test('a short write at the current position, then restorePosition: the position is where write(2) leaves it', async (t) => {
    const viaSyscall = sealedMemfd();
    const viaRing = sealedMemfd();
    if (viaSyscall === undefined || viaRing === undefined) return t.skip('memfd_create or F_ADD_SEALS refused here');
    try {
      const data = Buffer.alloc(size + 4096, 7);
      // write(2), as node does it: short, and the position moves past what was written.
      assert.equal(writeSync(viaSyscall, data, 0, data.length, null), size);
      assert.equal(native().lseek(viaSyscall, 0, SEEK_CUR), size);

      const n = await write(viaRing, data, { position: -1 });
      assert.equal(n, size);
      assert.ok(shortAtCurrentPosition(-1, n, data.length));
      await restorePosition(viaRing, n);
      assert.equal(native().lseek(viaRing, 0, SEEK_CUR), size, 'the position past the bytes written');
      // And the next write at the current position is refused, as write(2)'s is, not written over the first.
      await assert.rejects(write(viaRing, Buffer.from('again'), { position: -1 }), { code: 'EPERM', syscall: 'write' });
      assert.throws(() => writeSync(viaSyscall, Buffer.from('again'), 0, 5, null), { code: 'EPERM' });
    } finally {
      closeSync(viaSyscall);
      closeSync(viaRing);
    }
  });

  test('shortAtCurrentPosition: only writes at -1 that moved some but not all (of at most MAX_RW)', () => {
    assert.equal(shortAtCurrentPosition(-1, 10, 20), true);
    assert.equal(shortAtCurrentPosition(0, 10, 20), false);
    assert.equal(shortAtCurrentPosition(-1, 0, 20), false);
    assert.equal(shortAtCurrentPosition(-1, 20, 20), false);
    // A write of more than MAX_RW moves MAX_RW whole: not short.
    assert.equal(shortAtCurrentPosition(-1, 0x7ffff000, 2 ** 31 - 1), false);
  });
});
