// Splice mode: a ReadStream piped only into one of our WriteStreams moves
// the bytes in the kernel (src/fs/streams.ts, ReadStream #decide). What a
// user can see must stay node:fs's: the file written, bytesRead,
// bytesWritten, pos, the events, errors; and anything that could see a
// chunk (another 'data' listener, a write of the caller's own, unpipe(),
// pause()) gets node's behaviour from there on.
//
// Whether a copy spliced is told by the chunk Buffers the ReadStream made:
// none of the highWaterMark's size (the last read, which finds the end of
// the file, is the one allowed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as nodeFs from 'node:fs';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { Buffer } from 'node:buffer';
import { pipeline } from 'node:stream/promises';
import * as uringFs from '../../src/fs/index.js';
import { makeRoot } from './harness.js';
import { fdCount } from '../helpers/proc.js';
import { turn, waitFor, within } from '../helpers/wait.js';

type Any = any;
type Fs = Pick<typeof nodeFs, 'createReadStream' | 'createWriteStream'>;
const SIDES: [string, Fs][] = [
  ['node', nodeFs],
  ['uring', uringFs as unknown as Fs],
];

/** Runs `fn` and counts the Buffers of `size` bytes Buffer.allocUnsafe made meanwhile. */
async function counting<T>(size: number, fn: () => Promise<T>): Promise<{ result: T; made: number }> {
  const orig = Buffer.allocUnsafe;
  let made = 0;
  Buffer.allocUnsafe = ((n: number) => {
    if (n === size) made++;
    return orig(n);
  }) as typeof Buffer.allocUnsafe;
  try {
    return { result: await fn(), made };
  } finally {
    Buffer.allocUnsafe = orig;
  }
}

/** The events a stream emits (no 'data' listener: that would end splice mode). */
function events(stream: Any): string[] {
  const seen: string[] = [];
  for (const e of ['open', 'ready', 'end', 'finish', 'close', 'pipe', 'unpipe']) stream.on(e, () => seen.push(e));
  stream.on('error', (err: NodeJS.ErrnoException) => seen.push(`error ${err.code}`));
  return seen;
}

const BIG = randomBytes(5 * 2 ** 20 + 777);

test('splice: pipeline() copies as node:fs does (bytes, counts, pos, events) for start/end/highWaterMark', async () => {
  const root = makeRoot('splice');
  try {
    writeFileSync(`${root}/src`, BIG);
    const cases: { r: Record<string, number>; w: Record<string, unknown> }[] = [
      { r: {}, w: {} },
      { r: { highWaterMark: 16_384 }, w: { highWaterMark: 16_384 } },
      { r: { highWaterMark: 1 << 20 }, w: { highWaterMark: 1 << 20 } },
      // Unaligned start and end, written at an offset into an existing file.
      { r: { start: 1000, end: 3 * 2 ** 20 + 4321 }, w: { start: 10, flags: 'r+' } },
      { r: { start: 4096 * 3 }, w: { start: 1 << 20, flags: 'r+' } },
    ];
    for (const c of cases) {
      const out: Record<string, unknown> = {};
      for (const [name, fs] of SIDES) {
        writeFileSync(`${root}/${name}`, Buffer.alloc(12345, 9));
        const rs: Any = fs.createReadStream(`${root}/src`, c.r);
        const ws: Any = fs.createWriteStream(`${root}/${name}`, c.w);
        const re = events(rs);
        const we = events(ws);
        const hwm = rs.readableHighWaterMark;
        const { made } = await counting(hwm, () => pipeline(rs, ws));
        await turn();
        out[name] = {
          file: readFileSync(`${root}/${name}`),
          re,
          we,
          bytesRead: rs.bytesRead,
          bytesWritten: ws.bytesWritten,
          rpos: rs.pos,
          wpos: ws.pos,
        };
        if (name === 'uring') assert.ok(made <= 1, `${JSON.stringify(c)}: ${made} chunks of ${hwm} bytes made`);
      }
      assert.deepEqual(out.uring, out.node, JSON.stringify(c));
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('splice: rs.pipe(ws) with a "data" listener added at once reads through JavaScript, as node', async () => {
  const root = makeRoot('splice');
  try {
    writeFileSync(`${root}/src`, BIG);
    const rs: Any = uringFs.createReadStream(`${root}/src`);
    const ws: Any = uringFs.createWriteStream(`${root}/dst`);
    let seen = 0;
    const { made } = await counting(65_536, async () => {
      rs.pipe(ws);
      rs.on('data', (c: Buffer) => (seen += c.length));
      await within(new Promise((r) => ws.on('close', r)), 20_000, 'close');
    });
    assert.equal(seen, BIG.length);
    assert.ok(made > 10);
    assert.ok(readFileSync(`${root}/dst`).equals(BIG));
    assert.equal(ws.bytesWritten, BIG.length);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('splice: a "data" listener or a pause() mid-copy gets the rest of the file through JavaScript', async () => {
  const root = makeRoot('splice');
  const data = randomBytes(48 * 2 ** 20);
  try {
    writeFileSync(`${root}/src`, data);
    for (const how of ['data', 'pause'] as const) {
      const rs: Any = uringFs.createReadStream(`${root}/src`);
      const ws: Any = uringFs.createWriteStream(`${root}/dst-${how}`);
      const done = pipeline(rs, ws);
      await waitFor(() => rs.bytesRead > 0, { what: 'the first bytes', interval: 0 });
      const chunks: Buffer[] = [];
      if (how === 'data') rs.on('data', (c: Buffer) => chunks.push(c));
      else {
        rs.pause();
        await turn();
        rs.resume();
      }
      await within(done, 20_000, 'the copy');
      assert.ok(readFileSync(`${root}/dst-${how}`).equals(data), how);
      assert.equal(rs.bytesRead, data.length);
      assert.equal(ws.bytesWritten, data.length);
      // What the listener saw is the file's tail, in order.
      const tail = Buffer.concat(chunks);
      assert.ok(data.subarray(data.length - tail.length).equals(tail));
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("splice: the destination's own writes land where node's do (before, during, after)", async () => {
  const root = makeRoot('splice');
  const data = randomBytes(32 * 2 ** 20);
  try {
    writeFileSync(`${root}/src`, data);
    // Written before the pipe: the copy follows it (and does not splice).
    {
      const ws: Any = uringFs.createWriteStream(`${root}/a`);
      ws.write('header\n');
      await pipeline(uringFs.createReadStream(`${root}/src`), ws);
      const got = readFileSync(`${root}/a`);
      assert.equal(got.subarray(0, 7).toString(), 'header\n');
      assert.ok(got.subarray(7).equals(data));
      assert.equal(ws.bytesWritten, data.length + 7);
    }
    // Written during the copy: it lands between two pieces, as between two
    // chunks (at the end if the copy was done by then: the pipe does not
    // end the stream, so the write is never one after end()).
    {
      const rs: Any = uringFs.createReadStream(`${root}/src`);
      const ws: Any = uringFs.createWriteStream(`${root}/b`);
      rs.pipe(ws, { end: false });
      const ended = new Promise((r) => rs.on('end', r));
      await waitFor(() => rs.bytesRead > 0, { what: 'the first bytes', interval: 0 });
      ws.write('X');
      await within(ended, 20_000, 'the end of the copy');
      ws.end();
      await within(new Promise((r) => ws.on('close', r)), 20_000, 'close');
      const got = readFileSync(`${root}/b`);
      assert.equal(got.length, data.length + 1);
      // The first place the copy differs from the source is where the X went.
      let k = 0;
      while (k < data.length && got[k] === data[k]) k++;
      assert.equal(got[k], 'X'.charCodeAt(0));
      assert.ok(got.subarray(k + 1).equals(data.subarray(k)));
      assert.equal(ws.bytesWritten, data.length + 1);
    }
    // After the pipe, without end: at the end of what was copied.
    {
      const rs: Any = uringFs.createReadStream(`${root}/src`);
      const ws: Any = uringFs.createWriteStream(`${root}/c`);
      rs.pipe(ws, { end: false });
      await within(new Promise((r) => rs.on('end', r)), 20_000, 'end');
      ws.end('trailer');
      await within(new Promise((r) => ws.on('close', r)), 20_000, 'close');
      const got = readFileSync(`${root}/c`);
      assert.ok(got.subarray(0, data.length).equals(data));
      assert.equal(got.subarray(data.length).toString(), 'trailer');
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('splice: a descriptor at its position, and append mode, as node:fs', async () => {
  const root = makeRoot('splice');
  try {
    writeFileSync(`${root}/src`, BIG);
    const out: Record<string, unknown> = {};
    for (const [name, fs] of SIDES) {
      // A descriptor written past its start: the copy goes at its position,
      // and leaves the position after it (autoClose false: written on).
      const fd = openSync(`${root}/${name}-fd`, 'w');
      writeSync(fd, 'abc');
      const ws: Any = fs.createWriteStream('', { fd, autoClose: false } as Any);
      await pipeline(fs.createReadStream(`${root}/src`), ws);
      writeSync(fd, 'xyz');
      closeSync(fd);
      // Appending to a file with data.
      writeFileSync(`${root}/${name}-a`, 'first');
      await pipeline(fs.createReadStream(`${root}/src`), fs.createWriteStream(`${root}/${name}-a`, { flags: 'a' }));
      out[name] = [readFileSync(`${root}/${name}-fd`), readFileSync(`${root}/${name}-a`), ws.bytesWritten];
    }
    assert.deepEqual(out.uring, out.node);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('splice: ENOSPC fails the pipeline as node:fs; the file is the bytes counted, the start of the source', async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('needs root to mount a tmpfs');
    return;
  }
  const mnt = makeRoot('spnospc');
  try {
    // Not a whole number of splice steps: the step in flight after the one
    // that fails may still find room (it wrote past a hole before the fix).
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3500k', 'tmpfs', mnt], { stdio: 'ignore' });
  } catch {
    rmSync(mnt, { recursive: true, force: true });
    t.skip('mount -t tmpfs failed');
    return;
  }
  const root = makeRoot('splice');
  try {
    writeFileSync(`${root}/src`, BIG);
    const out: Record<string, unknown> = {};
    for (const [name, fs] of [...SIDES, SIDES[1]!, SIDES[1]!, SIDES[1]!, SIDES[1]!]) {
      const ws: Any = fs.createWriteStream(`${mnt}/${name}`);
      const err = await pipeline(fs.createReadStream(`${root}/src`), ws).then(
        () => null,
        (e: NodeJS.ErrnoException) => ({ code: e.code, syscall: e.syscall }),
      );
      const got = readFileSync(`${mnt}/${name}`);
      const counted = ws.bytesWritten === got.length && got.equals(BIG.subarray(0, got.length));
      rmSync(`${mnt}/${name}`);
      out[name] = { err, counted };
      assert.deepEqual(out[name], out.node, name);
    }
    assert.deepEqual(out.node, { err: { code: 'ENOSPC', syscall: 'write' }, counted: true });
  } finally {
    execFileSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  }
});

test('splice: destroy() of either side mid-copy closes both files; no descriptor or pipe leaks', async () => {
  const root = makeRoot('splice');
  const data = randomBytes(48 * 2 ** 20);
  try {
    writeFileSync(`${root}/src`, data);
    // Warm the pipe pool first, so the count below sees only this copy's descriptors.
    await pipeline(uringFs.createReadStream(`${root}/src`), uringFs.createWriteStream(`${root}/warm`));
    const before = fdCount();
    for (const which of ['read', 'write'] as const) {
      const rs: Any = uringFs.createReadStream(`${root}/src`);
      const ws: Any = uringFs.createWriteStream(`${root}/dst`);
      const done = pipeline(rs, ws).then(
        () => null,
        (e: Error) => e,
      );
      await waitFor(() => rs.bytesRead > 0, { what: 'the first bytes', interval: 0 });
      (which === 'read' ? rs : ws).destroy();
      const err = await within(done, 20_000, 'the pipeline');
      await waitFor(() => rs.closed && ws.closed, { what: 'both closed' });
      // What was counted is in the file, and it is the source's beginning.
      const got = readFileSync(`${root}/dst`);
      assert.ok(got.length >= ws.bytesWritten);
      assert.ok(got.subarray(0, ws.bytesWritten).equals(data.subarray(0, ws.bytesWritten)));
      assert.ok(err === null || err instanceof Error);
    }
    await waitFor(() => fdCount() <= before, { what: 'descriptors closed' });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('read-ahead stops at the size at open, and reads on when the file grew since (read alone and spliced)', async () => {
  const root = makeRoot('splice');
  try {
    const sizes: [number, number][] = [
      [4096, 100_000],
      [100_000, 4096],
      [3 * 2 ** 20, 2 ** 20 + 5],
    ];
    for (const [size, more] of sizes) {
      const out: Record<string, unknown> = {};
      for (const [name, fs] of SIDES) {
        const first = randomBytes(size);
        const added = randomBytes(more);
        writeFileSync(`${root}/${name}-src`, first);
        // Read alone, chunk by chunk: the bytes appended once it is open come too.
        const rs: Any = fs.createReadStream(`${root}/${name}-src`, { highWaterMark: 16_384 });
        await new Promise((r) => rs.once('open', r));
        nodeFs.appendFileSync(`${root}/${name}-src`, added);
        const chunks: Buffer[] = [];
        rs.on('data', (c: Buffer) => chunks.push(c));
        await within(new Promise((r) => rs.on('close', r)), 20_000, 'close');
        const whole = Buffer.concat([first, added]);
        // Copied (spliced where it can): likewise.
        writeFileSync(`${root}/${name}-src`, first);
        const rs2: Any = fs.createReadStream(`${root}/${name}-src`);
        const ws2: Any = fs.createWriteStream(`${root}/${name}-dst`);
        const done = pipeline(rs2, ws2);
        await new Promise((r) => rs2.once('open', r));
        nodeFs.appendFileSync(`${root}/${name}-src`, added);
        await within(done, 20_000, 'the copy');
        out[name] = {
          read: Buffer.concat(chunks).equals(whole),
          copied: readFileSync(`${root}/${name}-dst`).equals(whole),
          counts: [rs.bytesRead, rs2.bytesRead, ws2.bytesWritten],
        };
      }
      assert.deepEqual(out.uring, out.node, `${size} + ${more}`);
      assert.deepEqual(out.node, { read: true, copied: true, counts: [size + more, size + more, size + more] });
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('splice: a file system that refuses splice (EINVAL) gets the copy through JavaScript, as node', async () => {
  // No file system at hand lacks splice (tmpfs, ext4, xfs, btrfs all have
  // it), so the refusal is injected where the kernel's results arrive: on
  // the read side (no splice_read) or the write side (no splice_write, after
  // the read side filled the pipe).
  const { SplicePairOp } = await import('../../src/fs/stream-io.js');
  const proto = SplicePairOp.prototype as Any;
  const orig = proto.linkResult;
  const root = makeRoot('splice');
  try {
    writeFileSync(`${root}/src`, BIG);
    for (const side of [0, 1]) {
      let refused = 0;
      proto.linkResult = function (this: Any, link: number, res: number) {
        if (!this.drain && link === side) {
          refused++;
          res = -22; // EINVAL
        } else if (!this.drain && link === 1 && side === 0) res = -125; // ECANCELED: its link failed
        return orig.call(this, link, res);
      };
      const rs: Any = uringFs.createReadStream(`${root}/src`);
      const ws: Any = uringFs.createWriteStream(`${root}/dst${side}`);
      await within(pipeline(rs, ws), 20_000, 'pipeline');
      proto.linkResult = orig;
      assert.ok(refused > 0, 'no splice was tried');
      assert.ok(readFileSync(`${root}/dst${side}`).equals(BIG), `side ${side}: the copy differs`);
      assert.equal(rs.bytesRead, BIG.length);
      assert.equal(ws.bytesWritten, BIG.length);
    }
  } finally {
    proto.linkResult = orig;
    rmSync(root, { recursive: true, force: true });
  }
});
