// Provided-buffer rings: the kernel picks a buffer per receive and names it
// in the CQE; the application hands buffers back with add() + advance().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ring, BufRing, IOSQE_BUFFER_SELECT } from '../../src/ring/index.js';
import { socketPair, type SocketPair } from '../helpers/net.js';
import { E, reap, sqe } from '../helpers/ring.js';

async function setup(t: { after(fn: () => Promise<void> | void): void }) {
  const ring = new Ring(16);
  const pair = await socketPair();
  t.after(async () => {
    ring.close();
    await pair.close();
  });
  return { ring, pair };
}

function send(ring: Ring, pair: SocketPair, text: string): void {
  sqe(ring).prepSend(pair.clientFd, Buffer.from(text)).setUserData(0x5e5d);
  ring.submit();
  const [c] = reap(ring, 1);
  assert.equal(c!.userDataNumber, 0x5e5d);
  assert.equal(c!.res, text.length);
}

/** A recv that lets the kernel pick a buffer from group `bgid`. */
function recvSelect(ring: Ring, fd: number, bgid: number, ud: number): void {
  const s = sqe(ring).prepRecv(fd, null, 0).setUserData(ud);
  s.addFlags(IOSQE_BUFFER_SELECT).setBufGroup(bgid);
  assert.equal(s.flags & IOSQE_BUFFER_SELECT, IOSQE_BUFFER_SELECT);
  assert.equal(s.bufGroup, bgid);
  ring.submit();
}

test('recv with IOSQE_BUFFER_SELECT: bufferId names the buffer; exhaustion gives -ENOBUFS', async (t) => {
  const { ring, pair } = await setup(t);
  const br = ring.setupBufRing(4, 7);
  assert.ok(br instanceof BufRing);
  assert.equal(br.bgid, 7);
  // Only two of the four entries are filled: ids 2 and 3.
  const bufs = [new Uint8Array(32), new Uint8Array(32), new Uint8Array(32), new Uint8Array(32)];
  br.add(bufs[2]!, 2, 0);
  br.add(bufs[3]!, 3, 1);
  br.advance(2);
  assert.equal(br.available(), 2);

  const used = new Set<number>();
  for (const msg of ['first message', 'second']) {
    send(ring, pair, msg);
    recvSelect(ring, pair.serverFd, 7, 1);
    const [c] = reap(ring, 1);
    assert.equal(c!.res, msg.length, `recv res ${c!.res}`);
    assert.ok(c!.hasBuffer, 'F_BUFFER set');
    const id = c!.bufferId;
    assert.ok(id === 2 || id === 3, `buffer id ${id} is one we added`);
    assert.ok(!used.has(id), 'each buffer used once');
    used.add(id);
    assert.equal(Buffer.from(bufs[id]!.subarray(0, c!.res)).toString(), msg);
    assert.equal(br.buffer(id), bufs[id]);
  }
  assert.equal(br.available(), 0);

  // No buffer left: the recv fails with -ENOBUFS (data waiting or not).
  send(ring, pair, 'third');
  recvSelect(ring, pair.serverFd, 7, 2);
  const [nobufs] = reap(ring, 1);
  assert.equal(nobufs!.res, -E.ENOBUFS);
  assert.equal(nobufs!.hasBuffer, false);
  assert.equal(nobufs!.bufferId, -1);

  // Hand buffer 0 (never used before) to the ring: the waiting data lands there.
  br.add(bufs[0]!, 0);
  br.advance(1);
  recvSelect(ring, pair.serverFd, 7, 3);
  const [c] = reap(ring, 1);
  assert.equal(c!.bufferId, 0);
  assert.equal(Buffer.from(bufs[0]!.subarray(0, c!.res)).toString(), 'third');
  // An unknown group: -ENOBUFS as well.
  recvSelect(ring, pair.serverFd, 99, 4);
  assert.equal(reap(ring, 1)[0]!.res, -E.ENOBUFS);
  br.close();
});

test('multishot recv: one CQE with F_MORE per receive, buffers recycled, ends on exhaustion', async (t) => {
  const { ring, pair } = await setup(t);
  const br = ring.setupBufRing(2, 1);
  const bufs = [new Uint8Array(64), new Uint8Array(64)];
  bufs.forEach((b, i) => br.add(b, i, i));
  br.advance(2);

  sqe(ring).prepRecvMultishot(pair.serverFd, 1).setUserData(42);
  ring.submit();
  assert.equal(ring.waitCqeTimeout(30), null, 'nothing received yet');

  // Recycle each buffer as soon as its data is read: the stream can go on forever.
  const msgs = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];
  for (const msg of msgs) {
    send(ring, pair, msg);
    const [c] = reap(ring, 1);
    assert.equal(c!.userDataNumber, 42);
    assert.ok(c!.more, `F_MORE on the CQE for ${msg}`);
    assert.equal(c!.res, msg.length);
    const id = c!.bufferId;
    assert.ok(id === 0 || id === 1);
    assert.equal(Buffer.from(bufs[id]!.subarray(0, c!.res)).toString(), msg);
    br.add(bufs[id]!, id);
    br.advance(1);
  }

  // Stop recycling: two more receives use up both buffers, then the
  // multishot ends with -ENOBUFS and no F_MORE.
  const got: string[] = [];
  let last;
  for (let i = 0; i < 4 && !last; i++) {
    if (i < 3) send(ring, pair, `m${i}`);
    const [c] = reap(ring, 1);
    if (c!.res < 0) last = c;
    else {
      assert.ok(c!.more);
      got.push(Buffer.from(bufs[c!.bufferId]!.subarray(0, c!.res)).toString());
    }
  }
  assert.ok(last, 'the multishot recv ended');
  assert.equal(last.res, -E.ENOBUFS);
  assert.equal(last.more, false);
  assert.deepEqual(got, ['m0', 'm1']);
  br.close();
});

test('setupBufRing validates its arguments', async (t) => {
  const { ring } = await setup(t);
  assert.throws(() => ring.setupBufRing(3, 1), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => ring.setupBufRing(0, 1), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => ring.setupBufRing(4, 70000), { code: 'ERR_OUT_OF_RANGE' });
  const br = ring.setupBufRing(4, 2);
  assert.throws(() => br.add(new Uint8Array(8), 4), { code: 'ERR_OUT_OF_RANGE' });
  // The same group twice: the kernel refuses (EEXIST).
  assert.throws(() => ring.setupBufRing(4, 2), { code: 'EEXIST' });
  br.close();
  br.close(); // idempotent
  // Once unregistered, the group id is free again.
  ring.setupBufRing(4, 2).close();
});
