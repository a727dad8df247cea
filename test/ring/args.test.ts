// Bad arguments throw (with Node's error codes) before anything reaches the
// kernel; small on-heap typed arrays are safe to hand to the kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Ring, Iovecs, Timespec, AT_FDCWD, MAX_ENTRIES } from '../../src/ring/index.js';
import { tempDir } from '../helpers/tmp.js';
import { gc } from '../helpers/gc.js';
import { reap, sqe } from '../helpers/ring.js';

function ring(t: { after(fn: () => void): void }, entries = 8): Ring {
  const r = new Ring(entries);
  t.after(() => r.close());
  return r;
}

/** A view whose ArrayBuffer has been transferred away. */
function detached(size = 16): Uint8Array {
  const ab = new ArrayBuffer(size);
  const view = new Uint8Array(ab);
  structuredClone(ab, { transfer: [ab] });
  assert.equal(ab.byteLength, 0, 'the buffer is detached');
  return view;
}

test('Ring entries: integers from 1 to MAX_ENTRIES', () => {
  assert.throws(() => new Ring(0), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => new Ring(-1), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => new Ring(100000), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => new Ring(MAX_ENTRIES + 1), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => new Ring(1.5), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => new Ring(NaN), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => new Ring('8' as unknown as number), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => new Ring(8, null as unknown as object), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => new Ring(8, { flags: -1 }), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => new Ring(8, { cqEntries: 4 }), { code: 'ERR_OUT_OF_RANGE' }, 'CQ smaller than SQ');
  assert.throws(() => new Ring(8, { attachWq: {} as Ring }), { code: 'ERR_INVALID_ARG_TYPE' });
  const r = new Ring(1);
  assert.equal(r.sqEntries, 1);
  r.close();
});

test('prepRead: fd must be an integer', (t) => {
  const r = ring(t);
  const buf = Buffer.alloc(8);
  for (const fd of [1.5, '3', null, undefined, 3n, NaN]) {
    assert.throws(
      () => r.getSqe()!.prepRead(fd as unknown as number, buf),
      { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' },
      `fd ${String(fd)}`,
    );
  }
});

test('nbytes past the end of the buffer is a RangeError', (t) => {
  const r = ring(t);
  const buf = Buffer.alloc(16);
  assert.throws(() => r.getSqe()!.prepRead(0, buf, 17), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
  assert.throws(
    () => r.getSqe()!.prepRead(0, buf.subarray(8), 9),
    { code: 'ERR_OUT_OF_RANGE' },
    'a view: its own length counts',
  );
  assert.throws(() => r.getSqe()!.prepWrite(1, buf, -1), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => r.getSqe()!.prepWrite(1, buf, 2.5), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => r.getSqe()!.prepSend(1, buf, 100), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => r.getSqe()!.prepRecv(1, buf, 100), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => r.getSqe()!.prepReadFixed(1, buf, 17, 0, 0), { code: 'ERR_OUT_OF_RANGE' });
  // Exactly the length is fine.
  r.getSqe()!.prepRead(0, buf, 16);
});

test('a buffer that is not a binary view is a TypeError', (t) => {
  const r = ring(t);
  assert.throws(() => r.getSqe()!.prepWrite(1, 'text' as unknown as Buffer), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => r.getSqe()!.prepWrite(1, [1, 2] as unknown as Buffer), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => new Iovecs(['x'] as unknown as Buffer[]), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => r.getSqe()!.prepTimeout({} as unknown as Timespec), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => r.getSqe()!.prepTimeout(-5), { code: 'ERR_OUT_OF_RANGE' });
});

test('a detached buffer is ERR_INVALID_ARG_VALUE', (t) => {
  const r = ring(t);
  assert.throws(() => r.getSqe()!.prepRead(0, detached()), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => r.getSqe()!.prepWrite(1, detached()), { code: 'ERR_INVALID_ARG_VALUE' });
  const ab = new ArrayBuffer(8);
  const dv = new DataView(ab);
  structuredClone(ab, { transfer: [ab] });
  assert.throws(() => r.getSqe()!.prepSend(1, dv), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => r.getSqe()!.prepSend(1, dv, 0), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => new Iovecs([dv]), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => r.getSqe()!.prepMadvise(detached().buffer as ArrayBuffer, 0), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => new Iovecs([Buffer.alloc(4), detached()]), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => r.registerBuffers([detached()]), { code: 'ERR_INVALID_ARG_VALUE' });
  // A detached view has length 0, so any nbytes > 0 is out of range first.
  assert.throws(() => r.getSqe()!.prepRead(0, detached(), 4), { code: 'ERR_OUT_OF_RANGE' });
});

test('a path with a NUL byte is ERR_INVALID_ARG_VALUE', (t) => {
  const r = ring(t);
  assert.throws(() => r.getSqe()!.prepOpenat(AT_FDCWD, '/tmp/a\0b', 0), {
    name: 'TypeError',
    code: 'ERR_INVALID_ARG_VALUE',
  });
  assert.throws(() => r.getSqe()!.prepUnlink('x\0'), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => r.getSqe()!.prepRename('ok', 'bad\0name'), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => r.getSqe()!.prepOpenat(AT_FDCWD, Buffer.from('a\0b'), 0), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => r.getSqe()!.prepOpenat(AT_FDCWD, 42 as unknown as string, 0), { code: 'ERR_INVALID_ARG_TYPE' });
  // A Uint8Array path may end with its terminator.
  r.getSqe()!.prepOpenat(AT_FDCWD, Buffer.from('/tmp\0'), 0);
});

test('nothing reaches the kernel when a prep throws', (t) => {
  const r = ring(t);
  assert.throws(() => r.getSqe()!.prepRead(0.5, Buffer.alloc(4)));
  // The slot was taken but left a zeroed NOP: submitting it is harmless.
  assert.equal(r.sqReady, 1);
  assert.equal(r.submitAndWait(1), 1);
  const [c] = reap(r, 1);
  assert.equal(c!.res, 0);
  assert.equal(c!.userData, 0n);
});

test('a small typed array (on the V8 heap) works for a read, even after GCs move things', (t) => {
  const r = ring(t);
  const dir = tempDir();
  t.after(() => dir.remove());
  const data = randomBytes(48);
  dir.write('small', data);
  const fd = dir.open('small');
  for (let round = 0; round < 5; round++) {
    const small = new Uint8Array(48); // small enough for V8 to keep on its heap
    const words = new Uint32Array(4); // 16 bytes, in a second read
    sqe(r).prepRead(fd, small, undefined, 0).setUserData(1);
    sqe(r).prepRead(fd, words, undefined, 16).setUserData(2);
    // The addresses are taken; now churn the heap before the kernel writes.
    let junk: unknown[] = [];
    for (let i = 0; i < 20_000; i++) junk.push(new Uint8Array(i % 64), { i });
    junk = [];
    gc();
    gc();
    r.submit();
    const res = new Map(reap(r, 2).map((c) => [c.userDataNumber, c.res]));
    assert.equal(res.get(1), 48);
    assert.equal(res.get(2), 16);
    for (let i = 0; i < 10_000; i++) junk.push(new Uint8Array(32));
    gc();
    assert.deepEqual(Buffer.from(small), data);
    assert.deepEqual(Buffer.from(words.buffer, words.byteOffset, 16), data.subarray(16, 32));
  }
});
