// uring sockets under pressure: a server out of file descriptors (EMFILE)
// keeps its connections and accepts again once descriptors free up; a reader
// that stops reading holds its memory bounded while a peer pushes 64 MiB at
// it, then gets every byte; a receive pool of four buffers shared by 100
// sockets loses and reorders nothing; 10,000 writes queued at once arrive
// complete and in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import * as nodeNet from 'node:net';
import { createInterface } from 'node:readline';
import { listen, dial, configureRecvPool, type UringSocket } from '../../src/net/index.js';
import { recvPool } from '../../src/net/recv-pool.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { pattern, sha256, readExactly, drainUring, Reader, listening, closeServer, portOf } from './util.js';
import { quietFor, sleep, waitFor, within } from '../helpers/wait.js';

const netModule = new URL('../../src/net/index.js', import.meta.url).href;
const MiB = 1 << 20;

interface Child {
  proc: ChildProcess;
  /** The child's next line of stdout. */
  line(ms?: number): Promise<string>;
  /** Writes a line to the child's stdin. */
  send(line: string): void;
  stderr(): string;
  kill(): Promise<void>;
}

/**
 * Runs `body` as an ES module in a child node with `net` (uring/net)
 * imported; killed after 30 s at the latest. With `nofile`, its fd limit
 * (soft and hard) is that, through prlimit (which execs node: same pid).
 */
function child(body: string, nofile?: number): Child {
  const script = `import * as net from ${JSON.stringify(netModule)};\n${body}`;
  const argv = [process.execPath, '--input-type=module', '-e', script];
  if (nofile !== undefined) argv.unshift('prlimit', `--nofile=${nofile}:${nofile}`);
  const proc = spawn(argv[0]!, argv.slice(1), {
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout: 30_000,
    killSignal: 'SIGKILL',
  });
  let stderr = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  proc.stdin!.on('error', () => {});
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  createInterface({ input: proc.stdout! })
    .on('line', (l) => {
      lines.push(l);
      wake?.();
    })
    .on('close', () => {
      done = true;
      wake?.();
    });
  const exited = once(proc, 'close');
  return {
    proc,
    stderr: () => stderr,
    send: (l) => proc.stdin!.write(`${l}\n`),
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
    async line(ms = 5000) {
      const deadline = performance.now() + ms;
      while (lines.length === 0) {
        if (done) throw new Error(`the child ended without printing a line (stderr: ${stderr})`);
        if (performance.now() > deadline) throw new Error(`no line from the child after ${ms} ms (stderr: ${stderr})`);
        // A line or the end wakes this; the 50 ms only bounds how late the deadline is seen.
        await Promise.race([new Promise<void>((r) => (wake = r)), sleep(50)]);
      }
      return lines.shift()!;
    },
  };
}

/** Runs a program to its end (asynchronously: the event loop keeps serving). */
async function run(cmd: string, args: string[]): Promise<{ code: number | null; out: string }> {
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  p.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const [code] = (await once(p, 'close')) as [number | null];
  return { code, out };
}

async function hasPrlimit(): Promise<boolean> {
  try {
    return (await run('prlimit', ['--version'])).code === 0;
  } catch {
    return false;
  }
}

/** Resident memory of a process, in bytes. */
function rss(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

/** Writes `msg` on a client of an echo server: true if it comes back within `ms`, false if nothing does. */
async function echoes(reader: Reader, sock: nodeNet.Socket, msg: string, ms: number): Promise<boolean> {
  sock.write(msg);
  try {
    const got = await within(reader.take(msg.length), ms, `echo of ${JSON.stringify(msg)}`);
    assert.equal(got.toString(), msg);
    return true;
  } catch (err) {
    if (/not settled/.test((err as Error).message)) return false;
    throw err;
  }
}

// ------------------------------------------------------------ EMFILE

test(
  'EMFILE: a server out of descriptors keeps its connections echoing, and accepts again once some close',
  { timeout: 30_000 },
  async (t) => {
    if (!(await hasPrlimit())) {
      t.skip('prlimit (util-linux) is not installed: cannot lower a process fd limit');
      return;
    }
    // The child starts under a limit of 256 descriptors, then fills every free
    // one with /dev/null but ROOM: whatever node itself holds, only ROOM
    // connections fit. (The limit must hold from the start: a multishot accept
    // reads RLIMIT_NOFILE when it is armed, so prlimit --pid on a running
    // server would not be seen.)
    const ROOM = 8;
    const c = child(
      `
    import { openSync, closeSync } from 'node:fs';
    import { createInterface } from 'node:readline';
    const server = await net.listen({ host: '127.0.0.1', port: 0 });
    const live = new Set();
    let firstClosed;
    const firstClose = new Promise((r) => (firstClosed = r));
    (async () => {
      for await (const s of server) {
        live.add(s);
        (async () => {
          try { for await (const chunk of s) await s.write(chunk); } catch {}
          finally { live.delete(s); await s.close(); firstClosed(); }
        })();
      }
    })();
    createInterface({ input: process.stdin }).on('line', (l) => {
      if (l === 'stats') console.log(JSON.stringify({ ...server.stats, live: live.size }));
    });
    // An echo on a throwaway connection opens everything receiving needs.
    const warm = await net.dial({ host: '127.0.0.1', port: server.address().port });
    await warm.write('warm');
    for await (const chunk of warm) break;
    await warm.close();
    await firstClose; // the server's end of it too: its fd is free before the count
    const filler = [];
    for (;;) {
      try { filler.push(openSync('/dev/null', 'r')); }
      catch (e) { if (e.code === 'EMFILE') break; throw e; }
    }
    for (let i = 0; i < ${ROOM}; i++) closeSync(filler.pop());
    console.log(JSON.stringify({ port: server.address().port, filler: filler.length }));
  `,
      256,
    );
    const clients: { sock: nodeNet.Socket; reader: Reader }[] = [];
    t.after(async () => {
      for (const { sock } of clients) sock.destroy();
      blocked?.sock.destroy();
      await c.kill();
    });
    let blocked: { sock: nodeNet.Socket; reader: Reader } | undefined;
    const { port, filler } = JSON.parse(await c.line()) as { port: number; filler: number };
    assert.ok(filler > 100, `only ${filler} descriptors were free under a limit of 256`);
    const stats = async () => {
      c.send('stats');
      return JSON.parse(await c.line()) as { accepted: number; acceptErrors: number; live: number };
    };
    const before = await stats(); // the warm-up connection

    // Connect until one connection is not served: its handshake completes in
    // the kernel's backlog, but accept has no descriptor for it.
    for (let i = 0; i < ROOM + 20; i++) {
      const sock = nodeNet.connect(port, '127.0.0.1');
      sock.on('error', () => {});
      await once(sock, 'connect');
      const entry = { sock, reader: new Reader(sock) };
      if (await echoes(entry.reader, sock, `ping ${i}\n`, 400)) {
        clients.push(entry);
      } else {
        blocked = entry;
        break;
      }
    }
    assert.ok(blocked, `every one of ${clients.length} connections was served with ${ROOM} descriptors free`);
    assert.ok(clients.length >= ROOM - 3, `only ${clients.length} connections served with ${ROOM} descriptors free`);
    let s = await stats();
    t.diagnostic(`${clients.length} connections served, then accept failed ${s.acceptErrors} times`);
    assert.ok(s.acceptErrors > 0, `accept errors counted: ${JSON.stringify(s)}`);
    assert.equal(s.accepted - before.accepted, clients.length);
    assert.equal(s.live, clients.length);

    // Connections already accepted go on as before.
    for (const [i, { sock, reader }] of clients.entries()) {
      assert.ok(
        await echoes(reader, sock, `still there ${i}\n`, 2000),
        `connection ${i} stopped echoing while accept failed`,
      );
    }
    // The server keeps retrying (and failing) while nothing frees up.
    const s2 = await waitFor(
      async () => {
        const now = await stats();
        return now.acceptErrors > s.acceptErrors ? now : undefined;
      },
      { interval: 20, what: 'accept to be retried' },
    ).catch(() => stats());
    assert.ok(s2.acceptErrors > s.acceptErrors, `accept is retried: ${s.acceptErrors} -> ${s2.acceptErrors} errors`);

    // Free three descriptors: the waiting connection is accepted and gets its
    // echo (the ping it sent long ago), and a new connection is served too.
    for (const { sock } of clients.splice(0, 3)) sock.end();
    const got = await within(
      blocked.reader.take(`ping ${clients.length + 3}\n`.length),
      5000,
      'the waiting connection to be accepted',
    );
    assert.match(got.toString(), /^ping \d+\n$/);
    clients.push(blocked);
    assert.ok(await echoes(blocked.reader, blocked.sock, 'accepted at last\n', 2000));
    const sock = nodeNet.connect(port, '127.0.0.1');
    sock.on('error', () => {});
    await once(sock, 'connect');
    const fresh = { sock, reader: new Reader(sock) };
    clients.push(fresh);
    assert.ok(await echoes(fresh.reader, sock, 'new one\n', 3000), 'a new connection after descriptors freed up');
    s = await stats();
    assert.equal(s.live, clients.length);
    for (const [i, { sock, reader }] of clients.entries()) {
      assert.ok(await echoes(reader, sock, `end ${i}\n`, 2000), `connection ${i} after recovery`);
    }
  },
);

// ------------------------------------------------------------ a reader that stops reading

/**
 * A child server whose first connection is read at once (a warm-up: the
 * receive pool and slabs in memory), and whose second stops reading after
 * its first chunk until the test says 'resume'. Each connection's length and
 * sha256 are printed at its end.
 */
const slowReaders = {
  node: `
    import { createHash } from 'node:crypto';
    import { createInterface } from 'node:readline';
    let n = 0;
    const paused = [];
    const server = net.createServer((s) => {
      const slow = ++n === 2;
      const h = createHash('sha256');
      let length = 0;
      s.on('data', (c) => {
        h.update(c);
        length += c.length;
        if (slow && paused.length === 0) { s.pause(); paused.push(s); console.log('paused'); }
      });
      s.on('end', () => { console.log(JSON.stringify({ length, sha256: h.digest('hex') })); s.end(); });
    });
    server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
    createInterface({ input: process.stdin }).on('line', (l) => { if (l === 'resume') for (const s of paused) s.resume(); });
  `,
  // A node-shaped socket nobody touches (no 'data', no pause()) until
  // 'resume': it reads on its own (as node:net's), up to the high-water mark.
  unread: `
    import { createHash } from 'node:crypto';
    import { createInterface } from 'node:readline';
    let n = 0;
    const later = [];
    const consume = (s) => {
      const h = createHash('sha256');
      let length = 0;
      s.on('data', (c) => {
        h.update(c);
        length += c.length;
      });
      s.on('end', () => { console.log(JSON.stringify({ length, sha256: h.digest('hex') })); s.end(); });
    };
    const server = net.createServer((s) => {
      if (++n === 2) {
        later.push(s);
        console.log('paused');
      } else consume(s);
    });
    server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
    createInterface({ input: process.stdin }).on('line', (l) => { if (l === 'resume') for (const s of later) consume(s); });
  `,
  native: `
    import { createHash } from 'node:crypto';
    import { createInterface } from 'node:readline';
    let resume;
    const resumed = new Promise((r) => (resume = r));
    createInterface({ input: process.stdin }).on('line', (l) => { if (l === 'resume') resume(); });
    const server = await net.listen({ host: '127.0.0.1', port: 0 });
    console.log(JSON.stringify({ port: server.address().port }));
    let n = 0;
    for await (const s of server) {
      const slow = ++n === 2;
      (async () => {
        const h = createHash('sha256');
        let length = 0;
        const it = s[Symbol.asyncIterator]();
        if (slow) {
          const first = await it.next();
          h.update(first.value);
          length += first.value.length;
          console.log('paused');
          await resumed;
        }
        for (let r = await it.next(); !r.done; r = await it.next()) {
          h.update(r.value);
          length += r.value.length;
        }
        console.log(JSON.stringify({ length, sha256: h.digest('hex') }));
        await s.end();
        await s.close();
      })();
    }
  `,
};

for (const api of ['node', 'unread', 'native'] as const) {
  const how = {
    node: 'a paused node-shaped socket',
    unread: 'a node-shaped socket nobody reads',
    native: 'a native socket whose iterator is not consumed',
  }[api];
  test(
    `slow reader (${api}): 64 MiB pushed at ${how} keeps the server's memory bounded, then arrives byte-exact`,
    { timeout: 30_000 },
    async (t) => {
      const c = child(slowReaders[api]);
      const socks: nodeNet.Socket[] = [];
      t.after(async () => {
        for (const s of socks) s.destroy();
        await c.kill();
      });
      const pid = c.proc.pid!;
      const { port } = JSON.parse(await c.line()) as { port: number };
      // In 1 MiB writes: the sender's writableLength then tells, to 1 MiB, how much the kernel took.
      const send = (data: Buffer) => {
        const sock = nodeNet.connect(port, '127.0.0.1');
        sock.on('error', () => {});
        socks.push(sock);
        for (let off = 0; off < data.length; off += MiB) sock.write(data.subarray(off, off + MiB));
        sock.end();
        return sock;
      };

      const warm = pattern(32 * MiB, 7);
      send(warm);
      assert.deepEqual(
        JSON.parse(await c.line(10_000)),
        { length: warm.length, sha256: sha256(warm) },
        'the warm-up connection',
      );
      await sleep(100); // memory over time, not an event: the RSS after the warm-up settles a little
      const base = rss(pid);

      const data = pattern(64 * MiB, 11);
      const sock = send(data);
      assert.equal(await c.line(), 'paused');
      // Let the sender push all it can, watching the server's memory (timed on
      // purpose: the RSS is sampled over 2 s, there is no event to wait for).
      let peak = base;
      for (let i = 0; i < 20; i++) {
        await sleep(100);
        peak = Math.max(peak, rss(pid));
      }
      const stuck = sock.writableLength;
      const growth = peak - base;
      t.diagnostic(
        `rss ${(base / MiB).toFixed(1)} MiB -> peak ${(peak / MiB).toFixed(1)} MiB; ${((data.length - stuck) / MiB).toFixed(1)} MiB left the sender while paused`,
      );
      assert.ok(growth < 48 * MiB, `the server's RSS grew by ${(growth / MiB).toFixed(1)} MiB while not reading`);
      assert.ok(
        stuck > 16 * MiB,
        `flow control pushed back on the sender: only ${(stuck / MiB).toFixed(1)} MiB of 64 MiB still waiting there`,
      );

      c.send('resume');
      const got = JSON.parse(await c.line(20_000)) as { length: number; sha256: string };
      assert.equal(got.length, data.length);
      assert.equal(got.sha256, sha256(data), 'bytes differ');
    },
  );
}

test(
  'slow peer: a native socket writing 64 MiB to a peer that reads nothing for a second waits, then delivers it byte-exact',
  { timeout: 30_000 },
  async (t) => {
    let accepted!: (s: nodeNet.Socket) => void;
    const peer = new Promise<nodeNet.Socket>((resolve) => (accepted = resolve));
    const server = await listening(
      nodeNet.createServer({ pauseOnConnect: true }, (s) => accepted(s)),
      0,
      '127.0.0.1',
    );
    t.after(() => closeServer(server));
    const sock = await dial({ host: '127.0.0.1', port: portOf(server) });
    const remote = await within(peer, 5000, 'the connection');
    const data = pattern(64 * MiB, 12);
    let done = 0;
    const writes: Promise<void>[] = [];
    for (let off = 0; off < data.length; off += MiB)
      writes.push(sock.write(data.subarray(off, off + MiB)).then(() => void done++));
    const all = Promise.all(writes).then(() => sock.end());
    await quietFor(1000); // the peer reads nothing: most writes must not complete meanwhile
    const queued = sock.writableLength;
    t.diagnostic(
      `${done} of 64 writes done while the peer did not read; ${(queued / MiB).toFixed(1)} MiB still queued`,
    );
    assert.ok(done < 48, `${done} of 64 1 MiB writes completed against a peer that reads nothing`);
    assert.ok(queued > 16 * MiB, `only ${(queued / MiB).toFixed(1)} MiB left queued`);
    const got = new Reader(remote).rest();
    remote.resume();
    const received = await within(got, 20_000, 'the peer to receive everything');
    await within(all, 5000, 'the writes to resolve');
    assert.equal(done, 64);
    assert.equal(received.length, data.length);
    assert.ok(received.equals(data), 'bytes differ');
    remote.destroy();
    await sock.close();
  },
);

// ------------------------------------------------------------ receive pool exhausted

test(
  'a receive pool of 4 buffers shared by 50 connections (100 receiving sockets): nothing lost or reordered, ENOBUFS counted',
  { timeout: 30_000 },
  async (t) => {
    const rt = new Runtime();
    try {
      assert.equal(configureRecvPool(rt, { count: 4, size: 4096 }), true);
      const server = await listen({ host: '127.0.0.1', port: 0, runtime: rt });
      const port = (server.address() as { port: number }).port;
      const N = 50;
      const SIZE = 256 * 1024;
      // The server echoes each connection with the same runtime (so the same pool).
      const served = (async () => {
        const jobs: Promise<void>[] = [];
        for await (const s of server) {
          jobs.push(
            (async () => {
              for await (const chunk of s) await s.write(chunk);
              await s.end();
              await s.close();
            })(),
          );
          if (jobs.length === N) break;
        }
        await Promise.all(jobs);
      })();
      const clients = await Promise.all(
        Array.from({ length: N }, () => dial({ host: '127.0.0.1', port, runtime: rt })),
      );
      assert.equal(recvPool(rt).count, 4);
      const results = await within(
        Promise.all(
          clients.map(async (sock, i) => {
            const data = pattern(SIZE, 1000 + i);
            const [, echoed] = await Promise.all([sock.write(data).then(() => sock.end()), drainUring(sock)]);
            await sock.close();
            return echoed.equals(data)
              ? null
              : `connection ${i}: ${echoed.length} bytes back, ${sha256(echoed) === sha256(data) ? 'same' : 'different'} content`;
          }),
        ),
        25_000,
        'the echoes',
      );
      await within(served, 5000, 'the server jobs');
      await server.close();
      assert.deepEqual(
        results.filter((r) => r !== null),
        [],
      );
      const pool = recvPool(rt);
      t.diagnostic(`ENOBUFS ${pool.enobufs} times`);
      assert.ok(pool.enobufs > 0, `the pool never ran dry (enobufs ${pool.enobufs})`);
    } finally {
      await rt.close();
    }
  },
);

// ------------------------------------------------------------ many writes at once

test('10,000 small writes queued without awaiting arrive complete and in order, and each resolves in order', async (t) => {
  // (The writes may all complete before node:net even reports the connection.)
  let accepted!: (b: Promise<Buffer>) => void;
  const got = new Promise<Buffer>((resolve) => (accepted = (b) => resolve(b)));
  const server = await listening(
    nodeNet.createServer((s) => accepted(new Reader(s).rest())),
    0,
    '127.0.0.1',
  );
  t.after(() => closeServer(server));
  const sock: UringSocket = await dial({ host: '127.0.0.1', port: portOf(server) });
  const N = 10_000;
  const order: number[] = [];
  const writes: Promise<void>[] = [];
  let expected = '';
  for (let i = 0; i < N; i++) {
    const msg = `${i},`;
    expected += msg;
    writes.push(sock.write(msg).then(() => void order.push(i)));
  }
  assert.ok(sock.writableLength > 0, 'the writes were queued, not all sent at once');
  await within(Promise.all(writes), 10_000, 'the writes');
  assert.equal(sock.bytesWritten, expected.length);
  await sock.end();
  const received = (await within(got, 5000, 'the server to see the end')).toString();
  await sock.close();
  assert.equal(received.length, expected.length);
  assert.ok(received === expected, `bytes differ, first at ${[...received].findIndex((ch, i) => ch !== expected[i])}`);
  assert.deepEqual(
    order,
    Array.from({ length: N }, (_, i) => i),
    'the write promises resolved out of order',
  );
});

test('10,000 small writes from an accepted socket to a node:net client, with a read of each echo batch', async (t) => {
  const server = await listen({ host: '127.0.0.1', port: 0 });
  t.after(() => server.close());
  const client = nodeNet.connect((server.address() as { port: number }).port, '127.0.0.1');
  const reader = new Reader(client);
  const [sock] = await within(
    (async () => {
      for await (const s of server) return [s];
      throw new Error('no connection');
    })(),
    5000,
    'accept',
  );
  const N = 10_000;
  const msgs = Array.from({ length: N }, (_, i) => Buffer.from(`<${i}>`));
  const cbs: number[] = [];
  for (let i = 0; i < N; i++) sock!.writeCb(msgs[i]!, (err) => cbs.push(err ? -1 : i));
  const all = Buffer.concat(msgs);
  const got = await within(reader.take(all.length), 10_000, 'the client to receive every write');
  assert.ok(got.equals(all), 'bytes differ');
  await waitFor(() => cbs.length === N, { timeout: 2000, what: 'every write callback' });
  assert.deepEqual(
    cbs,
    Array.from({ length: N }, (_, i) => i),
  );
  // And the socket still reads afterwards.
  client.write('tail');
  assert.equal((await readExactly(sock!, 4)).toString(), 'tail');
  client.destroy();
  await sock!.close();
});
