// Writes at the file's current position cut short by a full filesystem
// (ENOSPC on a 64 KiB tmpfs), side by side with node:fs/promises: the same
// results and errors, the same bytes on disk, and the same file position
// afterwards (read from /proc/self/fdinfo), so a later write goes where
// node's goes: never back over the bytes just written.
//
// io_uring leaves the position where a short write at the current position
// began (src/ops/position.ts); these failed before that was put right.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  createWriteStream as nodeCreateWriteStream,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createWriteStream as uringCreateWriteStream } from '../../src/fs/index.js';
import { attempt, assertSame, hash, impls, makeRoot, normalise, type Fsp, type ImplName } from './harness.js';

type AnyHandle = any;

let root = '';
let mnt = '';
let why: string | undefined;

before(() => {
  root = makeRoot('cpos');
  mnt = `${root}/mnt`;
  mkdirSync(mnt);
  if (process.getuid?.() !== 0) {
    why = 'mounting a tmpfs needs root';
    return;
  }
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0755', 'tmpfs', mnt], { encoding: 'utf8' });
  if (m.error) why = `mount could not run: ${m.error.message}`;
  else if (m.status !== 0) why = `mount -t tmpfs failed: ${m.stderr.trim() || `exit ${m.status}`}`;
});

after(() => {
  if (!why) spawnSync('umount', [mnt]);
  rmSync(root, { recursive: true, force: true });
});

/** More than the filesystem holds: 128 KiB, each 4-byte word its own offset (so misplaced bytes show). */
const big = Buffer.alloc(128 << 10);
for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(i, i);

/** The file position of a handle's descriptor, as the kernel has it. */
function pos(fh: AnyHandle): number {
  return Number(/^pos:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fh.fd}`, 'utf8'))![1]);
}

/** The files on the tmpfs: name -> size and a hash of the bytes. */
function files(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(mnt).sort()) {
    const b = readFileSync(`${mnt}/${name}`);
    out[name] = `${b.length} bytes, ${hash(b)}`;
  }
  return out;
}

function empty(): void {
  for (const name of readdirSync(mnt)) rmSync(`${mnt}/${name}`, { recursive: true, force: true });
}

type Scenario = (fs: Fsp, path: (name: string) => string) => Promise<Record<string, unknown>>;

/**
 * Runs `scenario` through node, then uring, each on the emptied tmpfs, and
 * asserts the same normalised results and files. Returns node's, for checks
 * that the scenario really hit ENOSPC.
 */
async function sideBySide(
  t: { skip(msg: string): void },
  scenario: Scenario,
): Promise<Record<string, any> | undefined> {
  if (why) {
    t.skip(why);
    return undefined;
  }
  const results: Partial<Record<ImplName, unknown>> = {};
  for (const name of ['node', 'uring'] as const) {
    empty();
    const out = await scenario(impls[name], (n) => `${mnt}/${n}`);
    results[name] = normalise({ ...out, files: files() }, { roots: [mnt] });
  }
  empty();
  assertSame(results.uring, results.node, 'results');
  return results.node as Record<string, any>;
}

async function withHandle(
  fs: Fsp,
  path: string,
  flags: string,
  fn: (fh: AnyHandle) => Promise<Record<string, unknown>>,
): Promise<Record<string, unknown>> {
  const fh = await fs.open(path, flags);
  try {
    return await fn(fh);
  } finally {
    await fh.close();
  }
}

const short = (r: { bytesWritten: number }, of: number) =>
  r.bytesWritten > 0 && r.bytesWritten < of ? 'short' : r.bytesWritten;
const code = (o: unknown) => (o as { error?: { code?: string } }).error?.code;

test('FileHandle.write(buffer, 0, len, null): short, then the next write fails ENOSPC and the bytes stay', (t) =>
  sideBySide(t, (fs, p) =>
    withHandle(fs, p('data'), 'w', async (fh) => {
      const first = await fh.write(big, 0, big.length, null);
      const out: Record<string, unknown> = {
        first: short(first, big.length),
        bytesWritten: first.bytesWritten,
        pos: pos(fh),
      };
      out.again = await attempt(() => fh.write(Buffer.from('again'), 0, 5, null));
      out.posAfter = pos(fh);
      return out;
    }),
  ).then((r) => {
    if (r) assert.equal(code(r.again), 'ENOSPC');
  }));

test('FileHandle.write(string) and write(buffer, { }) at the current position', (t) =>
  sideBySide(t, (fs, p) =>
    withHandle(fs, p('data'), 'w', async (fh) => {
      const s = big.toString('latin1');
      const first = await fh.write(s, null, 'latin1');
      const out: Record<string, unknown> = {
        first: short(first, s.length),
        bytesWritten: first.bytesWritten,
        pos: pos(fh),
      };
      out.again = await attempt(() => fh.write('again'));
      out.options = await attempt(() => fh.write(Buffer.from('more'), {}));
      out.posAfter = pos(fh);
      return out;
    }),
  ).then((r) => {
    if (r) assert.equal(code(r.again), 'ENOSPC');
  }));

test('FileHandle.writev at the current position: short, then ENOSPC (syscall write)', (t) =>
  sideBySide(t, (fs, p) =>
    withHandle(fs, p('data'), 'w', async (fh) => {
      const bufs = [big.subarray(0, 40 << 10), big.subarray(40 << 10)];
      const first = await fh.writev(bufs);
      const out: Record<string, unknown> = {
        first: short(first, big.length),
        bytesWritten: first.bytesWritten,
        pos: pos(fh),
      };
      out.again = await attempt(() => fh.writev([Buffer.from('again')], null));
      out.posAfter = pos(fh);
      return out;
    }),
  ).then((r) => {
    if (r) assert.equal(code(r.again), 'ENOSPC');
  }));

test('FileHandle.writeFile and appendFile reject ENOSPC; what was written is where node puts it', (t) =>
  sideBySide(t, async (fs, p) => {
    const out: Record<string, unknown> = {};
    out.writeFile = await withHandle(fs, p('w'), 'w', async (fh) => ({
      result: await attempt(() => fh.writeFile(big)),
      pos: pos(fh),
      next: await attempt(() => fh.write('x')),
    }));
    await fs.unlink(p('w'));
    await fs.writeFile(p('a'), 'head:');
    out.appendFile = await withHandle(fs, p('a'), 'a+', async (fh) => ({
      result: await attempt(() => fh.appendFile(big)),
      pos: pos(fh),
      // With O_APPEND the position is the end of the file: nothing to read there.
      read: await attempt(async () => (await fh.read(Buffer.alloc(16), 0, 16, null)).bytesRead),
    }));
    return out;
  }).then((r) => {
    if (r) {
      assert.equal(code(r.writeFile.result), 'ENOSPC');
      assert.equal(code(r.appendFile.result), 'ENOSPC');
    }
  }));

test("'r+' after a read: the short write starts at the read's end and the position goes past it", (t) =>
  sideBySide(t, async (fs, p) => {
    writeFileSync(p('data'), big.subarray(0, 8192));
    return withHandle(fs, p('data'), 'r+', async (fh) => {
      const r = await fh.read(Buffer.alloc(4096), 0, 4096, null);
      const first = await fh.write(big, 0, big.length, null);
      return {
        bytesRead: r.bytesRead,
        first: short(first, big.length),
        bytesWritten: first.bytesWritten,
        pos: pos(fh),
        again: await attempt(() => fh.write('again')),
      };
    });
  }).then((r) => {
    if (r) assert.equal(code(r.again), 'ENOSPC');
  }));

test('after a short write and space freed, the next write goes on at the real position (w and a)', (t) =>
  sideBySide(t, async (fs, p) => {
    const out: Record<string, unknown> = {};
    for (const flags of ['w', 'a']) {
      await fs.writeFile(p('filler'), big.subarray(0, 16 << 10));
      out[flags] = await withHandle(fs, p(`data-${flags}`), flags, async (fh) => {
        const first = await fh.write(big, 0, big.length, null);
        await fs.unlink(p('filler'));
        const again = await fh.write(Buffer.from('again'), 0, 5, null);
        return {
          first: short(first, big.length),
          bytesWritten: first.bytesWritten,
          again: again.bytesWritten,
          pos: pos(fh),
          file: files(),
        };
      });
      await fs.unlink(p(`data-${flags}`));
    }
    return out;
  }).then((r) => {
    if (r) assert.deepEqual([r.w.first, r.w.again, r.a.first, r.a.again], ['short', 5, 'short', 5]);
  }));

test("a short write on 'w+', then reads at the current position find the end of the file", (t) =>
  sideBySide(t, (fs, p) =>
    withHandle(fs, p('data'), 'w+', async (fh) => {
      const first = await fh.write(big, 0, big.length, null);
      return {
        first: short(first, big.length),
        read: (await fh.read(Buffer.alloc(16), 0, 16, null)).bytesRead,
        readFile: (await fh.readFile()).length,
        pos: pos(fh),
      };
    }),
  ).then((r) => {
    if (r) assert.deepEqual([r.first, r.read, r.readFile], ['short', 0, 0]);
  }));

test(
  'WriteStream without start (createWriteStream(path), and over a FileHandle opened with a): ENOSPC, bytesWritten and bytes as node',
  { timeout: 30_000 },
  (t) =>
    sideBySide(t, async (fs, p) => {
      const run = async (ws: AnyHandle) => {
        let error: unknown = 'none';
        ws.on('error', (e: unknown) => (error = e));
        for (let i = 0; i < 4; i++) ws.write(big.subarray(i * (32 << 10), (i + 1) * (32 << 10)));
        ws.end();
        // 'close' follows both the error and a finish (autoClose). Not
        // events.once: it rejects on 'error'.
        await new Promise((resolve) => ws.on('close', resolve));
        return { error, bytesWritten: ws.bytesWritten };
      };
      const out: Record<string, unknown> = {};
      // node:fs/promises has no createWriteStream: node:fs's, and uring/fs's.
      const create = fs === impls.node ? nodeCreateWriteStream : uringCreateWriteStream;
      out.path = await run(create(p('w')));
      await fs.unlink(p('w'));
      await fs.writeFile(p('a'), 'head:');
      out.append = await run((await fs.open(p('a'), 'a')).createWriteStream());
      return out;
    }).then((r) => {
      if (r) assert.deepEqual([r.path.error.code, r.append.error.code], ['ENOSPC', 'ENOSPC']);
    }),
);

test('fs.writeFile/appendFile by path with flags w, a, a+, r+: ENOSPC and the same bytes', (t) =>
  sideBySide(t, async (fs, p) => {
    const out: Record<string, unknown> = {};
    for (const flag of ['w', 'a', 'a+', 'r+']) {
      await fs.writeFile(p(flag), 'head:');
      out[`writeFile ${flag}`] = await attempt(() => fs.writeFile(p(flag), big, { flag }));
      out[`size ${flag}`] = (await fs.stat(p(flag))).size;
      await fs.truncate(p(flag), 5);
      out[`appendFile ${flag}`] = await attempt(() => fs.appendFile(p(flag), big, { flag }));
      await fs.unlink(p(flag));
    }
    return out;
  }).then((r) => {
    if (r) assert.equal(code(r['writeFile w']), 'ENOSPC');
  }));
