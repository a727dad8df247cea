// Errors, node:fs/promises against uring/fs/promises on twin directories:
// the same `code`, `errno`, `syscall`, `path`, `dest` and message for
// ENOENT, EEXIST, EISDIR, ENOTDIR, ENOTEMPTY, and EACCES as a non-root user.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync, symlinkSync, constants } from 'node:fs';
import { attempt, differential, asRecord, runFixture } from './harness.js';

const { COPYFILE_EXCL, R_OK, W_OK, X_OK, F_OK } = constants;

/** Every step of a scenario's record rejected with `code`. */
function allRejected(record: Record<string, any>, code: string): void {
  for (const [step, out] of Object.entries(record)) {
    assert.ok(out.error, `${step}: expected ${code}, resolved with ${JSON.stringify(out.ok)}`);
    assert.equal(out.error.code, code, `${step}: ${out.error.message}`);
  }
}

/** A file `f` (mode 644, "data"), an empty directory `d`, a directory `full` with one file, a symlink `ln` -> f. */
function basicTree(root: string): void {
  writeFileSync(`${root}/f`, 'data', { mode: 0o644 });
  mkdirSync(`${root}/d`);
  mkdirSync(`${root}/full`);
  writeFileSync(`${root}/full/x`, 'x');
  symlinkSync('f', `${root}/ln`);
}

test('ENOENT: every function on a missing path', async () => {
  const { node } = await differential(
    async ({ fs, path }) => {
      const m = path('missing');
      const deep = path('no', 'such', 'dir', 'file');
      return {
        open: await attempt(() => fs.open(m)),
        openRw: await attempt(() => fs.open(m, 'r+')),
        openWInMissingDir: await attempt(() => fs.open(deep, 'w')),
        readFile: await attempt(() => fs.readFile(m)),
        readFileUtf8: await attempt(() => fs.readFile(m, 'utf8')),
        writeFileInMissingDir: await attempt(() => fs.writeFile(deep, 'x')),
        appendFileInMissingDir: await attempt(() => fs.appendFile(deep, 'x')),
        stat: await attempt(() => fs.stat(m)),
        statBigint: await attempt(() => fs.stat(m, { bigint: true })),
        lstat: await attempt(() => fs.lstat(m)),
        unlink: await attempt(() => fs.unlink(m)),
        rename: await attempt(() => fs.rename(m, path('dest'))),
        renameIntoMissingDir: await attempt(() => fs.rename(path('f'), deep)),
        rmdir: await attempt(() => fs.rmdir(m)),
        link: await attempt(() => fs.link(m, path('l'))),
        linkIntoMissingDir: await attempt(() => fs.link(path('f'), deep)),
        symlinkIntoMissingDir: await attempt(() => fs.symlink('f', deep)),
        mkdirNoParent: await attempt(() => fs.mkdir(deep)),
        truncate: await attempt(() => fs.truncate(m)),
        truncateLen: await attempt(() => fs.truncate(m, 10)),
        access: await attempt(() => fs.access(m)),
        accessF: await attempt(() => fs.access(m, F_OK)),
        accessR: await attempt(() => fs.access(m, R_OK)),
        accessRW: await attempt(() => fs.access(m, R_OK | W_OK)),
        copyFileFrom: await attempt(() => fs.copyFile(m, path('c'))),
        copyFileIntoMissingDir: await attempt(() => fs.copyFile(path('f'), deep)),
        statDangling: await attempt(() => fs.stat(path('dangling'))),
        readFileDangling: await attempt(() => fs.readFile(path('dangling'))),
        accessDangling: await attempt(() => fs.access(path('dangling'))),
      };
    },
    {
      setup: (root) => {
        writeFileSync(`${root}/f`, 'data');
        symlinkSync('nowhere', `${root}/dangling`);
      },
    },
  );
  allRejected(asRecord(node), 'ENOENT');
});

test('EEXIST: wx, ax, mkdir, symlink, link, copyFile COPYFILE_EXCL', async () => {
  const { node } = await differential(
    async ({ fs, path }) => {
      const f = path('f');
      return {
        openWx: await attempt(() => fs.open(f, 'wx')),
        openXw: await attempt(() => fs.open(f, 'xw')),
        openWxPlus: await attempt(() => fs.open(f, 'wx+')),
        openAx: await attempt(() => fs.open(f, 'ax')),
        openAxPlus: await attempt(() => fs.open(f, 'ax+')),
        openWxDir: await attempt(() => fs.open(path('d'), 'wx')),
        openNumericExcl: await attempt(() => fs.open(f, constants.O_CREAT | constants.O_EXCL | constants.O_RDWR)),
        writeFileWx: await attempt(() => fs.writeFile(f, 'new', { flag: 'wx' })),
        appendFileAx: await attempt(() => fs.appendFile(f, 'new', { flag: 'ax' })),
        mkdirDir: await attempt(() => fs.mkdir(path('d'))),
        mkdirFile: await attempt(() => fs.mkdir(f)),
        mkdirSymlink: await attempt(() => fs.mkdir(path('ln'))),
        mkdirRecursiveOnFile: await attempt(() => fs.mkdir(f, { recursive: true })),
        symlinkOverFile: await attempt(() => fs.symlink('target', f)),
        symlinkOverDir: await attempt(() => fs.symlink('target', path('d'))),
        symlinkOverSymlink: await attempt(() => fs.symlink('target', path('ln'))),
        linkOverFile: await attempt(() => fs.link(path('full', 'x'), f)),
        linkOverDir: await attempt(() => fs.link(f, path('d'))),
        linkToItself: await attempt(() => fs.link(f, f)),
        copyFileExcl: await attempt(() => fs.copyFile(path('full', 'x'), f, COPYFILE_EXCL)),
        copyFileExclOverDir: await attempt(() => fs.copyFile(f, path('d'), COPYFILE_EXCL)),
        copyFileExclOntoItself: await attempt(() => fs.copyFile(f, f, COPYFILE_EXCL)),
      };
    },
    { setup: basicTree },
  );
  allRejected(asRecord(node), 'EEXIST');
});

test('EISDIR: reading, writing and unlinking a directory', async () => {
  const { node } = await differential(
    async ({ fs, path }) => {
      const d = path('d');
      const out: Record<string, unknown> = {
        readFile: await attempt(() => fs.readFile(d)),
        readFileUtf8: await attempt(() => fs.readFile(d, 'utf8')),
        openW: await attempt(() => fs.open(d, 'w')),
        openRPlus: await attempt(() => fs.open(d, 'r+')),
        openA: await attempt(() => fs.open(d, 'a')),
        writeFile: await attempt(() => fs.writeFile(d, 'x')),
        appendFile: await attempt(() => fs.appendFile(d, 'x')),
        unlink: await attempt(() => fs.unlink(d)),
        truncate: await attempt(() => fs.truncate(d)),
        renameFileOverDir: await attempt(() => fs.rename(path('f'), d)),
        copyFileOntoDir: await attempt(() => fs.copyFile(path('f'), d)),
      };
      // A directory opens read-only; reading it is what fails.
      const fh = await fs.open(d);
      try {
        out.handleRead = await attempt(() => fh.read(Buffer.alloc(4), 0, 4, 0));
        out.handleReadFile = await attempt(() => fh.readFile());
      } finally {
        await fh.close();
      }
      return out;
    },
    { setup: basicTree },
  );
  allRejected(asRecord(node), 'EISDIR');
});

test('ENOTDIR: a path through a file, rmdir on a file, mkdir recursive through a file', async () => {
  const { node } = await differential(
    async ({ fs, path }) => {
      const through = path('f', 'x');
      return {
        open: await attempt(() => fs.open(through)),
        openW: await attempt(() => fs.open(through, 'w')),
        readFile: await attempt(() => fs.readFile(through)),
        writeFile: await attempt(() => fs.writeFile(through, 'x')),
        stat: await attempt(() => fs.stat(through)),
        lstat: await attempt(() => fs.lstat(through)),
        unlink: await attempt(() => fs.unlink(through)),
        rmdirThrough: await attempt(() => fs.rmdir(through)),
        rmdirFile: await attempt(() => fs.rmdir(path('f'))),
        rmdirSymlinkToFile: await attempt(() => fs.rmdir(path('ln'))),
        mkdir: await attempt(() => fs.mkdir(through)),
        mkdirRecursive: await attempt(() => fs.mkdir(path('f', 'x', 'y'), { recursive: true })),
        mkdirRecursiveChild: await attempt(() => fs.mkdir(through, { recursive: true })),
        renameFrom: await attempt(() => fs.rename(through, path('g'))),
        renameTo: await attempt(() => fs.rename(path('full', 'x'), through)),
        renameDirOverFile: await attempt(() => fs.rename(path('d'), path('f'))),
        link: await attempt(() => fs.link(through, path('g'))),
        symlink: await attempt(() => fs.symlink('t', through)),
        truncate: await attempt(() => fs.truncate(through)),
        access: await attempt(() => fs.access(through)),
        accessR: await attempt(() => fs.access(through, R_OK)),
        copyFile: await attempt(() => fs.copyFile(through, path('g'))),
        copyFileTo: await attempt(() => fs.copyFile(path('f'), through)),
        readdirFile: await attempt(() => fs.readdir(path('f'))),
        openTrailingSlash: await attempt(() => fs.open(`${path('f')}/`)),
      };
    },
    { setup: basicTree },
  );
  allRejected(asRecord(node), 'ENOTDIR');
});

test('ENOTEMPTY and EBUSY-free rmdir/rename of directories', async () => {
  const { node } = await differential(
    async ({ fs, path }) => ({
      rmdirFull: await attempt(() => fs.rmdir(path('full'))),
      renameDirOverFull: await attempt(() => fs.rename(path('d'), path('full'))),
      rmdirEmpty: await attempt(() => fs.rmdir(path('d'))),
      rmdirAgain: await attempt(() => fs.rmdir(path('d'))),
      renameDirIntoItself: await attempt(() => fs.rename(path('full'), path('full', 'sub'))),
    }),
    { setup: basicTree },
  );
  const r = asRecord(node);
  assert.equal(r.rmdirFull.error.code, 'ENOTEMPTY');
  assert.equal(r.renameDirOverFull.error.code, 'ENOTEMPTY');
  assert.deepEqual(r.rmdirEmpty, { ok: undefined });
  assert.equal(r.rmdirAgain.error.code, 'ENOENT');
  assert.equal(r.renameDirIntoItself.error.code, 'EINVAL');
});

test('EACCES (and EPERM) as user nobody (65534), in a child process', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to switch to user nobody (process.setuid)');
  const { node } = await differential(async (side) => runFixture('as-nobody', side.name, side.root), {
    setup: (root) => {
      chmodSync(root, 0o755);
      // The fixture documents the tree it expects; it is made here, as root.
      writeFileSync(`${root}/secret`, 'secret', { mode: 0o600 });
      writeFileSync(`${root}/readonly`, 'readonly', { mode: 0o644 });
      writeFileSync(`${root}/noexec`, '#!/bin/sh\n', { mode: 0o644 });
      mkdirSync(`${root}/closed`, { mode: 0o700 });
      writeFileSync(`${root}/closed/inside`, 'inside', { mode: 0o644 });
      mkdirSync(`${root}/ro`, { mode: 0o755 });
      writeFileSync(`${root}/ro/file`, 'file', { mode: 0o666 });
      mkdirSync(`${root}/ro/sub`, { mode: 0o777 });
      mkdirSync(`${root}/open`, { mode: 0o777 });
      // mkdirSync's mode is masked by the umask; the tree must not depend on it.
      for (const [p, m] of [
        ['ro/file', 0o666],
        ['ro/sub', 0o777],
        ['open', 0o777],
      ] as const)
        chmodSync(`${root}/${p}`, m);
    },
  });
  const r = asRecord(node);
  const codes = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, (v as any).error?.code ?? 'ok']));
  assert.deepEqual(codes, {
    readFileSecret: 'EACCES',
    openSecret: 'EACCES',
    openReadonlyW: 'EACCES',
    openReadonlyA: 'EACCES',
    writeFileReadonly: 'EACCES',
    appendFileReadonly: 'EACCES',
    truncateReadonly: 'EACCES',
    statInsideClosed: 'EACCES',
    lstatInsideClosed: 'EACCES',
    readFileInsideClosed: 'EACCES',
    accessInsideClosed: 'EACCES',
    accessSecretF: 'ok',
    accessSecretR: 'EACCES',
    accessReadonlyR: 'ok',
    accessReadonlyW: 'EACCES',
    accessNoexecX: 'EACCES',
    writeFileInRo: 'EACCES',
    mkdirInRo: 'EACCES',
    mkdirRecursiveInRo: 'EACCES',
    unlinkInRo: 'EACCES',
    rmdirInRo: 'EACCES',
    renameInRo: 'EACCES',
    renameOutOfRo: 'EACCES',
    symlinkInRo: 'EACCES',
    linkInRo: 'EACCES',
    linkToSecret: 'EPERM',
    copyFileSecret: 'EACCES',
    copyFileIntoRo: 'EACCES',
    writeFileOpen: 'ok',
    handleWriteOnReadOnly: 'EBADF',
  });
});

test('X_OK on a directory and a file, as root', async () => {
  await differential(
    async ({ fs, path }) => ({
      dirX: await attempt(() => fs.access(path('d'), X_OK)),
      fileX: await attempt(() => fs.access(path('f'), X_OK)),
      fileRWX: await attempt(() => fs.access(path('f'), R_OK | W_OK | X_OK)),
    }),
    { setup: basicTree },
  );
});

test('a closed FileHandle: EBADF "file closed" and ERR_INVALID_STATE, the same class, toString() and own keys as node\'s', async () => {
  const shape = (e: unknown) => {
    const err = e as Error & { code?: unknown; syscall?: unknown };
    return {
      isError: err instanceof Error,
      name: err.name,
      code: err.code,
      syscall: err.syscall,
      message: err.message,
      string: String(err),
      keys: Object.keys(err),
    };
  };
  const { node } = await differential(async ({ fs, path }) => {
    writeFileSync(path('f'), 'data');
    const fh = await fs.open(path('f'));
    await fh.close();
    const out: Record<string, unknown> = {};
    for (const [step, fn] of [
      ['read', () => fh.read(Buffer.alloc(4), 0, 4, 0)],
      ['stat', () => fh.stat()],
      ['readableWebStream', () => fh.readableWebStream()],
    ] as const) {
      const r = await attempt<unknown>(fn);
      out[step] = 'error' in r ? shape(r.error) : 'resolved';
    }
    return out;
  });
  assert.deepEqual(asRecord(node).read, {
    isError: true,
    name: 'Error',
    code: 'EBADF',
    syscall: 'read',
    message: 'file closed',
    string: 'Error: file closed',
    keys: ['code', 'syscall'],
  });
  assert.equal(
    asRecord(node).readableWebStream.string,
    'Error [ERR_INVALID_STATE]: Invalid state: The FileHandle is closed',
  );
});
