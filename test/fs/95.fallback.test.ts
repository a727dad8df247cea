// uring/fs/promises where io_uring cannot be had: by default every ring-backed
// function rejects with ERR_URING_UNAVAILABLE; with URING_FALLBACK=node (or
// setNodeFallback(true)) each goes to node:fs/promises instead, with node's
// results. Each case runs in a child process whose native binding refuses
// io_uring_setup with ENOSYS, as an old kernel or a seccomp profile does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { tempDir } from '../helpers/tmp.js';

const promisesModule = new URL('../../src/fs/promises.js', import.meta.url).href;
const nativeModule = new URL('../../src/native.js', import.meta.url).href;
const fileHandleModule = new URL('../../src/fs/file-handle.js', import.meta.url).href;

/** Runs `body` in a child (ESM; `fsp` is uring/fs/promises), io_uring refused when `refuse`; resolves with its JSON output. */
function child(
  body: string,
  opts: { refuse: boolean; trap?: boolean; env?: Record<string, string> },
): Promise<unknown> {
  const script = [
    `import { native, setNativeBinding } from ${JSON.stringify(nativeModule)};`,
    opts.refuse
      ? `{ const real = native(); setNativeBinding(Object.create(real, { setup: { value: () => -38 } })); }`
      : '',
    // As a seccomp profile that kills on io_uring_setup.
    opts.trap
      ? `{ const real = native(); setNativeBinding(Object.create(real, { setup: { value: () => process.kill(process.pid, 'SIGSYS') } })); }`
      : '',
    `const fsp = (await import(${JSON.stringify(promisesModule)})).default;`,
    `const { setNodeFallback } = await import(${JSON.stringify(promisesModule)});`,
    `const { FileHandle: UringFileHandle } = await import(${JSON.stringify(fileHandleModule)});`,
    `const out = await (async () => { ${body} })();`,
    `process.stdout.write(JSON.stringify(out));`,
  ].join('\n');
  const env = { ...process.env, ...opts.env };
  delete (env as Record<string, string | undefined>).URING_FALLBACK;
  delete (env as Record<string, string | undefined>).URING_DISABLE;
  Object.assign(env, opts.env);
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script],
      { env, timeout: 15_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`child failed: ${err.message}\n${stderr}`));
        else resolve(JSON.parse(stdout));
      },
    );
  });
}

/** The same calls, whatever answers them: writes, reads, stats, a handle, an error. */
function scenario(dir: string): string {
  return `
    const d = ${JSON.stringify(dir)};
    const r = {};
    await fsp.mkdir(d + '/a/b', { recursive: true });
    await fsp.writeFile(d + '/a/b/f.txt', 'hello');
    await fsp.appendFile(d + '/a/b/f.txt', ' world');
    r.text = await fsp.readFile(d + '/a/b/f.txt', 'utf8');
    r.size = (await fsp.stat(d + '/a/b/f.txt')).size;
    await fsp.copyFile(d + '/a/b/f.txt', d + '/copy.txt');
    await fsp.rename(d + '/copy.txt', d + '/moved.txt');
    r.moved = await fsp.readFile(d + '/moved.txt', 'utf8');
    const fh = await fsp.open(d + '/moved.txt', 'r');
    r.ringHandle = fh instanceof UringFileHandle;
    const b = Buffer.alloc(5);
    r.bytesRead = (await fh.read(b, 0, 5, 6)).bytesRead;
    r.read = b.toString();
    await fh.close();
    await fsp.unlink(d + '/moved.txt');
    r.missing = await fsp.readFile(d + '/nope').catch((e) => [e.code, e.syscall]);
    r.listing = await fsp.readdir(d);
    return r;
  `;
}

const expected = {
  text: 'hello world',
  size: 11,
  moved: 'hello world',
  bytesRead: 5,
  read: 'world',
  missing: ['ENOENT', 'open'],
  listing: ['a'],
};

test('io_uring refused, no fallback asked for: ring-backed calls reject with ERR_URING_UNAVAILABLE; delegated ones still work', async (t) => {
  const d = tempDir();
  t.after(() => d.remove());
  const r = await child(
    `
    const e = await fsp.readFile(${JSON.stringify(d.path)} + '/x').catch((e) => e);
    return { code: e.code, mentions: /io_uring/.test(e.message), readdir: await fsp.readdir(${JSON.stringify(d.path)}) };
  `,
    { refuse: true },
  );
  assert.deepEqual(r, { code: 'ERR_URING_UNAVAILABLE', mentions: true, readdir: [] });
});

test('io_uring refused, URING_FALLBACK=node: every call answered by node:fs/promises, node FileHandles', async (t) => {
  const d = tempDir();
  t.after(() => d.remove());
  const r = await child(scenario(d.path), { refuse: true, env: { URING_FALLBACK: 'node' } });
  assert.deepEqual(r, { ...expected, ringHandle: false });
});

test("io_uring refused, setNodeFallback(true) from code: the same; bad arguments still reject as node's", async (t) => {
  const d = tempDir();
  t.after(() => d.remove());
  const r = (await child(
    `
    setNodeFallback(true);
    const out = await (async () => { ${scenario(d.path)} })();
    out.badArg = await fsp.readFile(123n).catch((e) => e.code);
    return out;
  `,
    { refuse: true },
  )) as Record<string, unknown>;
  assert.deepEqual(r, { ...expected, ringHandle: false, badArg: 'ERR_INVALID_ARG_TYPE' });
});

test('URING_DISABLE=1, io_uring_setup a SIGSYS trap: every call answered by node:fs/promises without ever asking for a ring', async (t) => {
  const d = tempDir();
  t.after(() => d.remove());
  const r = await child(scenario(d.path), { refuse: false, trap: true, env: { URING_DISABLE: '1' } });
  assert.deepEqual(r, { ...expected, ringHandle: false });
});

test('io_uring available, URING_FALLBACK=node: calls still go through the ring (the fallback only covers its absence)', async (t) => {
  const d = tempDir();
  t.after(() => d.remove());
  const r = await child(scenario(d.path), { refuse: false, env: { URING_FALLBACK: 'node' } });
  assert.deepEqual(r, { ...expected, ringHandle: true });
});

test('setNodeFallback takes a boolean only', async () => {
  const r = await child(`try { setNodeFallback('yes'); return 'no throw'; } catch (e) { return e.name; }`, {
    refuse: false,
  });
  assert.equal(r, 'TypeError');
});
