// FileHandle, node's against uring's: every argument form of read and
// write, the file position (null: it advances; a number: it does not),
// readv/writev, append mode, and a handle's life (closed -> EBADF, close
// twice, Symbol.asyncDispose).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { attempt, asRecord, differential, type Side } from './harness.js';
import { READ_CHECKS_POSITION, READ_CHECKS_POSITION_FIRST, READ_LENGTH_INT32 } from '../../src/node-version.js';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz';
const alphabet = (root: string) => writeFileSync(`${root}/abc`, ALPHABET);

/** Opens `name` with `flags`, runs `fn`, always closes. */
// Typed loosely: the scenarios call forms @types/node does not declare (and some invalid on purpose).

type AnyHandle = any;

async function withHandle<T>(side: Side, name: string, flags: string, fn: (fh: AnyHandle) => Promise<T>): Promise<T> {
  const fh = await side.fs.open(side.path(name), flags);
  try {
    return await fn(fh);
  } finally {
    await fh.close();
  }
}

test('read: position null advances the file position, explicit positions do not', async () => {
  const { node } = await differential(
    (side) =>
      withHandle(side, 'abc', 'r', async (fh) => {
        const steps: unknown[] = [];
        const b = () => Buffer.alloc(3);
        steps.push(await fh.read(b(), 0, 3, null)); // abc
        steps.push(await fh.read(b(), 0, 3, null)); // def
        steps.push(await fh.read(b(), 0, 3, 20)); // uvw, position stays at 6
        steps.push(await fh.read(b(), 0, 3, null)); // ghi
        steps.push(await fh.read(b(), 0, 3, -1)); // -1 is the current position too: jkl
        steps.push(await fh.read(b(), 0, 3, undefined)); // mno
        steps.push(await fh.read(b(), 0, 3, 25)); // z, 1 byte
        steps.push(await fh.read(b(), 0, 3, 26)); // EOF
        steps.push(await fh.read(b(), 0, 3, 1000)); // past EOF
        steps.push(await fh.read(b(), 0, 3, null)); // still pqr
        steps.push(await fh.readFile({ encoding: 'utf8' })); // the rest from the position: stuvwxyz
        steps.push(await fh.read(b(), 0, 3, null)); // EOF now
        return steps;
      }),
    { setup: alphabet },
  );
  const r = node as any[];
  assert.deepEqual(
    r.map((x) => (typeof x === 'string' ? x : Buffer.from(x.buffer.Buffer, 'hex').subarray(0, x.bytesRead).toString())),
    ['abc', 'def', 'uvw', 'ghi', 'jkl', 'mno', 'z', '', '', 'pqr', 'stuvwxyz', ''],
  );
});

test('read: every argument form', async () => {
  const { node } = await differential(
    (side) =>
      withHandle(side, 'abc', 'r', async (fh) => {
        const out: Record<string, unknown> = {};
        const buf = Buffer.alloc(8, '.');
        const same = async (
          name: string,
          p: Promise<{ bytesRead: number; buffer: ArrayBufferView }>,
          b: ArrayBufferView,
        ) => {
          const res = await attempt(() => p);
          out[name] = res;
          if ('ok' in res) out[`${name} sameBuffer`] = res.ok.buffer === b;
        };
        await same('buffer', fh.read(buf), buf);
        await same('buffer offset', fh.read(buf.fill('.'), 2), buf);
        await same('buffer offset length', fh.read(buf.fill('.'), 2, 3), buf);
        await same('buffer offset length position', fh.read(buf.fill('.'), 1, 4, 10), buf);
        await same('buffer null null null', fh.read(buf.fill('.'), null as unknown as number, null, null), buf);
        await same('buffer options', fh.read(buf.fill('.'), { offset: 1, length: 2, position: 3 }), buf);
        await same('buffer options empty', fh.read(buf.fill('.'), {}), buf);
        await same('buffer options position only', fh.read(buf.fill('.'), { position: 24 }), buf);
        await same('options with buffer', fh.read({ buffer: buf.fill('.'), offset: 4, length: 4, position: 0 }), buf);
        const u16 = new Uint16Array(3);
        await same('Uint16Array', fh.read(u16, 0, 6, 0), u16);
        const dv = new DataView(new ArrayBuffer(5));
        await same('DataView', fh.read(dv, 1, 3, 2), dv);
        const sub = Buffer.alloc(10).subarray(2, 6);
        await same('subarray', fh.read(sub, 0, 4, 5), sub);
        // No buffer: node allocates 16 KiB.
        const noArgs = await fh.read();
        out.noArgs = {
          bytesRead: noArgs.bytesRead,
          length: noArgs.buffer.length,
          text: noArgs.buffer.subarray(0, noArgs.bytesRead).toString(),
        };
        const opts = await fh.read({ position: 5, length: 2 });
        out.optionsNoBuffer = {
          bytesRead: opts.bytesRead,
          length: opts.buffer.length,
          text: opts.buffer.subarray(0, opts.bytesRead).toString(),
        };
        out.lengthZero = await attempt(() => fh.read(Buffer.alloc(4), 0, 0, 0));
        out.emptyBuffer = await attempt(() => fh.read(Buffer.alloc(0)));
        // Invalid arguments reject with node's codes.
        out.lengthTooBig = await attempt(() => fh.read(Buffer.alloc(4), 0, 5, 0));
        out.offsetTooBig = await attempt(() => fh.read(Buffer.alloc(4), 5, 1, 0));
        out.offsetNegative = await attempt(() => fh.read(Buffer.alloc(4), -1, 1, 0));
        out.lengthNegative = await attempt(() => fh.read(Buffer.alloc(4), 0, -1, 0));
        out.positionFraction = await attempt(() => fh.read(Buffer.alloc(4), 0, 1, 1.5));
        out.positionBelowMinus1 = await attempt(() => fh.read(Buffer.alloc(4), 0, 1, -2));
        out.notABuffer = await attempt(() => fh.read('abc' as unknown as Buffer));
        out.number = await attempt(() => fh.read(42 as unknown as Buffer));
        // Positions node 21+ refuses; before, each was the current position.
        out.positionUnsafe = await attempt(() => fh.read(Buffer.alloc(4), 0, 1, 2 ** 53));
        out.positionString = await attempt(() => fh.read(Buffer.alloc(4), 0, 1, '5' as unknown as number));
        out.positionObject = await attempt(() => fh.read(Buffer.alloc(4), { position: {} as unknown as number }));
        out.positionMinus1n = await attempt(() => fh.read(Buffer.alloc(4), 0, 1, -1n));
        out.positionMinus2n = await attempt(() => fh.read(Buffer.alloc(4), 0, 1, -2n));
        // node 24.16+ checks the position before a zero length returns and before the buffer and length.
        out.zeroLengthBadPosition = await attempt(() => fh.read(Buffer.alloc(4), 0, 0, -2));
        out.emptyBufferBadPosition = await attempt(() => fh.read(Buffer.alloc(0), 0, 1, -2));
        out.lengthTooBigBadPosition = await attempt(() => fh.read(Buffer.alloc(4), 0, 5, -2));
        // node 24.22+ takes the length as an int32: 2 ** 32 + 2 is 2.
        out.lengthPast2p32 = await attempt(() => fh.read(Buffer.alloc(4), 0, 2 ** 32 + 2, 0));
        // A length not a number: node 20 and 22 abort the process on it; 24.22+ reads 'x' as 0.
        if (READ_LENGTH_INT32)
          out.lengthString = await attempt(() => fh.read(Buffer.alloc(4), 0, 'x' as unknown as number, 0));
        return out;
      }),
    { setup: alphabet },
  );
  const r = asRecord(node);
  assert.equal(r.noArgs.length, 16384);
  assert.equal(r['buffer sameBuffer'], true);
  assert.equal(r.lengthTooBig.error.code, 'ERR_OUT_OF_RANGE');
  // node's own behaviour on this line is what node-version.ts says it is.
  const code = (o: { error?: { code?: string } }) => o.error?.code ?? 'ok';
  const refused = READ_CHECKS_POSITION;
  assert.equal(code(r.positionFraction), refused ? 'ERR_OUT_OF_RANGE' : 'ok');
  assert.equal(code(r.positionBelowMinus1), refused ? 'ERR_OUT_OF_RANGE' : 'ok');
  assert.equal(code(r.positionUnsafe), refused ? 'ERR_OUT_OF_RANGE' : 'ok');
  assert.equal(code(r.positionString), refused ? 'ERR_INVALID_ARG_TYPE' : 'ok');
  assert.equal(code(r.positionObject), refused ? 'ERR_INVALID_ARG_TYPE' : 'ok');
  assert.equal(code(r.positionMinus1n), 'ok');
  assert.equal(code(r.positionMinus2n), refused ? 'ERR_OUT_OF_RANGE' : 'ok');
  assert.equal(code(r.zeroLengthBadPosition), READ_CHECKS_POSITION_FIRST ? 'ERR_OUT_OF_RANGE' : 'ok');
  assert.equal(
    code(r.emptyBufferBadPosition),
    READ_CHECKS_POSITION_FIRST ? 'ERR_OUT_OF_RANGE' : 'ERR_INVALID_ARG_VALUE',
  );
  assert.match(r.lengthTooBigBadPosition.error.message, READ_CHECKS_POSITION_FIRST ? /"position"/ : /"length"/);
  if (READ_LENGTH_INT32) {
    assert.equal(r.lengthPast2p32.ok.bytesRead, 2);
    assert.equal(r.lengthString.ok.bytesRead, 0);
  } else {
    assert.equal(code(r.lengthPast2p32), 'ERR_OUT_OF_RANGE');
  }
});

test('write: every argument form, position null (appends at the position) and explicit', async () => {
  await differential((side) =>
    withHandle(side, 'out', 'w+', async (fh) => {
      const out: Record<string, unknown> = {};
      const src = Buffer.from('0123456789');
      const w = async (name: string, p: Promise<unknown>) => (out[name] = await attempt(() => p));
      await w('buffer', fh.write(src));
      await w('buffer offset', fh.write(src, 5));
      await w('buffer offset length', fh.write(src, 1, 2));
      await w('buffer offset length position', fh.write(src, 0, 3, 40));
      await w('buffer offset length null', fh.write(src, 7, 3, null));
      await w('buffer null null null', fh.write(src, null, null, null));
      await w('buffer options', fh.write(src, { offset: 2, length: 4, position: 30 }));
      await w('buffer options empty', fh.write(src, {}));
      await w('buffer options position', fh.write(Buffer.from('PP'), { position: 1 }));
      await w('string', fh.write('héllo'));
      await w('string position', fh.write('AT50', 50));
      await w('string position encoding', fh.write('414243', 60, 'hex'));
      await w('string null encoding', fh.write('QkFTRTY0', null, 'base64'));
      await w('string latin1', fh.write('\u00ff\u00e9', null, 'latin1'));
      await w('string undefined position', fh.write('u', undefined));
      await w('Uint16Array', fh.write(new Uint16Array([0x4142, 0x4344])));
      await w('DataView', fh.write(new DataView(new TextEncoder().encode('dataview').buffer), 4, 4));
      await w('empty buffer', fh.write(Buffer.alloc(0)));
      await w('empty string', fh.write(''));
      await w('lengthTooBig', fh.write(src, 0, 11));
      await w('offsetTooBig', fh.write(src, 11));
      await w('positionFraction', fh.write(src, 0, 1, 0.5));
      await w('number', fh.write(42 as unknown as Buffer));
      await w('object', fh.write({} as unknown as Buffer));
      out.stat = await fh.stat();
      out.content = await side.fs.readFile(side.path('out'));
      return out;
    }),
  );
});

test('readv/writev: at the position (null) and at explicit positions', async () => {
  await differential((side) =>
    withHandle(side, 'v', 'w+', async (fh) => {
      const out: Record<string, unknown> = {};
      out.writev = await fh.writev([Buffer.from('abc'), Buffer.from('def'), new Uint8Array([0x67, 0x68])]);
      out.writevAt = await fh.writev([Buffer.from('XY'), Buffer.from('Z')], 2);
      out.writevNull = await fh.writev([Buffer.from('tail')], null as unknown as undefined);
      out.writevEmpty = await fh.writev([]);
      out.writevPastEnd = await fh.writev([Buffer.from('far')], 20);
      out.readvAt = await fh.readv([Buffer.alloc(2), Buffer.alloc(3), Buffer.alloc(0), Buffer.alloc(4)], 1);
      out.readvAtEnd = await fh.readv([Buffer.alloc(5)], 23);
      out.readvPastEnd = await fh.readv([Buffer.alloc(5)], 100);
      out.readvCurrent = await fh.readv([Buffer.alloc(4), Buffer.alloc(4)]);
      const bufs = [Buffer.alloc(1)];
      out.sameArray = (await fh.readv(bufs, 0)).buffers === bufs;
      out.notArray = await attempt(() => fh.writev('abc' as unknown as Buffer[]));
      out.notBuffers = await attempt(() => fh.writev(['a', 'b'] as unknown as Buffer[]));
      out.content = await side.fs.readFile(side.path('v'));
      return out;
    }),
  );
});

test("append ('a', 'a+'): writes go to the end whatever position is given; reads at positions work", async () => {
  await differential(
    async (side) => {
      const out: Record<string, unknown> = {};
      out.a = await withHandle(side, 'abc', 'a', async (fh) => [
        await fh.write('1', 0),
        await fh.write(Buffer.from('22'), 0, 2, 0),
        await fh.write(Buffer.from('333'), { position: 5 }),
        await fh.writev([Buffer.from('4'), Buffer.from('4')], 0),
        await fh.write('5'),
        await attempt(() => fh.read(Buffer.alloc(3), 0, 3, 0)),
        await fh.appendFile('6'),
        await fh.writeFile('7'),
        await fh.stat(),
      ]);
      out.aPlus = await withHandle(side, 'abc', 'a+', async (fh) => [
        await fh.read(Buffer.alloc(4), 0, 4, 0),
        await fh.write('8', 1),
        await fh.read(Buffer.alloc(4), 0, 4, 2),
        await fh.read(Buffer.alloc(4), 0, 4, null),
        await fh.readv([Buffer.alloc(3)], 3),
        await fh.readFile('utf8'),
        await fh.write('9'),
        await fh.read(Buffer.alloc(4), 0, 4, null),
      ]);
      out.content = await side.fs.readFile(side.path('abc'), 'utf8');
      return out;
    },
    { setup: alphabet },
  );
});

test("open flags: 'r+' keeps, 'w' truncates, 'wx' creates, numeric flags, modes", async () => {
  await differential(
    async (side) => {
      const out: Record<string, unknown> = {};
      out['r+'] = await withHandle(side, 'abc', 'r+', async (fh) => [
        await fh.write('XY', 2),
        await fh.read(Buffer.alloc(5), 0, 5, 0),
      ]);
      out.w = await withHandle(side, 'abc', 'w', async (fh) => [
        await fh.stat(),
        await attempt(() => fh.read(Buffer.alloc(1), 0, 1, 0)),
      ]);
      out.wx = await withHandle(side, 'new', 'wx', async (fh) => fh.stat());
      out.numeric = await withHandle(side, 'num', (0o100 | 0o2) as unknown as string, async (fh) => fh.write('n'));
      out.mode600 = await attempt(async () => {
        const fh = await side.fs.open(side.path('m600'), 'w', 0o600);
        await fh.close();
        return (await side.fs.stat(side.path('m600'))).mode & 0o777;
      });
      out.modeString = await attempt(async () => {
        const fh = await side.fs.open(side.path('m640'), 'w', '640');
        await fh.close();
        return (await side.fs.stat(side.path('m640'))).mode & 0o777;
      });
      out.badFlags = await attempt(() => side.fs.open(side.path('abc'), 'nope'));
      out.badMode = await attempt(() => side.fs.open(side.path('abc'), 'r', 'xyz'));
      out.badPath = await attempt(() => side.fs.open(42 as unknown as string));
      out.nulPath = await attempt(() => side.fs.open(`${side.path('abc')}\0x`));
      out.urlPath = await withHandle(
        { ...side, path: () => new URL(`file://${side.path('abc')}`) as unknown as string },
        '',
        'r',
        (fh) => fh.readFile('utf8'),
      );
      out.bufferPath = await withHandle(
        { ...side, path: () => Buffer.from(side.path('abc')) as unknown as string },
        '',
        'r',
        (fh) => fh.readFile('utf8'),
      );
      return out;
    },
    { setup: alphabet },
  );
});

test('ops a handle was not opened for: EBADF (read on write-only, write on read-only), EINVAL, EISDIR', async () => {
  const { node } = await differential(
    async (side) => {
      const out: Record<string, unknown> = {};
      out.writeOnly = await withHandle(side, 'abc', 'a', async (fh) => ({
        read: await attempt(() => fh.read(Buffer.alloc(2), 0, 2, 0)),
        readNull: await attempt(() => fh.read(Buffer.alloc(2), 0, 2, null)),
        readv: await attempt(() => fh.readv([Buffer.alloc(2)], 0)),
        readFile: await attempt(() => fh.readFile()),
      }));
      out.readOnly = await withHandle(side, 'abc', 'r', async (fh) => ({
        write: await attempt(() => fh.write('x', 0)),
        writeBuffer: await attempt(() => fh.write(Buffer.from('x'), 0, 1, null)),
        writev: await attempt(() => fh.writev([Buffer.from('x')], 0)),
        writeFile: await attempt(() => fh.writeFile('x')),
        appendFile: await attempt(() => fh.appendFile('x')),
        truncate: await attempt(() => fh.truncate(1)),
      }));
      out.dir = await withHandle(side, '.', 'r', async (fh) => ({
        readv: await attempt(() => fh.readv([Buffer.alloc(2)], 0)),
        readNoArgs: await attempt(() => fh.read()),
        stat: await fh.stat(),
        sync: await attempt(() => fh.sync()),
      }));
      return out;
    },
    { setup: alphabet },
  );
  const r = asRecord(node);
  assert.equal(r.writeOnly.read.error.code, 'EBADF');
  assert.equal(r.readOnly.writev.error.code, 'EBADF');
  assert.equal(r.readOnly.truncate.error.code, 'EINVAL');
  assert.equal(r.dir.readv.error.code, 'EISDIR');
});

test('a closed FileHandle rejects with EBADF "file closed"; close twice is fine; fd is -1', async () => {
  const { node } = await differential(
    async (side) => {
      const fh: AnyHandle = await side.fs.open(side.path('abc'), 'r+');
      const fdBefore = fh.fd >= 0;
      let closeEvents = 0;
      fh.on('close', () => closeEvents++);
      const out: Record<string, unknown> = {
        fdBefore,
        close: await attempt(() => fh.close()),
        fdAfter: fh.fd,
        closeAgain: await attempt(() => fh.close()),
      };
      const ops: Record<string, () => Promise<unknown>> = {
        read: () => fh.read(Buffer.alloc(1), 0, 1, 0),
        readNoArgs: () => fh.read(),
        write: () => fh.write('x'),
        writeBuffer: () => fh.write(Buffer.from('x'), 0, 1, 0),
        readv: () => fh.readv([Buffer.alloc(1)]),
        writev: () => fh.writev([Buffer.from('x')]),
        stat: () => fh.stat(),
        truncate: () => fh.truncate(1),
        sync: () => fh.sync(),
        datasync: () => fh.datasync(),
        readFile: () => fh.readFile(),
        writeFile: () => fh.writeFile('x'),
        appendFile: () => fh.appendFile('x'),
        chmod: () => fh.chmod(0o600),
        utimes: () => fh.utimes(1, 1),
      };
      for (const [name, op] of Object.entries(ops)) out[name] = await attempt(op);
      out.closeEvents = closeEvents;
      return out;
    },
    { setup: alphabet },
  );
  const r = asRecord(node);
  assert.equal(r.read.error.code, 'EBADF');
  assert.equal(r.read.error.message, 'file closed');
  assert.deepEqual(r.closeAgain, { ok: undefined });
});

test('close() while ops are in flight waits for them; Symbol.asyncDispose closes', async () => {
  await differential(
    async (side) => {
      const fh = await side.fs.open(side.path('abc'), 'r');
      const reads = [
        fh.read(Buffer.alloc(3), 0, 3, 0),
        fh.read(Buffer.alloc(3), 0, 3, 3),
        fh.stat().then((s) => s.size),
      ];
      const closed = fh.close();
      const out: Record<string, unknown> = {
        inflight: await Promise.allSettled(reads).then((all) =>
          all.map((s) => (s.status === 'fulfilled' ? { ok: s.value } : { error: s.reason })),
        ),
        close: await attempt(() => closed),
        afterClose: await attempt(() => fh.read(Buffer.alloc(1), 0, 1, 0)),
      };
      const fh2 = await side.fs.open(side.path('abc'), 'r');
      await fh2[Symbol.asyncDispose]();
      out.disposedFd = fh2.fd;
      out.disposedRead = await attempt(() => fh2.read());
      out.disposeAgain = await attempt(() => fh2[Symbol.asyncDispose]());
      {
        await using fh3 = await side.fs.open(side.path('abc'), 'r');
        out.usingRead = (await fh3.read(Buffer.alloc(2), 0, 2, 0)).buffer;
        out.keep = fh3;
      }
      out.keep = (out.keep as { fd: number }).fd;
      return out;
    },
    { setup: alphabet },
  );
});

test('FileHandle: stat, truncate (shorter, longer, none), sync, datasync, writeFile/readFile from the position', async () => {
  await differential(
    (side) =>
      withHandle(side, 'abc', 'r+', async (fh) => [
        await fh.truncate(10),
        await fh.stat(),
        await fh.truncate(15),
        await side.fs.readFile(side.path('abc')),
        await fh.truncate(),
        await fh.stat(),
        await fh.write('hello world'),
        await fh.sync(),
        await fh.datasync(),
        await fh.read(Buffer.alloc(5), 0, 5, 0),
        await fh.writeFile('WF'), // at the current position (11), not the start
        await fh.readFile('utf8'), // from the current position: nothing left
        await fh.read(Buffer.alloc(20), 0, 20, 0),
        await attempt(() => fh.truncate(-5)),
        await fh.stat({ bigint: true }),
        await attempt(() => fh.truncate(1.5)),
        await attempt(() => fh.truncate('3' as unknown as number)),
      ]),
    { setup: alphabet },
  );
});
