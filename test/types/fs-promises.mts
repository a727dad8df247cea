// Code written against node:fs/promises, with the import switched to
// uring/fs/promises: every line must compile as it does against node's types,
// and each @ts-expect-error line must fail as it does there.
import type { Dir, Dirent, ReadStream as NodeReadStream, WriteStream as NodeWriteStream } from 'node:fs';
import { BigIntStats, Stats, StatsFs, BigIntStatsFs } from 'node:fs';
import type * as nodeFsp from 'node:fs/promises';
import type { Interface } from 'node:readline';
import type { NonSharedBuffer } from 'node:buffer';
import fspDefault, * as fsp from 'uring/fs/promises';
import {
  access,
  appendFile,
  chmod,
  chown,
  constants,
  copyFile,
  cp,
  lchown,
  link,
  lstat,
  lutimes,
  mkdir,
  mkdtemp,
  open,
  opendir,
  readdir,
  readFile,
  readlink,
  realpath,
  rename,
  rm,
  rmdir,
  stat,
  statfs,
  symlink,
  truncate,
  unlink,
  utimes,
  watch,
  writeFile,
  FileHandle,
  type FileChangeInfo,
  type FlagAndOpenMode,
  type FileReadResult,
  type FileReadOptions,
  type CreateReadStreamOptions,
  type CreateWriteStreamOptions,
  type ReadableWebStreamOptions,
} from 'uring/fs/promises';
import { is } from './is.mjs';

declare const p: string;
declare const url: URL;
declare const buf: Buffer;
declare const u8: Uint8Array;
declare const enc: BufferEncoding;
declare const maybeEnc: BufferEncoding | null;
declare const signal: AbortSignal;

export async function readAndWrite(): Promise<void> {
  // readFile: a string with an encoding, a Buffer without one.
  const s: string = await readFile(p, 'utf8');
  is<string>()(await readFile(p, 'utf8'));
  is<string>()(await readFile(url, { encoding: 'latin1', signal }));
  is<string>()(await readFile(p, { encoding: enc, flag: 'r' }));
  is<NonSharedBuffer>()(await readFile(p));
  is<NonSharedBuffer>()(await readFile(buf, null));
  is<NonSharedBuffer>()(await readFile(p, { flag: 'r', signal }));
  is<NonSharedBuffer>()(await readFile(p, { encoding: null }));
  is<string | NonSharedBuffer>()(await readFile(p, maybeEnc));
  is<string | NonSharedBuffer>()(await readFile(p, { encoding: maybeEnc }));
  const b: Buffer = await readFile(p);
  void s;
  void b;
  // @ts-expect-error not an encoding
  await readFile(p, 'utf-9');
  // @ts-expect-error a number is no path
  await readFile(42);

  await writeFile(p, 'text');
  await writeFile(p, 'text', 'utf8');
  await writeFile(p, u8, { mode: 0o600, flag: 'wx', signal, flush: true });
  await writeFile(p, ['a', 'b']);
  await writeFile(
    p,
    (async function* () {
      yield 'x';
    })(),
  );
  await appendFile(p, 'more', { encoding: 'utf8', mode: '644' });
  await appendFile(p, buf);
  // @ts-expect-error no data
  await writeFile(p);

  await access(p);
  await access(p, constants.R_OK | fsp.constants.W_OK);
  await copyFile(p, url, constants.COPYFILE_EXCL);
  await cp(p, 'dest', { recursive: true, force: false, filter: (src: string) => src !== 'x' });
  await rename(p, url);
  await truncate(p);
  await truncate(p, 10);
  await unlink(p);
  await rm(p, { recursive: true, force: true });
  await rmdir(p);
  await link(p, 'b');
  await symlink(p, 'b');
  await symlink(p, 'b', 'dir');
  await chmod(p, 0o644);
  await chmod(p, '755');
  await chown(p, 0, 0);
  await lchown(p, 0, 0);
  await utimes(p, new Date(), Date.now() / 1000);
  await lutimes(p, '1', 2);
}

export async function statAndDirs(): Promise<void> {
  is<Stats>()(await stat(p));
  is<Stats>()(await stat(p, { bigint: false }));
  is<BigIntStats>()(await stat(p, { bigint: true }));
  is<Stats | BigIntStats>()(await stat(p, { bigint: Math.random() > 0.5 }));
  is<Stats>()(await lstat(url));
  is<BigIntStats>()(await lstat(p, { bigint: true }));
  is<StatsFs>()(await statfs(p));
  is<BigIntStatsFs>()(await statfs(p, { bigint: true }));

  is<string | undefined>()(await mkdir(p, { recursive: true }));
  is<undefined>()(await mkdir(p));
  is<undefined>()(await mkdir(p, 0o755));
  is<undefined>()(await mkdir(p, { mode: '755' }));
  is<string | undefined>()(await mkdir(p, { recursive: Math.random() > 0.5 }));

  is<string[]>()(await readdir(p));
  is<string[]>()(await readdir(p, 'utf8'));
  is<string[]>()(await readdir(p, { recursive: true }));
  is<NonSharedBuffer[]>()(await readdir(p, 'buffer'));
  is<NonSharedBuffer[]>()(await readdir(p, { encoding: 'buffer' }));
  is<Dirent[]>()(await readdir(p, { withFileTypes: true }));
  const names: string[] = (await readdir(p, { withFileTypes: true })).map((d) => d.name);
  void names;

  is<string>()(await mkdtemp('/tmp/x-'));
  is<string>()(await mkdtemp('/tmp/x-', 'utf8'));
  is<NonSharedBuffer>()(await mkdtemp('/tmp/x-', { encoding: 'buffer' }));
  is<string>()(await readlink(p));
  is<NonSharedBuffer>()(await readlink(p, 'buffer'));
  is<string>()(await realpath(p));
  is<string>()(await realpath(p, { encoding: 'latin1' }));
  is<NonSharedBuffer>()(await realpath(p, { encoding: 'buffer' }));

  const dir: Dir = await opendir(p, { bufferSize: 64 });
  for await (const d of dir) is<Dirent>()(d);
  for await (const change of watch(p, { recursive: false, signal })) {
    is<string | null>()(change.filename);
  }
  for await (const change of watch(p, { encoding: 'buffer' })) {
    is<NonSharedBuffer | null>()(change.filename);
  }
}

export async function handles(): Promise<void> {
  const fh = await open(p, 'r');
  await open(url);
  await open(buf, constants.O_RDONLY, 0o644);
  await open(p, 'w', '644');
  is<number>()(fh.fd);

  // The handle is usable wherever node's FileHandle type is expected.
  const asNode: nodeFsp.FileHandle = fh;
  const asOurs: FileHandle = fh;
  void asNode;
  void asOurs;

  is<string>()(await fh.readFile('utf8'));
  is<string>()(await fh.readFile({ encoding: 'utf8', signal }));
  is<NonSharedBuffer>()(await fh.readFile());
  is<NonSharedBuffer>()(await fh.readFile({ signal }));
  is<string | NonSharedBuffer>()(await fh.readFile(maybeEnc));
  is<string>()(await readFile(fh, 'utf8'));
  is<NonSharedBuffer>()(await readFile(fh));

  const r1: FileReadResult<Buffer> = await fh.read(buf, 0, 10, null);
  const r2: FileReadResult<Uint8Array> = await fh.read(u8, { offset: 0, length: 1, position: 0 });
  const r3 = await fh.read();
  const r4 = await fh.read({ buffer: u8, position: 2 });
  is<number>()(r1.bytesRead);
  is<NonSharedBuffer>()(r3.buffer);
  is<Uint8Array>()(r4.buffer);
  void r2;

  const w1 = await fh.write(buf);
  const w2 = await fh.write(u8, 0, 1, 5);
  const w3 = await fh.write('text', null, 'utf8');
  is<Buffer>()(w1.buffer);
  is<Uint8Array>()(w2.buffer);
  is<string>()(w3.buffer);
  is<number>()(w3.bytesWritten);
  // @ts-expect-error a string is written with a position, not an offset and length
  await fh.write('text', 0, 4, 0);

  const v1 = await fh.readv([buf, u8]);
  is<number>()(v1.bytesRead);
  const v2 = await fh.writev([buf], 0);
  is<number>()(v2.bytesWritten);

  await fh.writeFile('x', 'utf8');
  await fh.writeFile(u8, { encoding: null, signal });
  await fh.appendFile('x', { encoding: 'utf8' });
  is<Stats>()(await fh.stat());
  is<BigIntStats>()(await fh.stat({ bigint: true }));
  await fh.truncate();
  await fh.truncate(4);
  await fh.sync();
  await fh.datasync();
  await fh.chmod(0o600);
  await fh.chown(0, 0);
  await fh.utimes(new Date(), new Date());

  const rs: NodeReadStream = fh.createReadStream({ start: 0, end: 10, highWaterMark: 1024, encoding: 'utf8' });
  const ws: NodeWriteStream = fh.createWriteStream({ start: 0, flush: true });
  const lines: Interface = fh.readLines({ encoding: 'utf8' });
  for await (const line of fh.readLines()) is<string>()(line);
  const web = fh.readableWebStream({ type: 'bytes' });
  void web;
  void rs;
  void ws;
  void lines;
  fh.on('close', () => {});
  fh.once('close', () => {});
  await fh.close();
  {
    await using auto = await open(p);
    void auto;
  }
}

// The default export, as `import fsp from 'node:fs/promises'` is used.
export async function viaDefault(): Promise<void> {
  is<string>()(await fspDefault.readFile(p, 'utf8'));
  is<Stats>()(await fspDefault.stat(p));
  is<string[]>()(await fspDefault.readdir(p));
  is<Dirent[]>()(await fspDefault.readdir(p, { withFileTypes: true }));
  const fh: nodeFsp.FileHandle = await fspDefault.open(p);
  void fh;
  await fspDefault.writeFile(p, 'x');
}

// node's option and result types, under the names node:fs/promises gives them.
export type Names = [
  FileChangeInfo<string>,
  FlagAndOpenMode,
  FileReadResult<Buffer>,
  FileReadOptions,
  CreateReadStreamOptions,
  CreateWriteStreamOptions,
  ReadableWebStreamOptions,
];

// Every name node:fs/promises exports, uring/fs/promises exports too.
is<never>()(null! as Exclude<keyof typeof nodeFsp, keyof typeof fsp>);
is<never>()(null! as Exclude<keyof typeof nodeFsp, keyof typeof fspDefault>);
