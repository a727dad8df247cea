// A closed uring socket's late operations must never reach the socket that
// takes its fd number next. The kernel runs IORING_OP_SHUTDOWN in an io-wq
// worker and resolves the fd number only when the worker starts, so end()
// then close() used to let the CLOSE run first and the shutdown then
// half-close whichever socket got the number: here node's own client, whose
// server side then saw a FIN it never sent (Express's suite under
// uring/register showed it as random 'socket hang up').
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nodeNet from 'node:net';
import { once } from 'node:events';
import { dial } from '../../src/net/index.js';
import { listening, closeServer, portOf } from './util.js';
import { waitFor } from '../helpers/wait.js';

test('end() then close(): the shutdown never half-closes the next socket on the fd', async () => {
  // Server side of every connection: the first byte says whose it is
  // ('B' = node's client, which never ends before the check), and whether
  // a FIN arrived.
  const seen: { tag: string; ended: boolean }[] = [];
  const server = nodeNet.createServer((c) => {
    const rec = { tag: '', ended: false };
    seen.push(rec);
    c.on('data', (d) => {
      if (rec.tag === '') rec.tag = d.toString('latin1', 0, 1);
    });
    c.on('end', () => (rec.ended = true));
    c.on('error', () => {});
  });
  await listening(server, 0, '127.0.0.1');
  const port = portOf(server);
  const clients: nodeNet.Socket[] = [];
  let reused = 0;
  try {
    for (let i = 0; i < 150; i++) {
      const a = await dial({ host: '127.0.0.1', port });
      const fd = a.fd;
      void a.end().catch(() => {});
      await a.close();
      // Node's connect creates its socket in the next tick: the lowest free
      // number, most often the one just closed.
      const b = nodeNet.connect(port, '127.0.0.1');
      b.on('error', () => {});
      clients.push(b);
      await once(b, 'connect');
      if ((b as unknown as { _handle: { fd: number } })._handle.fd === fd) reused++;
      b.write('B');
    }
    await waitFor(() => seen.filter((r) => r.tag === 'B').length === clients.length, { timeout: 5000 });
    // A stray shutdown runs within microseconds; give it time to land.
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(reused > 0, 'no node socket took a closed uring socket number: the test proves nothing');
    const halfClosed = seen.filter((r) => r.tag === 'B' && r.ended).length;
    assert.equal(halfClosed, 0, `${halfClosed} of ${clients.length} node sockets got another socket's FIN`);
  } finally {
    for (const b of clients) b.destroy();
    await closeServer(server);
  }
});
