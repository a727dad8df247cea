// A buffer transferred away (postMessage, structuredClone with `transfer`)
// while the kernel is using it: its memory goes to the clone, and is freed
// under the kernel once the clone is collected. The runtime's own buffers
// that callers see while the kernel still uses them are untransferable (a
// transfer copies or throws, never detaches them); a caller's own buffer
// cannot be protected, but the op that had it fails with
// ERR_URING_BUFFER_DETACHED instead of reporting bytes that went elsewhere.
//
// The scenarios that free the memory run in a child process
// (fixtures/transfer-child), where a crash is a signal exit. The ones here
// keep the clone alive, so the kernel's write lands in live memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { writeSync } from 'node:fs';
import { detachedBufferCount, read, readv, readMany } from '../../src/index.js';
import { open } from '../../src/fs/promises.js';
import { readFiles } from '../../src/fs/index.js';
import { runNode } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';
import { fifo } from './util.js';
import { turn } from '../helpers/wait.js';

const child = fileURLToPath(new URL('./fixtures/transfer-child.js', import.meta.url));

async function scenario(name: string): Promise<void> {
  const r = await runNode(child, [name], 60_000);
  assert.equal(r.signal, null, `${name}: killed by ${r.signal}\nstderr: ${r.stderr}`);
  assert.equal(r.code, 0, `${name}: exit code ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.equal(r.stdout, 'ok\n', `${name}: did not get to the end\nstderr: ${r.stderr}`);
}

/** Moves `view`'s memory to a new ArrayBuffer (returned, to be kept alive), detaching `view`'s. */
function transferAway(view: ArrayBufferView): ArrayBuffer {
  const ab = view.buffer as ArrayBuffer;
  const clone = structuredClone(ab, { transfer: [ab] });
  assert.equal(ab.byteLength, 0, 'the transfer detached the buffer');
  return clone;
}

async function rejectsDetached(p: Promise<unknown>, syscall: string): Promise<void> {
  await assert.rejects(p, (err: Error & { code?: string; syscall?: string }) => {
    assert.equal(err.code, 'ERR_URING_BUFFER_DETACHED', `${err.code}: ${err.message}`);
    assert.equal(err.syscall, syscall);
    return true;
  });
}

test('a caller buffer freed under a read: ERR_URING_BUFFER_DETACHED and a warning, no crash (child process)', async () => {
  await scenario('user-buffer');
});

test('forEachFile: transferring a lane buffer copies it (or throws) and never detaches it (child process)', async () => {
  await scenario('lane-buffer');
});

test('read(): the buffer transferred while the kernel waits for data fails the read; the bytes went to the clone', async (t) => {
  const dir = tempDir();
  const f = fifo(dir.file('fifo'));
  t.after(() => {
    f.close();
    dir.remove();
  });
  const before = detachedBufferCount();
  const buf = Buffer.alloc(64);
  const p = read(f.fd, buf);
  await turn();
  const clone = transferAway(buf);
  writeSync(f.fd, Buffer.from('hello'));
  await rejectsDetached(p, 'read');
  assert.equal(Buffer.from(clone, 0, 5).toString(), 'hello');
  assert.equal(detachedBufferCount(), before + 1);
});

test('FileHandle.read, readv, a DataView: the same', async (t) => {
  const dir = tempDir();
  const f = fifo(dir.file('fifo'));
  const fh = await open(dir.file('fifo'), 'r+');
  t.after(async () => {
    await fh.close();
    f.close();
    dir.remove();
  });
  const before = detachedBufferCount();

  const a = Buffer.alloc(16);
  const p1 = fh.read(a, 0, 16, null);
  await turn();
  const c1 = transferAway(a);
  writeSync(f.fd, Buffer.from('one'));
  await rejectsDetached(p1, 'read');
  assert.equal(Buffer.from(c1, 0, 3).toString(), 'one');

  const b = [new Uint8Array(4), new Uint8Array(4)];
  const p2 = readv(f.fd, b);
  await turn();
  const c2 = transferAway(b[1]!);
  writeSync(f.fd, Buffer.from('abcdef'));
  await rejectsDetached(p2, 'readv');
  assert.equal(Buffer.from(b[0]!).toString(), 'abcd');
  assert.equal(Buffer.from(c2, 0, 2).toString(), 'ef');

  const dv = new DataView(new ArrayBuffer(8));
  const p3 = read(f.fd, dv);
  await turn();
  const c3 = transferAway(dv);
  writeSync(f.fd, Buffer.from('dv'));
  await rejectsDetached(p3, 'read');
  assert.equal(Buffer.from(c3, 0, 2).toString(), 'dv');

  assert.equal(detachedBufferCount(), before + 3);
});

test('readMany: a buffer transferred before the kernel read into it fails the batch', async (t) => {
  const dir = tempDir();
  t.after(() => dir.remove());
  const fh = await open(dir.write('data', 'x'.repeat(8192)), 'r');
  t.after(() => fh.close());
  const before = detachedBufferCount();
  const bufs = [Buffer.alloc(4096), Buffer.alloc(4096)];
  const p = readMany(fh.fd, bufs, [0, 4096]);
  // The SQEs are written, the kernel has not been entered yet.
  const clone = transferAway(bufs[1]!);
  await rejectsDetached(p, 'read');
  assert.equal(Buffer.from(clone, 0, 4).toString(), 'xxxx');
  assert.equal(detachedBufferCount(), before + 1);
});

test('an aborted read withdrawn before the kernel saw it never touches its buffer: transferring it then is safe', async (t) => {
  const dir = tempDir();
  t.after(() => dir.remove());
  const fh = await open(dir.write('data', 'y'.repeat(4096)), 'r');
  t.after(() => fh.close());
  const before = detachedBufferCount();
  const buf = Buffer.alloc(4096);
  const ac = new AbortController();
  // Its SQE is written but not yet submitted: the abort withdraws it (it
  // goes to the kernel as a NOP), so the kernel never writes into buf.
  const p = read(fh.fd, buf, { signal: ac.signal });
  ac.abort();
  const clone = transferAway(buf);
  await assert.rejects(p, { name: 'AbortError' });
  await turn();
  assert.equal(detachedBufferCount(), before, 'nothing to report: the kernel never had the buffer');
  assert.equal(Buffer.from(clone, 0, 4).toString('hex'), '00000000', 'the read never ran');
});

test("results the kernel is done with stay the caller's to transfer: readFiles, FileHandle.read()", async (t) => {
  const dir = tempDir();
  t.after(() => dir.remove());
  // 40 KiB: at least half of the default 64 KiB lane buffer, so the result is the lane buffer itself.
  const big = dir.write('big', Buffer.alloc(40 * 1024, 1));
  const [r] = await readFiles([big]);
  transferAway(r!);
  const fh = await open(big, 'r');
  t.after(() => fh.close());
  const { buffer } = await fh.read();
  transferAway(buffer);
});
