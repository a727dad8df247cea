// The send path keeps its ops for the next batch (no Op constructed per
// send): a buffer whose write has resolved must not stay referenced by the
// op waiting to be reused, and writes of any size keep their order across
// the reused ops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nodeNet from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { dial } from '../../src/net/index.js';
import { pattern, listening, closeServer, portOf } from './util.js';
import { waitFor } from '../helpers/wait.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

test('a buffer whose write resolved is not kept alive by the socket', async () => {
  let received = 0;
  const peer = nodeNet.createServer((s) => s.on('data', (d: Buffer) => void (received += d.length)));
  await listening(peer, 0, '127.0.0.1');
  const sock = await dial({ host: '127.0.0.1', port: portOf(peer) });
  let collected = 0;
  const registry = new FinalizationRegistry(() => void collected++);
  // Two writes (the socket alternates between two ops), each awaited.
  for (let i = 0; i < 2; i++) {
    let buf: Buffer | undefined = Buffer.alloc(4 << 20, i);
    registry.register(buf, i);
    await sock.write(buf);
    buf = undefined;
  }
  // The ring pins a buffer to its SQ slot until the slot is reused: 300
  // sends on another socket cycle through the 256 slots.
  const other = await dial({ host: '127.0.0.1', port: portOf(peer) });
  for (let i = 0; i < 300; i++) await other.write(Buffer.from('x'));
  await other.close();
  await waitFor(
    () => {
      gc();
      return collected >= 2;
    },
    { interval: 10, what: () => `both written buffers to be collected (${collected})` },
  );
  assert.equal(collected, 2);
  // The socket goes on sending after that.
  await sock.write(Buffer.from('end'));
  await waitFor(() => received >= (8 << 20) + 303, { what: () => `the peer to receive everything (${received})` });
  await sock.close();
  await closeServer(peer);
});

test('1,000 awaited writes of varying size, then 1,000 unawaited ones, arrive in order', async () => {
  const chunks: Buffer[] = [];
  let total = 0;
  const peer = nodeNet.createServer((s) => s.on('data', (d: Buffer) => chunks.push(d)));
  await listening(peer, 0, '127.0.0.1');
  const sock = await dial({ host: '127.0.0.1', port: portOf(peer) });
  const parts: Buffer[] = [];
  for (let i = 0; i < 2000; i++) parts.push(pattern(1 + ((i * 7919) % 20000), i));
  for (let i = 0; i < 1000; i++) await sock.write(parts[i]!);
  await Promise.all(parts.slice(1000).map((p) => sock.write(p)));
  const want = Buffer.concat(parts);
  await waitFor(() => (total = chunks.reduce((a, c) => a + c.length, 0)) >= want.length, {
    timeout: 10_000,
    what: () => `the peer to receive everything (${total} of ${want.length})`,
  });
  assert.ok(Buffer.concat(chunks).equals(want), 'bytes differ');
  await sock.close();
  await closeServer(peer);
});

test('gathered sends (up to 512 buffers) and zero-copy ones keep their bytes and order', async () => {
  // Each send op keeps its msghdr and iovec array across batches and grows
  // the array for a bigger batch; both ops of the socket, plain and zero copy.
  for (const zeroCopy of [false, true]) {
    const chunks: Buffer[] = [];
    let total = 0;
    const peer = nodeNet.createServer((s) => s.on('data', (d: Buffer) => chunks.push(d)));
    await listening(peer, 0, '127.0.0.1');
    const sock = await dial({ host: '127.0.0.1', port: portOf(peer) });
    if (zeroCopy) sock.zeroCopyThreshold = 1;
    const parts: Buffer[] = [];
    let n = 0;
    for (const batch of [3, 40, 700, 1, 17, 130, 2]) {
      const these: Buffer[] = [];
      for (let i = 0; i < batch; i++) these.push(pattern(1 + ((n * 7919) % 3000), n++));
      parts.push(...these);
      await Promise.all(these.map((p) => sock.write(p)));
    }
    const want = Buffer.concat(parts);
    await waitFor(() => (total = chunks.reduce((a, c) => a + c.length, 0)) >= want.length, {
      timeout: 10_000,
      what: () => `the peer to receive everything (${total} of ${want.length})`,
    });
    assert.ok(Buffer.concat(chunks).equals(want), `bytes differ (zero copy: ${zeroCopy})`);
    await sock.close();
    await closeServer(peer);
  }
});
