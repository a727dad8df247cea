// Which memory may be handed to the kernel: not a detached buffer, not one
// that can be resized under it; shared memory is fine.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { type Runtime, read, write, readv, writev, readOp } from '../../src/index.js';
import { tempDir } from '../helpers/tmp.js';
import { forEachSetup } from '../helpers/runtimes.js';

const dir = tempDir('uring-buffers-');
let rt: Runtime;
after(() => dir.remove());

function detach(ab: ArrayBuffer): void {
  structuredClone(ab, { transfer: [ab] });
}

/** Each way a buffer reaches the kernel, as a function of the view. */
function uses(fd: number): [string, (v: ArrayBufferView) => Promise<unknown>][] {
  return [
    ['read', (v) => read(fd, v, { position: 0, runtime: rt })],
    ['write', (v) => write(fd, v, { position: 0, runtime: rt })],
    ['readv', (v) => readv(fd, [new Uint8Array(4), v], 0, { runtime: rt })],
    ['writev', (v) => writev(fd, [v], 0, { runtime: rt })],
  ];
}

forEachSetup((s) => {
  before(() => {
    rt = s.runtime({ entries: 16 });
  });
  after(() => rt.close());

  test('a detached buffer rejects with ERR_INVALID_ARG_VALUE', async () => {
    const fd = dir.open('detached', 'w+');
    const views: [string, () => ArrayBufferView][] = [
      ['Uint8Array', () => new Uint8Array(8)],
      ['Buffer', () => Buffer.from(new ArrayBuffer(8))],
      ['Float64Array', () => new Float64Array(2)],
      ['DataView', () => new DataView(new ArrayBuffer(8))],
      ['subarray', () => new Uint8Array(16).subarray(4, 12)],
    ];
    const submits = rt.stats.submits;
    for (const [kind, make] of views) {
      for (const [name, use] of uses(fd)) {
        const v = make();
        detach(v.buffer as ArrayBuffer);
        await assert.rejects(use(v), (e: any) => {
          assert.equal(e.code, 'ERR_INVALID_ARG_VALUE', `${name} with a detached ${kind}: ${e.message}`);
          assert.match(e.message, /detached/);
          return true;
        });
      }
    }
    assert.throws(
      () =>
        readOp(
          fd,
          (() => {
            const v = new Uint8Array(4);
            detach(v.buffer);
            return v;
          })(),
          { runtime: rt },
        ),
      { code: 'ERR_INVALID_ARG_VALUE' },
    );
    assert.equal(rt.stats.submits, submits, 'nothing reached the kernel');
    // A zero-length buffer that is not detached is fine.
    assert.equal(await read(fd, new Uint8Array(0), { runtime: rt }), 0);
    assert.equal(await read(fd, new Uint8Array(new ArrayBuffer(0)), { runtime: rt }), 0);
  });

  test('a resizable ArrayBuffer or growable SharedArrayBuffer rejects with ERR_INVALID_ARG_VALUE', async () => {
    const fd = dir.open('resizable', 'w+');
    const makers: [string, () => ArrayBufferView][] = [
      ['resizable ArrayBuffer', () => new Uint8Array(new (ArrayBuffer as any)(8, { maxByteLength: 16 }))],
      ['resizable, length-tracking', () => new Uint8Array(new (ArrayBuffer as any)(8, { maxByteLength: 16 }), 2)],
      ['resizable DataView', () => new DataView(new (ArrayBuffer as any)(8, { maxByteLength: 16 }))],
      ['growable SharedArrayBuffer', () => new Uint8Array(new (SharedArrayBuffer as any)(8, { maxByteLength: 16 }))],
    ];
    for (const [kind, make] of makers) {
      for (const [name, use] of uses(fd)) {
        await assert.rejects(use(make()), (e: any) => {
          assert.equal(e.code, 'ERR_INVALID_ARG_VALUE', `${name} with a ${kind}: ${e.message}`);
          assert.match(e.message, /resizable or growable/);
          return true;
        });
      }
    }
  });

  test('SharedArrayBuffer views work for read, write, readv and writev', async () => {
    const fd = dir.open('shared', 'w+');
    const sab = new SharedArrayBuffer(16);
    const src = new Uint8Array(sab);
    src.set(Buffer.from('shared memory!!!'));
    assert.equal(await write(fd, src, { position: 0, runtime: rt }), 16);
    assert.equal(readFileSync(dir.file('shared'), 'latin1'), 'shared memory!!!');

    const dst = new Uint8Array(new SharedArrayBuffer(32), 8, 16);
    assert.equal(await read(fd, dst, { position: 0, runtime: rt }), 16);
    assert.equal(Buffer.from(dst).toString('latin1'), 'shared memory!!!');
    assert.equal(new Uint8Array(dst.buffer)[7], 0, 'nothing written before the view');
    assert.equal(new Uint8Array(dst.buffer)[24], 0, 'nothing written after the view');

    const a = new Int32Array(new SharedArrayBuffer(8));
    const b = new DataView(new SharedArrayBuffer(8));
    assert.equal(await readv(fd, [a, b], 0, { runtime: rt }), 16);
    assert.equal(
      Buffer.from(a.buffer).toString('latin1') + Buffer.from(b.buffer).toString('latin1'),
      'shared memory!!!',
    );
    assert.equal(await writev(fd, [b, a], 0, { runtime: rt }), 16);
    assert.equal(readFileSync(dir.file('shared'), 'latin1'), 'emory!!!shared m');
  });
});
