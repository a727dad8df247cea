// Sockets die with their thread. A worker's sockets (uring listen/dial/UDP
// and the node:net-compatible API) are closed when the worker ends, even by
// terminate() when no JavaScript runs: no fd stays open, and the ports can
// be bound again. And a socket JavaScript closed itself is not closed again
// at the thread's end (its number may be someone else's by then).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync, readlinkSync } from 'node:fs';
import * as nodeNet from 'node:net';
import * as dgram from 'node:dgram';
import { nop, getRuntime } from '../../src/index.js';
import { listen, dial, bindUdp, type UringSocket } from '../../src/net/index.js';
import { native } from '../../src/native.js';
import { fdCount, fdList } from '../helpers/proc.js';
import { waitFor, within } from '../helpers/wait.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Connections to 127.0.0.1:port that were accepted into an fd and are still
 * open: ESTABLISHED, with a socket inode (one still in the accept queue has
 * none).
 */
function acceptedFds(port: number): number {
  let n = 0;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const localPort = parseInt(f[1]!.split(':')[1]!, 16);
    if (localPort === port && f[3] === '01' && f[9] !== '0') n++;
  }
  return n;
}

const fixture = (name: string) => new URL(`./fixtures/${name}.js`, import.meta.url);

interface Opened {
  tcpPort: number;
  udpPort: number;
  nodePort: number;
  owned: number;
}

async function bindable(ports: Opened): Promise<void> {
  for (const port of [ports.tcpPort, ports.nodePort]) {
    const s = nodeNet.createServer();
    s.listen(port, '127.0.0.1');
    await once(s, 'listening');
    await new Promise<void>((r) => s.close(() => r()));
  }
  const u = dgram.createSocket('udp4');
  u.bind(ports.udpPort, '127.0.0.1');
  await once(u, 'listening');
  await new Promise<void>((r) => u.close(() => r()));
}

for (const mode of ['terminate', 'natural'] as const) {
  test(`a worker's sockets are closed when it ends (${mode}): fd count back to before, ports free`, async () => {
    await nop(); // the main runtime exists before counting
    const before = fdCount();
    const listBefore = fdList();
    for (let round = 0; round < 3; round++) {
      const w = new Worker(fixture('socket-owner'), { workerData: { mode } });
      const exited = once(w, 'exit') as Promise<[number]>;
      const [msg] = (await within(once(w, 'message'), 10_000, 'worker ready')) as [Opened];
      // listen + dial + accepted, UDP, node server + client + accepted
      assert.equal(msg.owned, 7, 'the worker owns its 7 sockets');
      if (mode === 'terminate') await w.terminate();
      const [code] = await within(exited, 10_000, 'worker exit');
      assert.equal(code, mode === 'terminate' ? 1 : 0);
      await waitFor(() => fdCount() === before, {
        timeout: 5000,
        what: () =>
          `the worker's fds to close (now ${fdCount()}, before ${before}):\n${fdList().join('\n')}\nbefore:\n${listBefore.join('\n')}`,
      });
      await bindable(msg);
    }
  });
}

test('connections the kernel accepted for a worker that never reaped them are closed when it is terminated', async (t) => {
  await nop();
  const before = fdCount();
  const w = new Worker(fixture('busy-listener'), { workerData: {} });
  t.after(() => w.terminate());
  const exited = once(w, 'exit');
  const [{ port }] = (await within(once(w, 'message'), 10_000, 'worker ready')) as [{ port: number }];
  const N = 5;
  const clients = Array.from({ length: N }, () => nodeNet.connect(port, '127.0.0.1'));
  t.after(() => clients.forEach((c) => c.destroy()));
  await Promise.all(clients.map((c) => once(c, 'connect')));
  const closed = clients.map((c) => once(c, 'close'));
  await waitFor(() => acceptedFds(port) === N, {
    timeout: 5000,
    what: () => `the kernel to accept (${acceptedFds(port)} of ${N})`,
  });
  await w.terminate();
  await within(exited, 10_000, 'worker exit');
  await waitFor(() => acceptedFds(port) === 0, {
    timeout: 5000,
    what: () => `the accepted fds to close (${acceptedFds(port)} left)`,
  });
  // Every client sees its peer go.
  await within(
    Promise.all(closed.map((p, i) => (clients[i]!.resume(), p))),
    5000,
    'the clients to see their peers close',
  );
  await waitFor(() => fdCount() === before, {
    timeout: 5000,
    what: () => `fds to close (now ${fdCount()}, before ${before}):\n${fdList().join('\n')}`,
  });
});

test('sockets a worker closed itself are not closed again when it ends (their numbers are reused)', async (t) => {
  const dir = tempDir('uring-reuse-');
  t.after(() => dir.remove());
  const file = dir.write('file', 'x');
  const w = new Worker(fixture('socket-closer'), { workerData: {} });
  const exited = once(w, 'exit') as Promise<[number]>;
  t.after(() => w.terminate()); // it waits to be terminated, even if the test fails first
  const [msg] = (await within(once(w, 'message'), 10_000, 'worker')) as [{ closed: number[]; owned: number }];
  assert.equal(msg.owned, 0, 'every socket closed by JavaScript was disowned');
  // This thread's files now take the freed numbers (the lowest free fd is handed out).
  const files = msg.closed.map(() => openSync(file, 'r'));
  t.after(() => files.forEach((fd) => closeSync(fd)));
  assert.ok(
    files.some((fd) => msg.closed.includes(fd)),
    `no file took a closed socket's number: ${JSON.stringify({ ...msg, files })}`,
  );
  await w.terminate();
  await within(exited, 10_000, 'worker exit');
  for (const fd of files)
    assert.equal(readlinkSync(`/proc/self/fd/${fd}`), file, `fd ${fd} was closed at the worker's end`);
});

test('main thread: every socket closed (ring CLOSE, closeFd after runtime.close()) is disowned', async () => {
  const base = native().ownedFds();
  const open = async () => {
    const srv = await listen({ host: '127.0.0.1', port: 0 });
    const accepted = once(srv, 'connection') as Promise<[UringSocket]>;
    const client = await dial({ host: '127.0.0.1', port: (srv.address() as { port: number }).port });
    const [conn] = await accepted;
    const udp = await bindUdp({ host: '127.0.0.1', port: 0 });
    return [srv, client, conn, udp];
  };
  const a = await open();
  assert.equal(native().ownedFds(), base + 4);
  for (const s of a) await s.close();
  assert.equal(native().ownedFds(), base);
  const b = await open();
  await getRuntime().close();
  for (const s of b) await s.close();
  assert.equal(native().ownedFds(), base);
  getRuntime();
});
