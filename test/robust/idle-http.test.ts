// 10,000 idle connections on an http server over io_uring sockets: uring/http's
// createServer, and node:http's own under --import uring/register. The
// server, and the clients holding the connections, are separate processes
// (bench/idle-conns.ts's children). With all of them connected, a new
// client's GET is answered, and the memory each idle connection costs the
// server is reported (t.diagnostic).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { echoMs, holdClients, mem, serverFlags, start, stop, type Mem } from '../../bench/idle-conns.js';
import { within } from '../helpers/wait.js';

const N = 10_000;

for (const kind of ['uring-http', 'register-http'] as const) {
  test(
    `${N.toLocaleString('en')} idle connections on ${kind}: a new client's GET is answered`,
    { timeout: 150_000 },
    async (t) => {
      const server = start(['--serve', kind], serverFlags(kind));
      try {
        const port = Number((await within(server.next(), 30_000, 'the server listening')).split(' ')[1]);
        const before = await mem(server);
        const clients = await within(holdClients(port, N), 90_000, `${N} connections`);
        try {
          let after: Mem = await mem(server);
          // Accepted by the kernel before the server has seen them all: bounded polling.
          for (let i = 0; after.count < N && i < 1000; i++) {
            await new Promise((r) => setTimeout(r, 20));
            after = await mem(server);
          }
          assert.equal(after.count, N, 'connections the server holds');
          const ms = await within(echoMs(port, kind), 10_000, 'a GET with every connection idle');
          t.diagnostic(
            `${kind}: ${((after.rss - before.rss) / N / 1024).toFixed(2)} KiB RSS and ` +
              `${((after.heapUsed + after.external - before.heapUsed - before.external) / N / 1024).toFixed(2)} KiB ` +
              `JS heap+external per idle connection; new client's GET in ${ms.toFixed(1)} ms`,
          );
        } finally {
          await stop(clients);
        }
        // The clients gone, the server lets go of every connection.
        let left = await mem(server);
        for (let i = 0; left.count > 0 && i < 1500; i++) {
          await new Promise((r) => setTimeout(r, 20));
          left = await mem(server);
        }
        assert.equal(left.count, 0, 'connections left once the clients went');
      } finally {
        server.proc.kill('SIGKILL');
      }
    },
  );
}
