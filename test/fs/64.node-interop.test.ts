// A uring FileHandle where node:fs expects its own (issue #12, from Node's
// own tests): node:fs streams over it, a worker transfer, closing on
// garbage collection with node's warnings, methods on another receiver,
// readFile's signal, and symlink's type checks. Each against node:fs/promises.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, createWriteStream, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as nodeFsp from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { attempt, differential, fixturePath, makeRoot, type ImplName, type Side } from './harness.js';
import { runChild } from '../helpers/proc.js';

type AnyHandle = any;

test('node:fs createReadStream/createWriteStream take the handle, readFile/writeFile of node:fs/promises too', async () => {
  await differential(
    async (side: Side) => {
      writeFileSync(side.path('in'), 'hello world');
      const rh: AnyHandle = await side.fs.open(side.path('in'), 'r');
      let closes = 0;
      rh.on('close', () => closes++);
      let text = '';
      const rs = createReadStream('', { fd: rh }).on('data', (d) => (text += d));
      await finished(rs);
      await new Promise(setImmediate);
      const wh: AnyHandle = await side.fs.open(side.path('out'), 'w');
      const ws = createWriteStream('', { fd: wh });
      ws.write('abc');
      ws.end('def');
      await finished(ws);
      // Closing the handle while node's stream is open stops the stream, no error.
      const ch: AnyHandle = await side.fs.open(side.path('in'), 'r');
      const cs = createReadStream('', { fd: ch });
      let errored = false;
      cs.on('error', () => (errored = true)).on('data', () => {});
      const csClosed = new Promise<void>((r) => cs.once('close', () => r()));
      await ch.close();
      await csClosed;
      const fh: AnyHandle = await side.fs.open(side.path('in'), 'r');
      const viaNode = await nodeFsp.readFile(fh, 'utf8');
      await fh.close();
      return { text, closes, rfd: rh.fd, wfd: wh.fd, out: readFileSync(side.path('out'), 'utf8'), errored, viaNode };
    },
    { compareTree: true },
  );
});

test("methods on another receiver reject as node's; close works detached", async () => {
  await differential(async (side: Side) => {
    writeFileSync(side.path('f'), 'x');
    const fh: AnyHandle = await side.fs.open(side.path('f'), 'r');
    const out: Record<string, unknown> = {};
    for (const m of ['stat', 'read', 'write', 'readFile', 'writeFile', 'truncate', 'sync', 'chmod', 'readv']) {
      const r = await attempt(() => fh[m].call({}));
      out[m] = 'error' in r ? { code: (r.error as { code?: string }).code, syncThrow: false } : r;
    }
    const { close } = fh;
    out.detachedClose = await attempt(() => close());
    out.fdAfter = fh.fd;
    return out;
  });
});

test('readFile({ signal }): the signal is only read, and an abort on the next tick or immediate stops it', async () => {
  await differential(
    async (side: Side) => {
      writeFileSync(side.path('f'), 'Dogs running'.repeat(10000));
      const fh: AnyHandle = await side.fs.open(side.path('f'), 'r+');
      const out: Record<string, unknown> = {};
      try {
        // A signal behind a proxy that refuses changes (as node's tests give it): listening to it would throw.
        const frozen = (s: AbortSignal) =>
          new Proxy(s, {
            get: (t, k) => {
              const v = Reflect.get(t, k, t);
              return typeof v === 'function'
                ? () => {
                    throw new Error(`called ${String(k)}`);
                  }
                : v;
            },
          });
        for (const when of ['tick', 'immediate'] as const) {
          const ac = new AbortController();
          if (when === 'tick') process.nextTick(() => ac.abort());
          else setImmediate(() => ac.abort());
          const r = await attempt(() => fh.readFile({ signal: frozen(ac.signal) }));
          out[when] = 'error' in r ? (r.error as Error).name : 'resolved';
        }
        const big = Buffer.alloc(6 * 1024 * 1024, 'a');
        const ac = new AbortController();
        process.nextTick(() => ac.abort());
        const w = await attempt(() => fh.appendFile(big, { signal: ac.signal }));
        out.append = 'error' in w ? (w.error as Error).name : 'resolved';
      } finally {
        await fh.close();
      }
      return out;
    },
    { compareTree: false },
  );
});

test("symlink's type is checked as the running node checks it", async () => {
  await differential(async (side: Side) => {
    const out: Record<string, unknown> = {};
    for (const t of ['bad', '', false, 1, {}, null, 'dir']) {
      out[JSON.stringify(t) ?? 'undefined'] = await attempt(() =>
        side.fs.symlink('target', side.path(`l${Object.keys(out).length}`), t as never),
      );
    }
    return out;
  });
});

async function life(mode: 'gc' | 'worker', impl: ImplName, file: string): Promise<unknown> {
  const flags = mode === 'gc' ? ['--expose-gc'] : [];
  const r = await runChild(process.execPath, [...flags, fixturePath('handle-life'), mode, impl, file]);
  if (r.code !== 0 || r.signal)
    throw new Error(`handle-life ${mode} (${impl}) exited with ${r.code ?? r.signal}:\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

test("a handle collected unclosed is closed, with node's warnings", async () => {
  const root = makeRoot('life');
  try {
    writeFileSync(`${root}/f`, 'x');
    type Gc = { closed: boolean[]; warnings: unknown[]; fds: number[] };
    const node = (await life('gc', 'node', `${root}/f`)) as Gc;
    const uring = (await life('gc', 'uring', `${root}/f`)) as Gc;
    // The fd numbers differ (uring's runtime holds a ring fd): compare the rest.
    const shape = (o: Gc) => ({
      closed: o.closed,
      warnings: JSON.parse(JSON.stringify(o.warnings).replace(/descriptor \d+/g, 'descriptor N')),
    });
    assert.deepStrictEqual(shape(uring), shape(node));
    assert.deepStrictEqual(node.closed, [true, true]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a handle crosses to a worker in transferList, not while a stream holds it', async () => {
  const root = makeRoot('life');
  try {
    writeFileSync(`${root}/f`, 'hello worker');
    const node = await life('worker', 'node', `${root}/f`);
    const uring = await life('worker', 'uring', `${root}/f`);
    assert.deepStrictEqual(uring, node);
    assert.equal((node as { read: { text: string } }).read.text, 'hello worker');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
