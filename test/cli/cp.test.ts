// `uring cp`, run as users run it (bin/uring.js in a child process), checked
// against the files it was asked to copy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/tmp.js';

const bin = fileURLToPath(new URL('../../../bin/uring.js', import.meta.url));

function cp(args: string[], cwd?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, 'cp', ...args], { timeout: 30_000, cwd }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

test('uring cp FILE DEST: the same bytes and mode; an existing DEST is overwritten and keeps its mode, as with cp', async (t) => {
  const d = tempDir();
  t.after(() => d.remove());
  const data = randomBytes(3 * 1024 * 1024 + 17);
  const src = d.write('src.bin', data);
  chmodSync(src, 0o640);
  const r = await cp([src, d.file('new.bin')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.ok(readFileSync(d.file('new.bin')).equals(data));
  assert.equal(statSync(d.file('new.bin')).mode & 0o777, 0o640 & ~process.umask());
  d.write('dest.bin', 'old contents, longer than nothing');
  chmodSync(d.file('dest.bin'), 0o604);
  const over = await cp([src, d.file('dest.bin')]);
  assert.equal(over.code, 0, over.stderr);
  assert.ok(readFileSync(d.file('dest.bin')).equals(data));
  assert.equal(statSync(d.file('dest.bin')).mode & 0o777, 0o604);
});

test('uring cp A B DIR/ puts each in DIR under its own name; -v prints each and a summary', async (t) => {
  const d = tempDir();
  t.after(() => d.remove());
  const a = d.write('a.txt', 'aaa');
  const b = d.write('b.txt', '');
  mkdirSync(d.file('out'));
  const r = await cp(['-v', a, b, d.file('out')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(d.file('out/a.txt'), 'utf8'), 'aaa');
  assert.equal(readFileSync(d.file('out/b.txt'), 'utf8'), '');
  assert.match(r.stdout, /'.*a\.txt' -> '.*out\/a\.txt'\n/);
  assert.match(r.stdout, /^2 files, 0\.0 MiB in \d+ ms/m);
});

test('uring cp -r: a tree of 500 files, nested directories and a symlink, copied exactly', async (t) => {
  const d = tempDir();
  t.after(() => d.remove());
  const want = new Map<string, Buffer>();
  for (let i = 0; i < 500; i++) {
    const rel = join(`dir${i % 7}`, `sub${i % 3}`, `f${i}`);
    mkdirSync(d.file(join('tree', rel, '..')), { recursive: true });
    const data = randomBytes(i * 37);
    writeFileSync(d.file(join('tree', rel)), data);
    want.set(rel, data);
  }
  mkdirSync(d.file('tree/empty'));
  symlinkSync('dir0/sub0/f0', d.file('tree/link'));
  const r = await cp(['-r', d.file('tree'), d.file('copy')]);
  assert.equal(r.code, 0, r.stderr);
  for (const [rel, data] of want) assert.ok(readFileSync(d.file(join('copy', rel))).equals(data), rel);
  assert.ok(statSync(d.file('copy/empty')).isDirectory());
  assert.ok(lstatSync(d.file('copy/link')).isSymbolicLink());
  assert.equal(readlinkSync(d.file('copy/link')), 'dir0/sub0/f0');
});

test('uring cp: errors as cp(1) reports them, exit 1; the other sources are still copied', async (t) => {
  const d = tempDir();
  t.after(() => d.remove());
  const a = d.write('a', 'A');
  mkdirSync(d.file('dir'));
  mkdirSync(d.file('out'));
  const r = await cp([d.file('missing'), a, d.file('dir'), d.file('out')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^uring cp: cannot stat '.*missing': No such file or directory$/m);
  assert.match(r.stderr, /^uring cp: -r not specified; omitting directory '.*dir'$/m);
  assert.equal(readFileSync(d.file('out/a'), 'utf8'), 'A');

  const clobber = await cp(['-n', a, d.file('out/a')]);
  assert.equal(clobber.code, 1);
  assert.match(clobber.stderr, /^uring cp: not replacing '.*out\/a'$/m);
  assert.equal(readFileSync(d.file('out/a'), 'utf8'), 'A');

  const notDir = await cp([a, a, d.file('nope')]);
  assert.equal(notDir.code, 1);
  assert.match(notDir.stderr, /target '.*nope' is not a directory/);

  const intoItself = await cp(['-r', d.file('dir'), d.file('dir/inner')]);
  assert.equal(intoItself.code, 1);
  assert.match(intoItself.stderr, /cannot copy a directory, '.*dir', into itself/);
  assert.ok(!existsSync(d.file('dir/inner')));
});

test('uring cp: usage errors exit 2', async () => {
  const none = await cp([]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /missing SOURCE and DEST/);
  const one = await cp(['x']);
  assert.equal(one.code, 2);
  assert.match(one.stderr, /missing DEST after 'x'/);
  const bad = await cp(['--frobnicate', 'a', 'b']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown option '--frobnicate'/);
});
