// A Buffer whose ArrayBuffer is transferred away (postMessage,
// structuredClone with transfer) while a socket write holds it: the kernel
// may read its memory after it changed hands, or (still queued) sends
// nothing of it. Either way the write must fail with
// ERR_URING_BUFFER_DETACHED, as a recv's does, never report bytes as sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nodeNet from 'node:net';
import { Buffer } from 'node:buffer';
import { dial } from '../../src/net/index.js';
import { detachedBufferCount } from '../../src/ops/index.js';
import { listening, closeServer, portOf } from './util.js';
import { waitFor, within } from '../helpers/wait.js';

/** A node server whose one connection does not read until `resume()`. */
async function stalledPeer() {
  let conn: nodeNet.Socket | undefined;
  let got = 0;
  const server = nodeNet.createServer({ pauseOnConnect: true }, (c) => {
    conn = c;
    c.on('data', (d: Buffer) => (got += d.length));
    c.on('error', () => {});
  });
  await listening(server, 0, '127.0.0.1');
  return {
    port: portOf(server),
    resume: async () => (await waitFor(() => conn)).resume(),
    received: () => got,
    close: async () => {
      conn?.destroy();
      await closeServer(server);
    },
  };
}

process.on('warning', () => {}); // the once-per-thread URING_BUFFER_DETACHED warning

for (const where of ['in flight', 'queued behind another write']) {
  test(`a write whose buffer is transferred away while ${where} fails with ERR_URING_BUFFER_DETACHED`, async () => {
    const peer = await stalledPeer();
    const sock = await dial({ host: '127.0.0.1', port: peer.port });
    try {
      const before = detachedBufferCount();
      // Bigger than the socket buffers, so the first write stays in the kernel.
      const first = Buffer.allocUnsafeSlow(32 << 20).fill(1);
      const second = Buffer.allocUnsafeSlow(1 << 20).fill(2);
      const target = where === 'in flight' ? first : second;
      const p1 = sock.write(first);
      const p2 = sock.write(second);
      p1.catch(() => {});
      p2.catch(() => {});
      // Let the first batch reach the kernel before the transfer.
      await new Promise((r) => setImmediate(r));
      const moved = structuredClone(target.buffer, { transfer: [target.buffer] });
      assert.equal(target.byteLength, 0, 'the Buffer was not detached');
      await peer.resume();
      const outcome = await within(Promise.allSettled([p1, p2]), 10_000, 'the writes did not settle');
      const failed = outcome.filter((o) => o.status === 'rejected') as PromiseRejectedResult[];
      assert.ok(failed.length > 0, `every write reported success: ${JSON.stringify(outcome)}`);
      assert.equal(failed[0]!.reason.code, 'ERR_URING_BUFFER_DETACHED');
      assert.ok(detachedBufferCount() > before);
      assert.equal(moved.byteLength, target === first ? 32 << 20 : 1 << 20);
    } finally {
      await sock.close();
      await peer.close();
    }
  });
}
