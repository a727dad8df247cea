// An abort at every moment of an op: for files (readFile, writeFile, a
// FileHandle's readFile/writeFile/readMany/writeMany, read and write at a
// position, both streams) and sockets (connect, a node:net-style client
// writing), the signal fires 0, 1, 2, ... steps after the op starts, a
// step being a microtask or an event-loop turn in turn. Each op either
// succeeds or rejects with a node-shaped AbortError (name AbortError, code
// ABORT_ERR, cause the signal's reason); what did happen is whole — a file
// written holds a prefix of the data (or every piece whole, at positions),
// a socket's peer got a prefix of what was sent, never a byte twice — and
// afterwards no descriptor is left open and the runtime goes on.
// test/runtime/abort-bytes.test.ts does the same for reads of pipes and
// sockets, byte by byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as nodeCreateServer, type AddressInfo } from 'node:net';
import { getRuntime, nop, read, write } from '../../src/index.js';
import { createReadStream, createWriteStream, open, readFile, writeFile } from '../../src/fs/index.js';
import { connect, dial } from '../../src/net/index.js';
import { fdCount, fdList } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';
import { turn, waitFor, within } from '../helpers/wait.js';

/** The most steps an abort waits: past the end of every op here on a quiet machine. */
const STEPS = 48;
const MiB = 1 << 20;

/** Bytes i*7+seed & 255: a byte out of place or twice shows. */
function pattern(n: number, seed = 0): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 255;
  return b;
}

/** Waits `k` steps: a microtask, then an event-loop turn, and so on. */
async function steps(k: number): Promise<void> {
  for (let i = 0; i < k; i++) {
    if (i % 2 === 0) await Promise.resolve();
    else await turn();
  }
}

type Outcome = { ok: true; value: unknown } | { ok: false; err: Error & { code?: string; cause?: unknown } };

function outcome(p: Promise<unknown>): Promise<Outcome> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (err: Error) => ({ ok: false as const, err }),
  );
}

function assertAbortError(err: Error & { code?: string; cause?: unknown }, reason: unknown, what: string): void {
  assert.equal(err.name, 'AbortError', `${what}: ${err.stack}`);
  assert.equal(err.code, 'ABORT_ERR', what);
  assert.equal(err.cause, reason, `${what}: the cause is the signal's reason`);
}

/**
 * Runs `op` STEPS+1 times, aborting after 0..STEPS steps; `check` looks at
 * each outcome. Returns how many succeeded and how many were aborted: both
 * must happen, or the moments did not cover the op.
 */
async function everyMoment(
  what: string,
  op: (signal: AbortSignal, k: number) => Promise<unknown>,
  check: (r: Outcome, k: number) => void | Promise<void>,
): Promise<{ ok: number; aborted: number }> {
  let ok = 0;
  let aborted = 0;
  for (let k = 0; k <= STEPS; k++) {
    const ac = new AbortController();
    const reason = new Error(`abort after ${k} steps`);
    const r = outcome(op(ac.signal, k));
    await steps(k);
    ac.abort(reason);
    const got = await within(r, 20_000, `${what}, aborted after ${k} steps`);
    if (got.ok) ok++;
    else {
      assertAbortError(got.err, reason, `${what}, aborted after ${k} steps`);
      aborted++;
    }
    await check(got, k);
  }
  assert.ok(aborted > 0, `${what}: never aborted`);
  return { ok, aborted };
}

function isPrefix(got: Buffer, of: Buffer, what: string): void {
  assert.ok(got.length <= of.length, `${what}: ${got.length} bytes, more than the ${of.length} given`);
  assert.ok(got.equals(of.subarray(0, got.length)), `${what}: not a prefix of the data`);
}

test('files: an abort at every moment leaves whole results and no descriptor open', { timeout: 120_000 }, async (t) => {
  const d = tempDir('uring-abort-moments-');
  t.after(() => d.remove());
  const data = pattern(2 * MiB, 1);
  const src = d.write('src', data);
  const dst = d.file('dst');
  // What the first use makes once (the thread's ring, node's FileHandle class) is not counted.
  await (await open(src, 'r')).close();
  const before = fdCount();
  const report: string[] = [];
  const note = (what: string, n: { ok: number; aborted: number }) => report.push(`${what} ${n.ok}/${n.aborted}`);

  note(
    'readFile',
    await everyMoment(
      'readFile',
      (signal) => readFile(src, { signal }),
      (r) => {
        if (r.ok) assert.ok(data.equals(r.value as Buffer));
      },
    ),
  );
  note(
    'writeFile',
    await everyMoment(
      'writeFile',
      (signal, k) => {
        writeFileSync(dst, ''); // what an abort before the open leaves
        return writeFile(dst, pattern(MiB, k), { signal });
      },
      (r, k) => {
        const got = readFileSync(dst);
        if (r.ok) assert.ok(got.equals(pattern(MiB, k)));
        else isPrefix(got, pattern(MiB, k), `writeFile aborted after ${k}`);
      },
    ),
  );
  const h = await open(src, 'r');
  note(
    'handle.readFile',
    await everyMoment(
      'FileHandle.readFile',
      // A handle of its own each time: readFile reads from the current position.
      async (signal) => {
        const own = await open(src, 'r');
        try {
          return await own.readFile({ signal });
        } finally {
          await own.close();
        }
      },
      (r) => {
        if (r.ok) assert.ok(data.equals(r.value as Buffer));
      },
    ),
  );
  note(
    'handle.readMany',
    await everyMoment(
      'FileHandle.readMany',
      (signal) => {
        const bufs = Array.from({ length: 16 }, () => Buffer.alloc(64 << 10));
        return h
          .readMany(
            bufs,
            bufs.map((_, i) => i * (64 << 10)),
            { signal },
          )
          .then(() => bufs);
      },
      (r) => {
        if (r.ok) assert.ok(Buffer.concat(r.value as Buffer[]).equals(data.subarray(0, MiB)));
      },
    ),
  );
  await h.close();
  const w = await open(dst, 'w+');
  note(
    'handle.writeMany',
    await everyMoment(
      'FileHandle.writeMany',
      async (signal, k) => {
        await w.truncate(0);
        await w.truncate(MiB);
        const piece = 64 << 10;
        const bufs = Array.from({ length: 16 }, (_, i) => pattern(piece, k + i + 1));
        return w.writeMany(
          bufs,
          bufs.map((_, i) => i * piece),
          { signal },
        );
      },
      async (r, k) => {
        // writeMany rejects at once when aborted (its documented contract),
        // while writes the kernel has started still run: wait for them.
        await waitFor(() => getRuntime().inflight === 0, { what: 'the batch to leave the kernel' });
        // Each piece at its offset: whole, or (aborted) not written at all.
        const got = readFileSync(dst);
        const piece = 64 << 10;
        for (let i = 0; i < 16; i++) {
          const at = got.subarray(i * piece, (i + 1) * piece);
          const whole = at.equals(pattern(piece, k + i + 1));
          if (r.ok) assert.ok(whole, `writeMany piece ${i}`);
          else assert.ok(whole || at.every((b) => b === 0), `writeMany aborted after ${k}: piece ${i} torn`);
        }
      },
    ),
  );
  note(
    'handle.writeFile',
    await everyMoment(
      'FileHandle.writeFile',
      // A handle of its own each time: writeFile writes at the current position.
      async (signal, k) => {
        const own = await open(dst, 'w');
        try {
          return await own.writeFile(pattern(MiB, k), { signal });
        } finally {
          await own.close();
        }
      },
      (r, k) => {
        const got = readFileSync(dst);
        if (r.ok) assert.ok(got.equals(pattern(MiB, k)));
        else isPrefix(got, pattern(MiB, k), `FileHandle.writeFile aborted after ${k}`);
      },
    ),
  );
  await w.close();
  const fd = openSync(dst, 'w+');
  note(
    'write',
    await everyMoment(
      'write at a position',
      (signal, k) => write(fd, pattern(MiB, k), { signal, position: 0 }),
      (r, k) => {
        const got = readFileSync(dst).subarray(0, MiB);
        if (r.ok) assert.equal(r.value, MiB);
        if (r.ok) assert.ok(got.equals(pattern(MiB, k)));
      },
    ),
  );
  writeFileSync(dst, data);
  note(
    'read',
    await everyMoment(
      'read at a position',
      async (signal) => {
        const buf = Buffer.alloc(MiB);
        const n = await read(fd, buf, { signal, position: MiB });
        return buf.subarray(0, n);
      },
      (r) => {
        if (r.ok) assert.ok((r.value as Buffer).equals(data.subarray(MiB, 2 * MiB)));
      },
    ),
  );
  closeSync(fd);
  note(
    'ReadStream',
    await everyMoment(
      'ReadStream',
      (signal) =>
        new Promise((resolve, reject) => {
          const chunks: Buffer[] = [];
          const s = createReadStream(src, { signal, highWaterMark: 64 << 10 });
          s.on('data', (c: Buffer) => chunks.push(c));
          s.on('end', () => resolve(Buffer.concat(chunks)));
          s.on('error', (e) => {
            isPrefix(Buffer.concat(chunks), data, 'a ReadStream aborted');
            // Its descriptor is closed by 'close'.
            s.on('close', () => reject(e));
          });
        }),
      (r) => {
        if (r.ok) assert.ok(data.equals(r.value as Buffer));
      },
    ),
  );
  note(
    'WriteStream',
    await everyMoment(
      'WriteStream',
      (signal, k) =>
        new Promise((resolve, reject) => {
          writeFileSync(dst, ''); // what an abort before the open leaves
          const s = createWriteStream(dst, { signal });
          const all = pattern(MiB, k);
          for (let i = 0; i < 16; i++) s.write(all.subarray(i * (64 << 10), (i + 1) * (64 << 10)));
          s.end();
          let failed: Error | undefined;
          s.on('error', (e) => (failed = e));
          // Its descriptor is closed by 'close'.
          s.on('close', () => (failed ? reject(failed) : resolve(undefined)));
        }),
      (r, k) => {
        const got = readFileSync(dst);
        if (r.ok) assert.ok(got.equals(pattern(MiB, k)));
        else isPrefix(got, pattern(MiB, k), `a WriteStream aborted after ${k}`);
      },
    ),
  );
  t.diagnostic(`succeeded/aborted: ${report.join(', ')}`);
  await waitFor(() => fdCount() <= before, { what: () => `fds back to ${before}: ${fdList().join(', ')}` });
  assert.equal(await nop(), 0, 'the runtime still works');
});

test(
  'sockets: connects and a writing client aborted at every moment; the peer gets a prefix',
  { timeout: 120_000 },
  async (t) => {
    // The peer is node's own, so that only the client side is under test.
    // What each connection brought, by the client's port, once it closed.
    const peers = new Map<number, { resolve: (b: Buffer) => void; done: Promise<Buffer> }>();
    const peer = (port: number) => {
      let p = peers.get(port);
      if (!p) {
        let resolve!: (b: Buffer) => void;
        const done = new Promise<Buffer>((r) => (resolve = r));
        peers.set(port, (p = { resolve, done }));
      }
      return p;
    };
    const server = nodeCreateServer((s) => {
      const chunks: Buffer[] = [];
      const from = s.remotePort!;
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('error', () => {});
      s.on('close', () => peer(from).resolve(Buffer.concat(chunks)));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.after(() => server.close());
    const port = (server.address() as AddressInfo).port;
    const before = fdCount();

    const c = await everyMoment(
      'dial',
      (signal) => dial({ port, host: '127.0.0.1', signal }),
      async (r) => {
        if (r.ok) await (r.value as { close(): Promise<void> }).close();
      },
    );
    const data = pattern(4 * MiB, 3);
    // Per round: the client's port once connected (-1: it never was, and sent nothing).
    const local: number[] = [];
    const w = await everyMoment(
      'a node:net-style client writing',
      (signal, k) =>
        new Promise((resolve, reject) => {
          local[k] = -1;
          const s = connect({ port, host: '127.0.0.1', signal } as { port: number; host: string });
          s.on('connect', () => (local[k] = s.localPort!));
          for (let i = 0; i < 64; i++) s.write(data.subarray(i * (64 << 10), (i + 1) * (64 << 10)));
          s.end();
          s.on('error', (e) => s.on('close', () => reject(e)));
          s.on('close', (hadError: boolean) => {
            if (!hadError) resolve(undefined);
          });
        }),
      async (r, k) => {
        if (local[k] === -1) {
          assert.equal(r.ok, false, `round ${k}: succeeded without connecting`);
          return;
        }
        const got = await within(peer(local[k]!).done, 20_000, `round ${k}: the peer's close`);
        if (r.ok) assert.ok(got.equals(data), `round ${k}: ${got.length} of ${data.length} bytes`);
        else isPrefix(got, data, `a client aborted after ${k} steps`);
      },
    );
    t.diagnostic(`dial ${c.ok}/${c.aborted}, writing client ${w.ok}/${w.aborted} (succeeded/aborted)`);
    await waitFor(() => fdCount() <= before, { what: () => `fds back to ${before}: ${fdList().join(', ')}` });
    assert.equal(await nop(), 0, 'the runtime still works');
  },
);
