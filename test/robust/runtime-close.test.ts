// Runtime.close() with sockets, servers and UDP sockets open on it: their
// pending reads and writes fail with ERR_URING_CLOSED, servers emit 'close',
// every descriptor is closed (before: the sockets' fds outlived the ring,
// and a read waiting on one only failed when it was re-armed), nothing
// throws, and the thread's default runtime works on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Runtime, nop } from '../../src/index.js';
import { bindUdp, createServer, connect, dial, listen } from '../../src/net/index.js';
import { fdCount, fdList } from '../helpers/proc.js';
import { waitFor, within } from '../helpers/wait.js';

const LOCAL = '127.0.0.1';

async function settled(p: Promise<unknown>): Promise<{ ok: boolean; code?: string }> {
  return within(
    p.then(
      () => ({ ok: true }),
      (e: { code?: string }) => ({ ok: false, code: e.code }),
    ),
    10_000,
    'a pending op after Runtime.close()',
  );
}

test('Runtime.close() closes its sockets and server; pending ops fail with ERR_URING_CLOSED', async () => {
  const before = fdCount();
  const rt = new Runtime();
  const server = await listen({ port: 0, host: LOCAL, runtime: rt });
  const accepted = server[Symbol.asyncIterator]().next();
  const client = await dial({ port: (server.address() as { port: number }).port, host: LOCAL, runtime: rt });
  const peer = (await accepted).value!;
  // A read waiting for data, and writes the peer never reads, past what the socket buffers hold.
  const read = client[Symbol.asyncIterator]().next();
  const big = Buffer.alloc(8 << 20, 1);
  const writes = [peer.write(big), peer.write(big)];
  const serverClosed = once(server, 'close');
  await rt.close();
  const r = await settled(read);
  assert.deepEqual(r, { ok: false, code: 'ERR_URING_CLOSED' });
  for (const w of writes) {
    const s = await settled(w);
    assert.equal(s.ok, false, 'a write the peer never read cannot have succeeded');
  }
  await within(serverClosed, 10_000, "the server's 'close'");
  assert.equal(client.closed, true);
  assert.equal(peer.closed, true);
  // Closing again is harmless.
  await client.close();
  await server.close();
  await waitFor(() => fdCount() <= before, { what: () => `fds back to ${before}: ${fdList().join(', ')}` });
  assert.equal(await nop(), 0, 'the default runtime still works');
});

test('Runtime.close() under node:net-style sockets: each emits close, errors are ERR_URING_CLOSED', async () => {
  const before = fdCount();
  const rt = new Runtime();
  const server = createServer({ runtime: rt } as object);
  const errors: string[] = [];
  const serverSide = new Promise<import('node:net').Socket>((resolve) => server.on('connection', resolve));
  server.listen(0, LOCAL);
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const client = connect({ port, host: LOCAL, runtime: rt } as { port: number; host: string });
  await once(client, 'connect');
  const peer = await serverSide;
  for (const s of [client, peer]) s.on('error', (e: { code?: string }) => errors.push(e.code ?? String(e)));
  peer.pause(); // one socket not reading: it must hear of the close too
  server.on('error', (e: { code?: string }) => errors.push(`server: ${e.code}`));
  // Not once(): it rejects on 'error', which the sockets emit first.
  const closed = (e: import('node:events').EventEmitter) => new Promise((resolve) => e.once('close', resolve));
  const closes = [closed(client), closed(peer), closed(server)];
  await rt.close();
  await within(Promise.all(closes), 10_000, "every 'close'");
  // The sockets fail with the runtime's error; the server just closes.
  for (const code of errors) assert.equal(code, 'ERR_URING_CLOSED');
  await waitFor(() => fdCount() <= before, { what: () => `fds back to ${before}: ${fdList().join(', ')}` });
});

test('Runtime.close() closes its UDP sockets; a receive waiting ends', async () => {
  const before = fdCount();
  const rt = new Runtime();
  const udp = await bindUdp({ port: 0, address: LOCAL, runtime: rt } as object);
  const recv = udp.recv();
  await rt.close();
  const r = await settled(recv);
  assert.equal(r.ok, false);
  await waitFor(() => fdCount() <= before, { what: () => `fds back to ${before}: ${fdList().join(', ')}` });
});
