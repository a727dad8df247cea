// One `uring serve --workers N` worker thread: its own runtime (the ring is
// per thread), its own listening socket on the main thread's port through
// SO_REUSEPORT (the kernel spreads connections across the sockets), and the
// same site as the main thread. It stops, gracefully, when told.
import { parentPort, workerData } from 'node:worker_threads';
import { createSite, type ServeOptions } from './serve-app.js';
import { stopGracefully } from './serve-stop.js';

interface WorkerInit {
  opts: ServeOptions;
  port: number;
  index: number;
}

const { opts, port, index } = workerData as WorkerInit;
const port0 = parentPort!;
const { server, dispose } = await createSite(opts, process.stdout, ` w${index}`);
server.once('error', (err: Error) => {
  port0.postMessage({ type: 'error', message: err.message });
  process.exit(1);
});
server.listen({ port, host: opts.host, reusePort: true }, () => port0.postMessage({ type: 'listening' }));
let stopping: Promise<void> | undefined;
port0.on('message', (m: { type: string }) => {
  if (m.type !== 'stop' && m.type !== 'force') return;
  if (stopping) {
    if (m.type === 'force') server.closeAllConnections();
    return;
  }
  stopping = stopGracefully(server, m.type === 'force').then(async () => {
    await dispose();
    port0.postMessage({ type: 'stopped' });
    port0.close();
  });
});
