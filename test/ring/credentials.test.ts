// Privileges follow the process (CVE-2024-22017's class). A default ring
// answers with the thread's credentials, so after a drop to nobody an open of
// a root-only file through it fails with EACCES, as node:fs does. A ring that
// keeps the credentials it was made with (SQPOLL, a registered personality)
// would go on as root, so while one is open — in any thread — process.setuid
// and its kin throw ERR_URING_PRIVILEGED_RING naming it and change nothing.
//
// Every drop happens in a child process (it cannot be undone); the tests need
// root to drop at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { tempDir } from '../helpers/tmp.js';

const notRoot =
  process.getuid?.() !== 0 ? 'needs root: these tests drop to nobody (uid 65534) in child processes' : false;
const ringModule = new URL('../../src/ring/index.js', import.meta.url).href;
const fsModule = new URL('../../src/fs/index.js', import.meta.url).href;
const runtimeModule = new URL('../../src/runtime/index.js', import.meta.url).href;
const nativeModule = new URL('../../src/native.js', import.meta.url).href;

const GUARDED: [string, unknown[]][] = [
  ['setuid', [65534]],
  ['setgid', [65534]],
  ['seteuid', [65534]],
  ['setegid', [65534]],
  ['setgroups', [[65534]]],
  ['initgroups', ['nobody', 65534]],
];

/** A directory anyone may enter, holding `secret` (root's, 0600). */
function secretDir() {
  const d = tempDir('uring-creds-');
  chmodSync(d.path, 0o755);
  const secret = d.write('secret', 'root only');
  chmodSync(secret, 0o600);
  return { d, secret };
}

/** Runs an ESM body in a child (ring, fs, runtime, native modules at hand); resolves with its JSON output. */
function child(body: string): Promise<Record<string, unknown>> {
  const script = [
    `const R = await import(${JSON.stringify(ringModule)});`,
    `const fs = await import(${JSON.stringify(fsModule)});`,
    `const RT = await import(${JSON.stringify(runtimeModule)});`,
    `const N = await import(${JSON.stringify(nativeModule)});`,
    `const GUARDED = ${JSON.stringify(GUARDED)};`,
    // Each guarded call: 'allowed', or [code, message].
    `const attempt = (name, args) => { try { process[name](...args); return 'allowed'; } catch (e) { return [e.code, e.message]; } };`,
    `const out = await (async () => { ${body} })();`,
    `process.stdout.write(JSON.stringify(out));`,
  ].join('\n');
  const env = { ...process.env };
  delete env.URING_DISABLE;
  delete env.URING_FALLBACK;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script],
      { env, timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`child failed: ${err.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as Record<string, unknown>);
      },
    );
  });
}

test(
  'default ring: after a drop to nobody, opens of a root-only file (0600) through the ring fail with EACCES, 1,000 of 1,000',
  { skip: notRoot, timeout: 60_000 },
  async (t) => {
    const { d, secret } = secretDir();
    t.after(() => d.remove());
    const r = await child(`
    const s = ${JSON.stringify(secret)};
    const out = { before: await fs.readFile(s, 'utf8') }; // the default ring, made as root
    process.setgroups([65534]);
    process.setgid(65534);
    process.setuid(65534);
    out.uid = process.getuid();
    out.readFile = await fs.readFile(s).then(() => 'read', (e) => e.code);
    let opened = 0;
    for (let i = 0; i < 1000; i++) await fs.open(s).then((h) => { opened++; return h.close(); }, () => {});
    out.opened = opened;
    out.node = await (await import('node:fs/promises')).readFile(s).then(() => 'read', (e) => e.code);
    return out;
  `);
    assert.deepEqual(r, { before: 'root only', uid: 65534, readFile: 'EACCES', opened: 0, node: 'EACCES' });
  },
);

test(
  'SQPOLL ring open: setuid, setgid, seteuid, setegid, setgroups and initgroups throw ERR_URING_PRIVILEGED_RING naming it and change nothing; after close() the drop works and a new SQPOLL ring gets EACCES',
  { skip: notRoot, timeout: 60_000 },
  async (t) => {
    const { d, secret } = secretDir();
    t.after(() => d.remove());
    const r = await child(`
    const ring = new R.Ring(8, { flags: R.IORING_SETUP_SQPOLL, sqThreadIdle: 10 });
    const out = { refused: {} };
    for (const [name, args] of GUARDED) {
      const a = attempt(name, args);
      out.refused[name] = a === 'allowed' ? a : [a[0], a[1].includes('ring fd ' + ring.fd + ' with SQPOLL (this thread)'), /close it first/i.test(a[1])];
    }
    out.unchanged = [process.getuid(), process.geteuid(), process.getgid(), process.getegid(), process.getgroups().includes(0)];
    ring.close();
    process.setgroups([65534]);
    process.setgid(65534);
    out.setuid = attempt('setuid', [65534]);
    out.uid = process.getuid();
    const rt = new RT.Runtime({ flags: R.IORING_SETUP_SQPOLL, ring: { sqThreadIdle: 10 } });
    RT.setRuntime(rt);
    out.sqpollAfterDrop = await fs.readFile(${JSON.stringify(secret)}).then(() => 'read', (e) => e.code);
    rt.close();
    return out;
  `);
    const refused = ['ERR_URING_PRIVILEGED_RING', true, true];
    assert.deepEqual(r, {
      refused: {
        setuid: refused,
        setgid: refused,
        seteuid: refused,
        setegid: refused,
        setgroups: refused,
        initgroups: refused,
      },
      unchanged: [0, 0, 0, 0, true],
      setuid: 'allowed',
      uid: 65534,
      sqpollAfterDrop: 'EACCES',
    });
  },
);

test(
  'a registered personality (IORING_REGISTER_PERSONALITY) refuses the drop until it is unregistered or its ring closed',
  { skip: notRoot, timeout: 60_000 },
  async () => {
    const r = await child(`
    const ring = new R.Ring(4);
    const id = ring.register(R.IORING_REGISTER_PERSONALITY, null, 0);
    const out = {};
    const a = attempt('seteuid', [65534]);
    out.registered = [a[0], a[1].includes('ring fd ' + ring.fd + ' with a registered personality')];
    ring.register(R.IORING_UNREGISTER_PERSONALITY, null, id);
    out.unregistered = attempt('seteuid', [65534]);
    process.seteuid(0);
    const other = new R.Ring(4);
    other.register(R.IORING_REGISTER_PERSONALITY, null, 0);
    out.second = attempt('setegid', [65534])[0];
    other.close();
    out.closed = attempt('setegid', [65534]);
    ring.close();
    return out;
  `);
    assert.deepEqual(r, {
      registered: ['ERR_URING_PRIVILEGED_RING', true],
      unregistered: 'allowed',
      second: 'ERR_URING_PRIVILEGED_RING',
      closed: 'allowed',
    });
  },
);

test(
  "process-wide: a worker's SQPOLL ring refuses the main thread's setuid until the worker closes it, or is terminated with it open",
  { skip: notRoot, timeout: 60_000 },
  async () => {
    const r = await child(`
    const { Worker } = await import('node:worker_threads');
    const { once } = await import('node:events');
    // ESM: the worker inherits the child's --input-type=module.
    const src = \`
      import { parentPort } from 'node:worker_threads';
      const R = await import(\${JSON.stringify(${JSON.stringify(ringModule)})});
      const ring = new R.Ring(4, { flags: R.IORING_SETUP_SQPOLL, sqThreadIdle: 10 });
      parentPort.on('message', () => { ring.close(); parentPort.postMessage('closed'); });
      parentPort.postMessage(ring.fd);
    \`;
    const out = {};
    const w1 = new Worker(src, { eval: true });
    const [fd1] = await once(w1, 'message');
    const a = attempt('setuid', [65534]);
    out.whileOpen = [a[0], a[1].includes('ring fd ' + fd1 + ' with SQPOLL (worker thread ' + w1.threadId + ')')];
    w1.postMessage('close');
    await once(w1, 'message');
    out.afterClose = attempt('seteuid', [65534]);
    process.seteuid(0);
    const w2 = new Worker(src, { eval: true });
    await once(w2, 'message');
    out.secondOpen = attempt('seteuid', [65534])[0];
    await w2.terminate(); // its environment's cleanup closes the ring; the table's entry goes stale
    out.afterTerminate = attempt('seteuid', [65534]);
    process.seteuid(0);
    await w1.terminate();
    return out;
  `);
    assert.deepEqual(r, {
      whileOpen: ['ERR_URING_PRIVILEGED_RING', true],
      afterClose: 'allowed',
      secondOpen: 'ERR_URING_PRIVILEGED_RING',
      afterTerminate: 'allowed',
    });
  },
);

test(
  "an SQPOLL ring made without uring's Ring (straight through the addon) is seen in /proc and refused too",
  { skip: notRoot, timeout: 60_000 },
  async () => {
    const r = await child(`
    const raw = N.native().setup(4, { flags: R.IORING_SETUP_SQPOLL, sqThreadIdle: 10 });
    const a = attempt('setuid', [65534]);
    const out = { open: [a[0], a[1].includes('ring fd ' + raw.fd + ' with SQPOLL (not made by uring')] };
    N.native().close(raw.handle);
    out.closed = attempt('seteuid', [65534]);
    return out;
  `);
    assert.deepEqual(r, { open: ['ERR_URING_PRIVILEGED_RING', true], closed: 'allowed' });
  },
);
