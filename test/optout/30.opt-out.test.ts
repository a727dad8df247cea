// The opt-out itself: URING_DISABLE in the environment and setUringDisabled()
// from code stop new Ring() (and so every runtime, probe and drop-in) before
// any io_uring system call; the error when io_uring is missing and neither the
// opt-out nor the fallback was asked for says how to get either.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { native, setNativeBinding, type NativeBinding } from '../../src/native.js';
import { setUringDisabled, uringDisabled } from '../../src/opt-out.js';
import { Ring } from '../../src/ring/index.js';
import { probe } from '../../src/probe.js';
import * as uring from '../../src/index.js';

const optOutModule = new URL('../../src/opt-out.js', import.meta.url).href;
const preload = new URL('../helpers/no-uring.js', import.meta.url).href;
const bin = fileURLToPath(new URL('../../../bin/uring.js', import.meta.url));

/** Runs `fn` with a binding whose every io_uring entry point records the call and fails. */
function withCountingBinding(fn: (calls: string[]) => void): void {
  const calls: string[] = [];
  const real = native();
  const fail = (name: string) => () => {
    calls.push(name);
    return -38;
  };
  const prev = setNativeBinding(
    Object.create(real, {
      setup: { value: fail('setup') },
      enter: { value: fail('enter') },
      register: { value: fail('register') },
    }) as NativeBinding,
  );
  try {
    fn(calls);
  } finally {
    setNativeBinding(prev);
  }
}

test('setUringDisabled(true): new Ring() and probe() refuse without calling io_uring_setup; false brings rings back', (t) => {
  t.after(() => setUringDisabled(false));
  setUringDisabled(true);
  assert.equal(uringDisabled(), true);
  withCountingBinding((calls) => {
    assert.throws(
      () => new Ring(4),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'ERR_URING_UNAVAILABLE');
        assert.match(err.message, /disabled by setUringDisabled\(true\)/);
        assert.match(err.message, /no io_uring system call/);
        return true;
      },
    );
    const r = probe();
    assert.equal(r.disabledBy, 'setUringDisabled(true)');
    assert.equal(r.ring.created, false);
    assert.deepEqual(r.setupFlags, []);
    assert.equal(r.usable, false);
    assert.match(r.verdict, /^io_uring is disabled by setUringDisabled\(true\)/);
    assert.deepEqual(calls, [], 'no io_uring entry point of the addon was reached');
  });
  setUringDisabled(false);
  const ring = new Ring(4);
  ring.getSqe()!.prepNop();
  assert.equal(ring.submitAndWait(1), 1);
  ring.close();
});

test('setUringDisabled and setNodeFallback are exported from uring, uring/fs, uring/fs/promises and uring/net; booleans only', async () => {
  const fs = await import('../../src/fs/index.js');
  const fsp = await import('../../src/fs/promises.js');
  const net = await import('../../src/net/index.js');
  for (const m of [uring, fs, fsp, net]) {
    assert.equal(m.setUringDisabled, setUringDisabled);
    assert.equal(typeof m.setNodeFallback, 'function');
  }
  assert.throws(() => setUringDisabled('yes' as unknown as boolean), {
    name: 'TypeError',
    code: 'ERR_INVALID_ARG_TYPE',
  });
  assert.throws(() => uring.setNodeFallback(1 as unknown as boolean), {
    name: 'TypeError',
    code: 'ERR_INVALID_ARG_TYPE',
  });
});

function child(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const e = { ...process.env };
  for (const k of ['URING_DISABLE', 'URING_FALLBACK', 'URING_TEST_FAKE', 'NODE_TEST_CONTEXT']) delete e[k];
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env: { ...e, ...env }, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

test('URING_DISABLE: any value but empty, 0 or false opts out; read at the first question, not at import', async () => {
  const cases: [string, boolean][] = [
    ['1', true],
    ['yes', true],
    ['TRUE', true],
    ['0', false],
    ['', false],
    ['false', false],
    ['False', false],
  ];
  for (const [value, disabled] of cases) {
    const r = await child(
      [
        '--input-type=module',
        '-e',
        `import { uringDisabled } from ${JSON.stringify(optOutModule)}; process.stdout.write(String(uringDisabled()));`,
      ],
      { URING_DISABLE: value },
    );
    assert.equal(r.stdout, String(disabled), `URING_DISABLE=${JSON.stringify(value)}`);
  }
  const late = await child(
    [
      '--input-type=module',
      '-e',
      `import { uringDisabled } from ${JSON.stringify(optOutModule)}; process.env.URING_DISABLE = '1'; process.stdout.write(String(uringDisabled()));`,
    ],
    {},
  );
  assert.equal(late.stdout, 'true', 'set in process.env after the import, before the first ring');
});

test('uring probe under URING_DISABLE=1 (io_uring_setup a SIGSYS trap): "disabled by URING_DISABLE=1", exit 1, JSON says so', async () => {
  const env = { URING_DISABLE: '1', URING_TEST_FAKE: 'trap', NODE_OPTIONS: `--import=${preload}` };
  const text = await child([bin, 'probe'], env);
  assert.equal(text.code, 1, text.stderr);
  assert.match(text.stdout, /disabled by\s+URING_DISABLE=1 \(no io_uring system call was made\)/);
  assert.match(text.stdout, /verdict\n\s+io_uring is disabled by URING_DISABLE=1/);
  const json = await child([bin, 'probe', '--json'], env);
  const r = JSON.parse(json.stdout) as {
    disabledBy: string;
    ring: { created: boolean; error: { code: string } };
    usable: boolean;
  };
  assert.deepEqual(
    [r.disabledBy, r.ring.created, r.ring.error.code, r.usable],
    ['URING_DISABLE=1', false, 'ERR_URING_UNAVAILABLE', false],
  );
});

test('io_uring refused and neither opted out nor fallen back: uring/fs, uring/net and the CLI fail with ERR_URING_UNAVAILABLE saying how to do either', async () => {
  const fsModule = new URL('../../src/fs/index.js', import.meta.url).href;
  const netModule = new URL('../../src/net/index.js', import.meta.url).href;
  const r = await child(
    [
      '--input-type=module',
      '-e',
      `
    const fs = await import(${JSON.stringify(fsModule)});
    const net = await import(${JSON.stringify(netModule)});
    const out = {};
    out.readFiles = await fs.readFiles(['/etc/hostname']).catch((e) => e);
    const s = fs.createReadStream('/etc/hostname');
    out.stream = await new Promise((r) => s.on('error', r).resume());
    const server = net.createServer();
    out.listen = await new Promise((r) => server.on('error', r).listen(0, '127.0.0.1'));
    const c = net.connect(9, '127.0.0.1');
    out.connect = await new Promise((r) => c.on('error', r));
    for (const k in out) out[k] = [out[k].code, out[k].message];
    process.stdout.write(JSON.stringify(out));
  `,
    ],
    { URING_TEST_FAKE: 'enosys', NODE_OPTIONS: `--import=${preload}` },
  );
  const out = JSON.parse(r.stdout || '{}') as Record<string, [string, string]>;
  assert.deepEqual(Object.keys(out), ['readFiles', 'stream', 'listen', 'connect'], r.stderr);
  for (const [what, [code, message]] of Object.entries(out)) {
    assert.equal(code, 'ERR_URING_UNAVAILABLE', what);
    assert.match(message, /ENOSYS/, what);
    assert.match(message, /URING_FALLBACK=node/, what);
    assert.match(message, /URING_DISABLE=1/, what);
  }
  const cp = await child([bin, 'cp', '/etc/hostname', '/dev/null'], {
    URING_TEST_FAKE: 'enosys',
    NODE_OPTIONS: `--import=${preload}`,
  });
  assert.equal(cp.code, 1);
  assert.match(cp.stderr, /io_uring is not available.*URING_FALLBACK=node.*URING_DISABLE=1/);
});
