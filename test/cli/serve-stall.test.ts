// `uring serve` and clients that stop reading: a large file goes out by
// splice, and a splice into a full blocking socket would hold an io-wq
// worker (a kernel thread) per such client. These clients must hold no
// thread, must not keep others from being served, and must be closed by the
// server's inactivity timeout (--timeout), as node's server.timeout does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, truncateSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/tmp.js';

const bin = fileURLToPath(new URL('../../../bin/uring.js', import.meta.url));
const SIZE = 64 * 1024 * 1024;
const STALLED = 64;

/** Waits until `cond()` holds, checking every 50 ms, for `ms` at most. */
async function until(what: string, cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The io-wq worker threads (iou-wrk-*) of a process. */
function ioWorkers(pid: number): number {
  let n = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      if (readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').startsWith('iou-wrk')) n++;
    } catch {
      // a thread that just ended
    }
  }
  return n;
}

/** Connections in ESTABLISHED whose local end is 127.0.0.1:`port` (the server's ends), from /proc/net/tcp. */
function serverEnds(port: number): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .filter((l) => {
      const f = l.trim().split(/\s+/);
      return f[1] === local && f[3] === '01';
    }).length;
}

/** GET with Connection: close; the status and the body's length. */
function get(port: number, path: string): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let bytes = 0;
        res.on('data', (d: Buffer) => (bytes += d.length));
        res.on('end', () => resolve({ status: res.statusCode!, bytes }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

test('clients that stop reading hold no thread, starve no one, and are closed after --timeout', async (t) => {
  const dir = tempDir();
  dir.write('small.txt', 'hello\n');
  dir.write('large.bin', '');
  truncateSync(dir.file('large.bin'), SIZE); // sparse: its pages are zeros, read without the disk
  const child = spawn(process.execPath, [bin, 'serve', dir.path, '-p', '0', '-w', '1', '-q', '--timeout', '3'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const stalled: net.Socket[] = [];
  t.after(async () => {
    for (const s of stalled) s.destroy();
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    dir.remove();
  });
  let out = '';
  child.stdout!.setEncoding('utf8');
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`uring serve said nothing in 20 s: ${out}`)), 20_000);
    child.stdout!.on('data', (d: string) => {
      out += d;
      const m = /^serving .* at http:\/\/127\.0\.0\.1:(\d+)\//m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });

  // Clients that read the response's first bytes and then nothing more.
  const received: number[] = new Array(STALLED).fill(0);
  const ended: boolean[] = new Array(STALLED).fill(false);
  let draining = false;
  for (let i = 0; i < STALLED; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => (ended[i] = true));
    s.on('end', () => (ended[i] = true));
    s.on('close', () => (ended[i] = true));
    s.on('data', (d: Buffer) => {
      received[i]! += d.length;
      if (!draining) s.pause();
    });
    s.write('GET /large.bin HTTP/1.1\r\nHost: x\r\n\r\n');
    stalled.push(s);
  }
  await until('every stalled client has its first bytes', () => received.every((n) => n > 0), 30_000);

  // Another client is served, a small file and the large one, whole; meanwhile the stalled clients'
  // splices hold no io-wq threads (before: one kernel thread each, once its socket buffer filled).
  let workers = ioWorkers(child.pid!);
  const sample = setInterval(() => (workers = Math.max(workers, ioWorkers(child.pid!))), 50);
  try {
    assert.deepEqual(await get(port, '/small.txt'), { status: 200, bytes: 6 });
    assert.deepEqual(await get(port, '/large.bin'), { status: 200, bytes: SIZE });
  } finally {
    clearInterval(sample);
  }
  assert.ok(workers < STALLED / 2, `${workers} io-wq workers with ${STALLED} stalled clients`);

  // The inactivity timeout closes the stalled connections (node's server.timeout: none by default).
  await until('the server closed every stalled connection', () => serverEnds(port) === 0, 60_000);
  // Read on: each gets what the kernel still held for it, then the end, short of the whole body.
  draining = true;
  for (const s of stalled) s.resume();
  await until('every stalled client saw its connection end', () => ended.every(Boolean), 30_000);
  for (const n of received) assert.ok(n < SIZE, `a stalled client got ${n} bytes of ${SIZE}`);
});
