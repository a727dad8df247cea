// UDP sockets on io_uring (bindUdp): datagrams between two uring sockets and
// with node:dgram both ways, the sender's address, the async iterator and
// its end at close(), truncation, IPv6, bad ports, and close() with a
// receive pending.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { bindUdp, type UdpSocket, type Message } from '../../src/net/index.js';
import { quietFor, turn, waitFor, within } from '../helpers/wait.js';

/** A uring UDP socket on 127.0.0.1 (or ::1), closed when the test ends. */
async function udp(
  t: { after(fn: () => unknown): void },
  options: Parameters<typeof bindUdp>[0] = {},
): Promise<UdpSocket & { port: number }> {
  const type = options?.type ?? 'udp4';
  const s = await bindUdp({ host: type === 'udp6' ? '::1' : '127.0.0.1', ...options });
  t.after(() => s.close());
  return Object.assign(s, { port: s.address()!.port });
}

async function nodeUdp(t: { after(fn: () => unknown): void }, type: 'udp4' | 'udp6' = 'udp4'): Promise<dgram.Socket> {
  const s = dgram.createSocket(type);
  s.bind(0, type === 'udp6' ? '::1' : '127.0.0.1');
  await once(s, 'listening');
  t.after(() => new Promise<void>((r) => s.close(() => r())));
  return s;
}

test('uring to uring: a datagram arrives whole, with its sender address and port', async (t) => {
  const a = await udp(t);
  const b = await udp(t);
  assert.deepEqual(a.address(), { family: 'IPv4', address: '127.0.0.1', port: a.port });
  assert.notEqual(a.port, 0);
  const got = b.recv();
  const sent = await a.send('hello over io_uring', b.port, '127.0.0.1');
  assert.equal(sent, 19);
  const m = await within(got, 2000, 'recv');
  assert.deepEqual(
    { ...m, data: m.data.toString() },
    { data: 'hello over io_uring', address: '127.0.0.1', port: a.port, family: 'IPv4', truncated: false },
  );
  // And back, with a host left out (the loopback address of the socket's type).
  const back = a.recv();
  await b.send(Buffer.from([1, 2, 3]), a.port);
  const r = await within(back, 2000, 'recv back');
  assert.deepEqual([...r.data], [1, 2, 3]);
  assert.equal(r.port, b.port);
});

test('send of several buffers is one datagram; a zero-length datagram arrives as one', async (t) => {
  const a = await udp(t);
  const b = await udp(t);
  let got = b.recv();
  assert.equal(await a.send([Buffer.from('one,'), 'two,', new Uint8Array([0x74, 0x68, 0x72, 0x65, 0x65])], b.port), 13);
  assert.equal((await within(got, 2000, 'recv')).data.toString(), 'one,two,three');
  got = b.recv();
  assert.equal(await a.send(Buffer.alloc(0), b.port), 0);
  const empty = await within(got, 2000, 'recv of an empty datagram');
  assert.equal(empty.data.length, 0);
  assert.equal(empty.port, a.port);
});

test('recv into a caller buffer returns a view of it', async (t) => {
  const a = await udp(t);
  const b = await udp(t);
  const buf = Buffer.alloc(64, 0xee);
  const got = b.recv(buf);
  await a.send('abc', b.port);
  const m = await within(got, 2000, 'recv');
  assert.equal(m.data.toString(), 'abc');
  assert.equal(m.data.buffer, buf.buffer);
  assert.equal(buf.subarray(0, 4).toString('latin1'), 'abc\xee');
});

test('node:dgram to uring: the datagram and the dgram socket as the sender', async (t) => {
  const u = await udp(t);
  const n = await nodeUdp(t);
  const got = u.recv();
  n.send('from node', u.port, '127.0.0.1');
  const m = await within(got, 2000, 'recv');
  assert.equal(m.data.toString(), 'from node');
  assert.equal(m.address, '127.0.0.1');
  assert.equal(m.port, n.address().port);
  assert.equal(m.family, 'IPv4');
});

test('uring to node:dgram: the message and rinfo as node reports them', async (t) => {
  const u = await udp(t);
  const n = await nodeUdp(t);
  const got = once(n, 'message') as Promise<[Buffer, dgram.RemoteInfo]>;
  await u.send('from uring', n.address().port, '127.0.0.1');
  const [msg, rinfo] = await within(got, 2000, "dgram's message");
  assert.equal(msg.toString(), 'from uring');
  assert.deepEqual(rinfo, { address: '127.0.0.1', family: 'IPv4', port: u.port, size: 10 });
});

test(
  'the iterator yields 100 datagrams in order, each its own Buffer, and ends on close()',
  { timeout: 10_000 },
  async (t) => {
    const a = await udp(t);
    const b = await udp(t);
    const got: Message[] = [];
    const loop = (async () => {
      for await (const m of b) got.push(m);
    })();
    for (let i = 0; i < 100; i++) await a.send(`datagram ${i}`, b.port);
    await waitFor(() => got.length >= 100, { what: () => `100 datagrams (got ${got.length})` });
    assert.deepEqual(
      got.map((m) => m.data.toString()),
      Array.from({ length: 100 }, (_, i) => `datagram ${i}`),
    );
    assert.ok(got.every((m) => m.port === a.port && !m.truncated));
    assert.equal(new Set(got.map((m) => m.data.buffer)).size, 100, 'datagrams share a buffer');
    await b.close();
    await within(loop, 2000, 'the iterator to end after close()');
  },
);

test('a datagram longer than recvBufferSize comes truncated: its start, truncated true', async (t) => {
  const a = await udp(t);
  const b = await udp(t, { recvBufferSize: 16 });
  assert.equal(b.recvBufferSize, 16);
  const long = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');
  let got = b.recv();
  await a.send(long, b.port);
  let m = await within(got, 2000, 'recv');
  assert.equal(m.truncated, true);
  assert.equal(m.data.toString(), '0123456789abcdef');
  // One that fits exactly is not truncated; the iterator truncates the same way.
  got = b.recv();
  await a.send(long.subarray(0, 16), b.port);
  m = await within(got, 2000, 'recv');
  assert.equal(m.truncated, false);
  assert.equal(m.data.length, 16);
  const it = b[Symbol.asyncIterator]();
  const next = it.next();
  await a.send(long, b.port);
  const r = await within(next, 2000, 'the iterator');
  assert.equal(r.done, false);
  assert.equal((r.value as Message).truncated, true);
  assert.equal((r.value as Message).data.toString(), '0123456789abcdef');
  // A caller's buffer smaller than the datagram truncates too.
  got = a.recv(Buffer.alloc(4));
  await b.send(long, a.port);
  m = await within(got, 2000, 'recv into 4 bytes');
  assert.deepEqual([m.data.toString(), m.truncated], ['0123', true]);
});

test('IPv6: udp6 sockets on ::1, with each other and with node:dgram', async (t) => {
  const a = await udp(t, { type: 'udp6' });
  const b = await udp(t, { type: 'udp6' });
  assert.equal(a.type, 'udp6');
  assert.deepEqual(a.address(), { family: 'IPv6', address: '::1', port: a.port });
  let got = b.recv();
  await a.send('six', b.port, '::1');
  let m = await within(got, 2000, 'recv');
  assert.deepEqual(
    { ...m, data: m.data.toString() },
    { data: 'six', address: '::1', port: a.port, family: 'IPv6', truncated: false },
  );
  // Without a host: ::1 for a udp6 socket.
  got = b.recv();
  await a.send('six again', b.port);
  m = await within(got, 2000, 'recv');
  assert.equal(m.data.toString(), 'six again');

  const n = await nodeUdp(t, 'udp6');
  const nodeGot = once(n, 'message') as Promise<[Buffer, dgram.RemoteInfo]>;
  await a.send('to node', n.address().port, '::1');
  const [msg, rinfo] = await within(nodeGot, 2000, "dgram's message");
  assert.equal(msg.toString(), 'to node');
  assert.deepEqual([rinfo.address, rinfo.family, rinfo.port], ['::1', 'IPv6', a.port]);
  got = a.recv();
  n.send('from node', a.port, '::1');
  m = await within(got, 2000, 'recv');
  assert.deepEqual([m.data.toString(), m.address, m.port, m.family], ['from node', '::1', n.address().port, 'IPv6']);
});

test('send to a bad port rejects with ERR_SOCKET_BAD_PORT (as node:dgram throws)', async (t) => {
  const a = await udp(t);
  const n = await nodeUdp(t);
  for (const port of [0, -1, 65536, 70000, 1.5, NaN]) {
    assert.throws(() => n.send('x', port, '127.0.0.1'), { code: 'ERR_SOCKET_BAD_PORT' }, `node:dgram, port ${port}`);
    const p = a.send('x', port, '127.0.0.1');
    assert.ok(p instanceof Promise, 'send() returns a promise, even for bad arguments');
    await assert.rejects(p, (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ERR_SOCKET_BAD_PORT', `port ${port}`);
      assert.equal(e.name, 'RangeError');
      return true;
    });
  }
  await assert.rejects(bindUdp({ port: 70000 }), { code: 'ERR_SOCKET_BAD_PORT' });
});

test('binding a port in use fails with EADDRINUSE (errno, syscall, address, port as node:dgram)', async (t) => {
  const a = await udp(t);
  const n = dgram.createSocket('udp4');
  const nodeErr = once(n, 'error') as Promise<[Error]>;
  n.bind(a.port, '127.0.0.1');
  const [ne] = await nodeErr;
  n.close();
  await assert.rejects(bindUdp({ host: '127.0.0.1', port: a.port }), (e: Error & Record<string, unknown>) => {
    const pick = (x: Record<string, unknown>) => ({
      code: x.code,
      errno: x.errno,
      syscall: x.syscall,
      address: x.address,
      port: x.port,
    });
    assert.deepEqual(pick(e), pick(ne as unknown as Record<string, unknown>));
    return true;
  });
  // With reuseAddr on both, two sockets share it.
  const r1 = await udp(t, { reuseAddr: true });
  const r2 = await udp(t, { reuseAddr: true, port: r1.port });
  assert.equal(r2.port, r1.port);
});

test('close() with a recv pending: the recv rejects ERR_SOCKET_CLOSED at once, nothing hangs', async () => {
  const s = await bindUdp({ host: '127.0.0.1' });
  const pending = s.recv();
  const pending2 = s.recv(Buffer.alloc(10));
  const outcome = pending.then(
    () => 'resolved',
    (e: Error & { code?: string }) => e.code,
  );
  const outcome2 = pending2.then(
    () => 'resolved',
    (e: Error & { code?: string }) => e.code,
  );
  await turn(); // both recvs wait in the kernel
  await within(s.close(), 2000, 'close()');
  assert.equal(await within(outcome, 2000, 'the pending recv'), 'ERR_SOCKET_CLOSED');
  assert.equal(await within(outcome2, 2000, 'the second pending recv'), 'ERR_SOCKET_CLOSED');
  assert.equal(s.address(), null);
  await assert.rejects(s.recv(), { code: 'ERR_SOCKET_CLOSED' });
  await assert.rejects(s.send('x', 9), { code: 'ERR_SOCKET_CLOSED' });
  // Closing again is harmless.
  await within(s.close(), 1000, 'a second close()');
});

// send() awaits the host's resolution (a microtask even for an IP literal)
// before it submits the sendmsg: by then the fd may be closed (EBADF) or,
// when resolving took a while, be another socket's. It checks again after.
test('send() then close() at once: the send rejects ERR_SOCKET_CLOSED (node:dgram drops it), not EBADF', async (t) => {
  const b = await udp(t);
  const a = await bindUdp({ host: '127.0.0.1' });
  const p = a.send('x', b.port, '127.0.0.1');
  const closed = a.close();
  const outcome = await within(
    p.then(
      () => 'resolved',
      (e: Error & { code?: string }) => e.code,
    ),
    2000,
    'the send',
  );
  await closed;
  assert.equal(outcome, 'ERR_SOCKET_CLOSED');
});

test('a send still resolving its host when the socket closes never goes out through a new socket on the same fd', async (t) => {
  const b = await udp(t);
  const got: Message[] = [];
  const loop = (async () => {
    for await (const m of b) got.push(m);
  })();
  const a = await bindUdp({ host: '127.0.0.1' });
  const aFd = a.fd;
  const p = a.send('sent by a before its close', b.port, 'localhost');
  const outcome = p.then(
    () => 'resolved',
    (e: Error & { code?: string }) => e.code,
  );
  await a.close();
  const c = await udp(t); // takes the lowest free fd: a's
  t.diagnostic(`a's fd ${aFd}, the new socket's fd ${c.fd}`);
  assert.equal(await within(outcome, 2000, 'the send'), 'ERR_SOCKET_CLOSED');
  await quietFor(50); // no datagram from the closed socket arrives late
  await b.close();
  await loop;
  assert.deepEqual(
    got.map((m) => `${m.data} from ${m.port}`),
    [],
    'a datagram arrived after its socket closed',
  );
});

test('sends around a close(): each one goes out or rejects ERR_SOCKET_CLOSED, never EBADF, and the peer gets exactly those that resolved', async (t) => {
  const b = await udp(t);
  const got: string[] = [];
  const loop = (async () => {
    for await (const m of b) got.push(m.data.toString());
  })();
  const a = await bindUdp({ host: '127.0.0.1' });
  const outcomes: Promise<string>[] = [];
  const send = (i: number) =>
    outcomes.push(
      a.send(`d${i}`, b.port, '127.0.0.1').then(
        () => `sent d${i}`,
        (e: Error & { code?: string }) => e.code ?? e.message,
      ),
    );
  for (let i = 0; i < 20; i++) send(i);
  await new Promise((r) => setImmediate(r)); // these are in the ring by now
  for (let i = 20; i < 40; i++) send(i);
  const closed = a.close(); // these are still awaiting their (literal) host
  for (let i = 40; i < 45; i++) send(i); // and these come after it
  const results = await within(Promise.all(outcomes), 2000, 'the sends');
  await closed;
  await quietFor(50); // no send that rejected arrives late
  await b.close();
  await loop;
  const sent = results.filter((r) => r.startsWith('sent ')).map((r) => r.slice(5));
  assert.deepEqual(
    results.filter((r) => !r.startsWith('sent ')),
    Array(results.length - sent.length).fill('ERR_SOCKET_CLOSED'),
  );
  assert.deepEqual(
    sent,
    Array.from({ length: 20 }, (_, i) => `d${i}`),
    'the sends submitted before close() go out',
  );
  assert.deepEqual(got.sort(), [...sent].sort());
  assert.throws(() => a.setBroadcast(true), { code: 'ERR_SOCKET_CLOSED' });
});

test('close() while the iterator waits ends the for-await loop', async () => {
  const s = await bindUdp({ host: '127.0.0.1' });
  let n = 0;
  const loop = (async () => {
    for await (const _ of s) n++;
    return 'ended';
  })();
  await turn(); // the iterator's recv waits in the kernel
  await s.close();
  assert.equal(await within(loop, 2000, 'the iterator'), 'ended');
  assert.equal(n, 0);
});

test('recv with an AbortSignal: aborting rejects with AbortError and the socket goes on receiving', async (t) => {
  const a = await udp(t);
  const b = await udp(t);
  const ac = new AbortController();
  const p = b.recv(undefined, { signal: ac.signal });
  await turn(); // the recv waits in the kernel
  ac.abort();
  await assert.rejects(within(p, 2000, 'the aborted recv'), { name: 'AbortError' });
  const got = b.recv();
  await a.send('after abort', b.port);
  assert.equal((await within(got, 2000, 'recv')).data.toString(), 'after abort');
});

test('bad options reject', async () => {
  await assert.rejects(bindUdp({ type: 'udp5' as 'udp4' }), { code: 'ERR_INVALID_ARG_VALUE' });
  await assert.rejects(bindUdp({ recvBufferSize: 0 }), { code: 'ERR_OUT_OF_RANGE' });
  await assert.rejects(bindUdp(null as never), { code: 'ERR_INVALID_ARG_TYPE' });
});
