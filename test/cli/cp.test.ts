// `uring cp`, run as users run it (bin/uring.js in a child process), checked
// against the files it was asked to copy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import {
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
  chmodSync,
  existsSync,
  readdirSync,
  utimesSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/tmp.js';
import { LANE } from '../../src/cli/cp-walk.js';

const bin = fileURLToPath(new URL('../../../bin/uring.js', import.meta.url));

function cp(
  args: string[],
  cwd?: string,
  uid?: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, 'cp', ...args], { timeout: 30_000, cwd, uid, gid: uid }, (err, stdout, stderr) => {
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

/** Every entry under `dir`, relative, with what cp is expected to keep: type, mode, bytes or link target. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = join(rel, name);
      const p = join(dir, r);
      const st = lstatSync(p);
      if (st.isSymbolicLink()) out.set(r, `link ${readlinkSync(p)}`);
      else if (st.isDirectory()) {
        out.set(r, `dir ${(st.mode & 0o7777).toString(8)}`);
        walk(r);
      } else out.set(r, `file ${(st.mode & 0o7777).toString(8)} ${st.size} ${hash(readFileSync(p))}`);
    }
  };
  walk('');
  return out;
}

function hash(b: Buffer): string {
  let h = 0;
  for (let i = 0; i < b.length; i += 7) h = (h * 31 + b[i]!) | 0;
  return `${b.length}:${h}`;
}

test('uring cp -r copies a tree as GNU cp -r does: empty, lane-sized and larger files, nested dirs, symlinks, modes', async (t) => {
  const d = tempDir();
  t.after(() => d.remove());
  const tree = d.file('tree');
  mkdirSync(join(tree, 'a/b/c'), { recursive: true });
  mkdirSync(join(tree, 'empty-dir'));
  const sizes = [0, 1, 4095, 4096, 16 * 1024, LANE - 1, LANE, LANE + 1, 3 * (4 << 20) + 5];
  sizes.forEach((n, i) => writeFileSync(join(tree, i % 2 ? 'a/b' : 'a', `s${n}`), randomBytes(n)));
  for (let i = 0; i < 300; i++) writeFileSync(join(tree, 'a/b/c', `f${i}`), randomBytes((i * 97) % 20000));
  writeFileSync(join(tree, 'x.sh'), '#!/bin/sh\n');
  chmodSync(join(tree, 'x.sh'), 0o751);
  writeFileSync(join(tree, 'ro'), 'read only');
  chmodSync(join(tree, 'ro'), 0o444);
  mkdirSync(join(tree, 'ro-dir'));
  writeFileSync(join(tree, 'ro-dir/inside'), 'in a read-only dir');
  chmodSync(join(tree, 'ro-dir'), 0o555);
  symlinkSync('a/s0', join(tree, 'link'));
  symlinkSync('nowhere', join(tree, 'dangling'));
  symlinkSync('a', join(tree, 'dirlink'));
  const gnu = spawnSync('cp', ['-r', tree, d.file('gnu')]);
  assert.equal(gnu.status, 0, String(gnu.stderr));
  const r = await cp(['-r', tree, d.file('ours')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const want = snapshot(d.file('gnu'));
  const got = snapshot(d.file('ours'));
  assert.deepEqual([...got.keys()], [...want.keys()]);
  for (const [k, v] of want) assert.equal(got.get(k), v, k);
  // Bytes, not only the sampled hash, for the sizes around the lane.
  for (const [i, n] of sizes.entries()) {
    const rel = join(i % 2 ? 'a/b' : 'a', `s${n}`);
    assert.ok(readFileSync(join(d.file('ours'), rel)).equals(readFileSync(join(tree, rel))), rel);
  }
});

test('uring cp -p keeps mode and times of files and directories (as cp -p)', async (t) => {
  const d = tempDir();
  t.after(() => d.remove());
  const tree = d.file('tree');
  mkdirSync(join(tree, 'sub'), { recursive: true });
  writeFileSync(join(tree, 'sub/f'), 'data');
  writeFileSync(join(tree, 'big'), randomBytes(LANE + 10));
  chmodSync(join(tree, 'sub/f'), 0o741);
  chmodSync(join(tree, 'sub'), 0o750);
  const past = new Date('2001-02-03T04:05:06.789Z');
  utimesSync(join(tree, 'sub/f'), past, past);
  utimesSync(join(tree, 'big'), past, past);
  utimesSync(join(tree, 'sub'), past, past);
  const r = await cp(['-rp', tree, d.file('copy')]);
  assert.equal(r.code, 0, r.stderr);
  for (const rel of ['sub/f', 'big', 'sub']) {
    const a = statSync(join(tree, rel));
    const b = statSync(join(d.file('copy'), rel));
    assert.equal(b.mode, a.mode, rel);
    assert.equal(b.mtime.getTime(), past.getTime(), rel);
    assert.equal(b.uid, a.uid, rel);
  }
  assert.equal(readFileSync(join(d.file('copy'), 'sub/f'), 'utf8'), 'data');
});

test('uring cp refuses to copy a file onto itself, as cp does', async (t) => {
  const d = tempDir();
  t.after(() => d.remove());
  const x = d.write('x', 'keep me');
  const r = await cp([x, x]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `uring cp: '${x}' and '${x}' are the same file\n`);
  assert.equal(readFileSync(x, 'utf8'), 'keep me');
  mkdirSync(d.file('dir'));
  const y = d.write('dir/x', 'in dir');
  const intoDir = await cp([y, d.file('dir')]);
  assert.equal(intoDir.code, 1);
  assert.match(intoDir.stderr, /are the same file/);
  assert.equal(readFileSync(y, 'utf8'), 'in dir');
});

test(
  'uring cp: an unreadable file is reported as cp reports it, the rest is copied (as a non-root user)',
  { skip: process.getuid?.() !== 0 && 'needs root to run the copy as another user' },
  async (t) => {
    const d = tempDir();
    t.after(() => d.remove());
    chmodSync(d.path, 0o777);
    const tree = d.file('tree');
    mkdirSync(tree);
    writeFileSync(join(tree, 'ok'), 'fine');
    writeFileSync(join(tree, 'secret'), 'nope');
    chmodSync(join(tree, 'secret'), 0o600);
    chmodSync(tree, 0o755);
    const nobody = 65534;
    // CI's Node 22 and 24 live in a private temporary directory: there,
    // another user cannot even start this node, let alone uring cp.
    const canRun = spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(bin)})`], {
      uid: nobody,
      gid: nobody,
    });
    if (canRun.status !== 0) {
      t.skip(
        `user nobody cannot run ${process.execPath} on ${bin} (${canRun.error?.message ?? `exit ${canRun.status}`})`,
      );
      return;
    }
    const r = await cp(['-r', tree, d.file('out')], undefined, nobody);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^uring cp: cannot open '.*tree\/secret' for reading: Permission denied$/m);
    assert.equal(readFileSync(d.file('out/ok'), 'utf8'), 'fine');
    assert.ok(!existsSync(d.file('out/secret')), 'no empty destination for a source that could not be opened');
  },
);

test(
  'uring cp of a large file onto a full device reports the write error as cp does',
  { skip: !existsSync('/dev/full') && 'no /dev/full' },
  async (t) => {
    const d = tempDir();
    t.after(() => d.remove());
    // Spliced first; the failed splice hands over to read/write, whose write error is the one reported.
    const src = d.write('big', randomBytes(4 * LANE + 1));
    const r = await cp([src, '/dev/full']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `uring cp: error writing '/dev/full': No space left on device\n`);
  },
);
