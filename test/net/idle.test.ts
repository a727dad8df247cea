// 10,000 idle connections on one uring/net server: each holds a multishot
// recv in the kernel for as long as it lives. They used to fill the
// runtime's op table (sized from the CQ: 2,048 slots) and from then on every
// new op waited in the backlog forever: new clients got nothing and readFile
// hung. Now a new client is echoed and a file is read promptly while they
// stay connected, and when they go every server socket closes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as nodeNet from 'node:net';
import { createInterface } from 'node:readline';
import { createServer, type Socket } from '../../src/net/index.js';
import { readFile } from '../../src/fs/promises.js';
import { getRuntime } from '../../src/runtime/runtime.js';
import { within, waitFor } from '../helpers/wait.js';

const N = 10_000;

/** A child node that opens `n` idle node:net connections to `port` (500 at a time), says "ready", and holds them until its stdin closes. */
const CLIENTS = `
const net = require('node:net');
const [port, n] = process.argv.slice(1).map(Number);
const socks = [];
let opened = 0, failed = 0;
function one() {
  return new Promise((res) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { opened++; socks.push(s); res(); });
    s.once('error', (e) => { failed++; console.error(e.code); res(); });
  });
}
(async () => {
  for (let i = 0; i < n; i += 500) await Promise.all(Array.from({ length: Math.min(500, n - i) }, one));
  console.log('ready ' + opened + ' ' + failed);
})();
process.stdin.on('end', () => process.exit(0)).resume();
`;

test(
  `${N.toLocaleString('en')} idle connections: a new client is echoed and a file read promptly, and all close when the peer goes`,
  { timeout: 120_000 },
  async () => {
    const sockets = new Set<Socket>();
    const server = createServer((s) => {
      sockets.add(s);
      s.on('data', (d) => s.write(d));
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    });
    server.listen(0, '127.0.0.1', N + 100);
    await once(server, 'listening');
    const { port } = server.address() as nodeNet.AddressInfo;
    const child = spawn(process.execPath, ['-e', CLIENTS, String(port), String(N)], {
      stdio: ['pipe', 'pipe', 'inherit'],
      timeout: 110_000,
      killSignal: 'SIGKILL',
    });
    try {
      const [line] = (await within(
        once(createInterface({ input: child.stdout! }), 'line'),
        90_000,
        'the clients to connect',
      )) as [string];
      assert.equal(line, `ready ${N} 0`);
      await waitFor(() => sockets.size === N, {
        timeout: 30_000,
        what: () => `${N} accepted sockets (have ${sockets.size})`,
      });
      assert.ok(getRuntime().inflight >= N, `a multishot recv per idle connection (inflight ${getRuntime().inflight})`);

      const c = nodeNet.connect(port, '127.0.0.1');
      c.write('ping');
      const [echo] = (await within(once(c, 'data'), 5_000, 'the echo for a new client')) as [Buffer];
      assert.equal(echo.toString(), 'ping');
      c.destroy();
      const text = await within(
        readFile(new URL(import.meta.url), 'utf8'),
        5_000,
        'readFile beside the idle connections',
      );
      assert.ok(text.includes('idle connections'));
      child.stdin!.end();
      await once(child, 'close');
      await waitFor(() => sockets.size === 0, {
        timeout: 30_000,
        what: () => `every server socket to close (open: ${sockets.size})`,
      });
    } finally {
      // On failure too: nothing left to keep the test process alive.
      child.kill('SIGKILL');
      for (const s of sockets) s.destroy();
      server.close();
    }
  },
);
