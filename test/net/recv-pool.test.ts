// The receive pool: on an incremental ring the chunks are views of the
// slabs the kernel filled (no copy), so a chunk a reader keeps must never
// change while later receives go on; a slab leaves the ring once filled
// and a new one takes its place; an end of stream (a CQE with no data
// that names no buffer: the kernel keeps it) neither loses a buffer nor
// gives one back twice.
// Both kinds of ring: incremental, and the copying one older kernels get.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nodeNet from 'node:net';
import { once } from 'node:events';
import { listen, dial, configureRecvPool, type UringServer, type UringSocket } from '../../src/net/index.js';
import { recvPool } from '../../src/net/recv-pool.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { assertTransferKeeps } from '../helpers/untransferable.js';
import { pattern, drainUring, listening, closeServer, portOf } from './util.js';
import { within } from '../helpers/wait.js';

test(
  "incremental ring: a chunk's memory cannot be transferred away (the kernel still fills the rest of its slab)",
  { timeout: 30_000 },
  async () => {
    const rt = new Runtime();
    let server: UringServer | undefined;
    let c: nodeNet.Socket | undefined;
    let sock: UringSocket | undefined;
    try {
      server = await listen({ host: '127.0.0.1', port: 0, runtime: rt });
      const port = (server.address() as { port: number }).port;
      c = nodeNet.connect(port, '127.0.0.1');
      const next = server[Symbol.asyncIterator]().next();
      await within(once(c, 'connect'), 10_000, 'connect');
      const accepted = (await within(next, 10_000, 'accept')).value!;
      sock = accepted;
      c.write('hello');
      const { value: chunk } = await within<IteratorResult<Buffer>>(
        accepted[Symbol.asyncIterator]().next(),
        10_000,
        'the first chunk',
      );
      assert.equal(Buffer.from(chunk!).toString(), 'hello');
      if (recvPool(rt).incremental) {
        // Transferring would detach the slab from the ring's reference.
        assertTransferKeeps(chunk!.buffer as ArrayBuffer);
        assert.equal(chunk!.toString(), 'hello');
      }
    } finally {
      // Whatever failed above: an open peer or listener would keep the
      // process alive after the last test, and the file would never end.
      c?.destroy();
      await sock?.close();
      await server?.close();
      await rt.close();
    }
  },
);

for (const incremental of [true, false]) {
  const kind = incremental ? 'incremental ring' : 'copying ring';

  test(
    `${kind}: chunks kept while 4 MiB more arrive through 4 x 4 KiB buffers stay byte-exact`,
    { timeout: 30_000 },
    async (t) => {
      const rt = new Runtime();
      try {
        assert.equal(configureRecvPool(rt, { count: 4, size: 4096, incremental }), true);
        const pool = recvPool(rt);
        t.diagnostic(`incremental: ${pool.incremental}`);
        if (!incremental) assert.equal(pool.incremental, false);
        const data = pattern(4 << 20, 21);
        const peerSockets = new Set<nodeNet.Socket>();
        const peer = nodeNet.createServer((s) => {
          peerSockets.add(s);
          // Odd sizes, so chunks straddle the kernel's buffers.
          let off = 0;
          const next = (): void => {
            while (off < data.length) {
              const n = Math.min(3001, data.length - off);
              const ok = s.write(data.subarray(off, off + n));
              off += n;
              if (!ok) return void s.once('drain', next);
            }
            s.end();
          };
          next();
        });
        try {
          await listening(peer, 0, '127.0.0.1');
          const sock = await dial({ host: '127.0.0.1', port: portOf(peer), runtime: rt });
          // Every chunk kept (none copied) until the end: if the kernel wrote
          // into a slab part already handed out, or a slab were reused while a
          // chunk still pointed into it, the bytes would differ.
          const chunks: Buffer[] = [];
          try {
            for await (const c of sock) chunks.push(c);
          } finally {
            await sock.close();
          }
          const got = Buffer.concat(chunks);
          assert.equal(got.length, data.length);
          assert.ok(got.equals(data), 'bytes differ');
          if (pool.incremental) {
            // 4 MiB through 4 KiB slabs: each filled slab was replaced by a new one.
            assert.ok(pool.refills >= (data.length >> 12) - 4, `only ${pool.refills} slabs replaced`);
          }
        } finally {
          for (const s of peerSockets) s.destroy();
          await closeServer(peer);
        }
      } finally {
        await rt.close();
      }
    },
  );

  test(
    `${kind}: 40 connections that send and end leave every buffer of a 4-buffer pool in the ring`,
    { timeout: 30_000 },
    async () => {
      const rt = new Runtime();
      let server: UringServer | undefined;
      let c: nodeNet.Socket | undefined;
      try {
        assert.equal(configureRecvPool(rt, { count: 4, size: 4096, incremental }), true);
        server = await listen({ host: '127.0.0.1', port: 0, runtime: rt });
        const port = (server.address() as { port: number }).port;
        const listener = server;
        const served = (async () => {
          let n = 0;
          for await (const s of listener) {
            try {
              const got = await drainUring(s); // to the peer's FIN
              await s.write(Buffer.from(String(got.length)));
            } finally {
              await s.close();
            }
            if (++n === 40) break;
          }
        })();
        for (let i = 0; i < 40; i++) {
          c = nodeNet.connect(port, '127.0.0.1');
          await once(c, 'connect');
          // Every fourth connection ends without sending anything.
          const body = i % 4 === 0 ? Buffer.alloc(0) : pattern(100 + i * 997, i);
          c.end(body);
          const reply: Buffer[] = [];
          c.on('data', (d: Buffer) => reply.push(d));
          await once(c, 'close');
          assert.equal(Buffer.concat(reply).toString(), String(body.length), `connection ${i}`);
        }
        await within(served, 5000, 'the server');
        await server.close();
        // The kernel's head and our tail: every buffer is back (or was never
        // taken), none is in the ring twice.
        assert.equal(recvPool(rt).ring.available(), 4);
      } finally {
        c?.destroy();
        await server?.close();
        await rt.close();
      }
    },
  );
}
