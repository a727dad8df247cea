// Loaded after uring/register in --module http runs (run.mjs): at exit, each
// process (the test and any node child it spawns) appends what register
// routed (servers listened, connections accepted, client connections) to
// the file URING_COMPAT_STATS names, so a report can tell a test that went
// through io_uring from one that never reached a routed socket.
import { appendFileSync } from 'node:fs';

const file = process.env.URING_COMPAT_STATS;
if (file) {
  process.on('exit', () => {
    const s = globalThis[Symbol.for('uring.register')];
    if (!s) return;
    const line = { listens: s.listens, connections: s.connections, clients: s.clients, fallback: s.fallback };
    try {
      appendFileSync(file, JSON.stringify(line) + '\n');
    } catch {
      /* the test removed its tmp dir: nothing to count */
    }
  });
}
