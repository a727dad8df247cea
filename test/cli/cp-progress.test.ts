// `uring cp`'s progress line: drawn on a terminal only, with files, bytes,
// rate and time left; and the engine counts a large file's bytes as its
// spliced chains finish, so the line moves during one big file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startProgress } from '../../src/cli/cp-progress.js';
import { Engine } from '../../src/cli/cp-walk.js';
import { getRuntime } from '../../src/runtime/index.js';
import { tempDir } from '../helpers/tmp.js';

test('the progress line: nothing when stderr is not a terminal; on one, counts, rate and time left', async () => {
  const counts = { files: 3, bytes: 2 << 20, foundFiles: 10, foundBytes: 8 << 20, walked: true };
  const lines: string[] = [];
  const pipe = { out: { write: () => true }, err: { write: (s: string) => lines.push(s) } };
  assert.equal(startProgress(counts, pipe), undefined);
  const tty = { out: pipe.out, err: { isTTY: true, columns: 200, write: (s: string) => lines.push(s) } };
  const p = startProgress(counts, tty);
  assert.ok(p);
  // The first draw comes after a second; wait for it (bounded), no fixed sleep.
  const until = Date.now() + 10_000;
  while (lines.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  p.stop();
  assert.ok(lines.length >= 2, 'drawn, then the last draw and a newline at stop');
  assert.match(lines[0]!, /^\r3\/10 files, 2\.0\/8\.0 MiB, [\d.]+ MiB\/s, (\d+ s|\d+ min \d+ s|\?) left/);
  assert.equal(lines.at(-1), '\n');
});

test('the engine counts a large file in bytes before the file is done', async (t) => {
  const d = tempDir();
  t.after(() => d.remove());
  const data = randomBytes(24 << 20);
  const src = d.write('big', data);
  const e = new Engine(
    getRuntime(),
    { recursive: false, noClobber: false, preserve: false, verbose: false },
    {
      copied() {},
      error(m) {
        assert.fail(m);
      },
    },
  );
  e.addSource(src, d.file('copy'));
  const seen: number[] = [];
  const poll = setInterval(() => seen.push(e.bytes), 1);
  await e.start();
  clearInterval(poll);
  assert.equal(e.files, 1);
  assert.equal(e.bytes, data.length);
  assert.ok(readFileSync(d.file('copy')).equals(data));
  // Not asserted that a partial count was seen (that depends on timing); never more than the file.
  assert.ok(seen.every((b) => b <= data.length));
});
