// The drop-in tests run again in child processes where the drop-ins must be
// node's own: 10.dropins (uring/fs, uring/net), and the CLI's cp and serve
// tests (which run bin/uring.js, so the CLI is covered as users run it).
//
// - URING_DISABLE=1 (the opt-out) in a process whose io_uring_setup kills it
//   with SIGSYS, as a seccomp profile with a kill action does: the files pass
//   only if nothing ever asks for a ring. And, where strace is installed, the
//   same runs with the real addon under strace: not one io_uring_* call.
// - URING_FALLBACK=node where io_uring_setup is refused (ENOSYS, EPERM).
//
// The fake binding is preloaded through NODE_OPTIONS, so the CLI processes
// the tests start get it too (test/helpers/no-uring.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/tmp.js';

const here = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));
const DROPINS = here('./10.dropins.test.js');
const CLI = [here('../cli/cp.test.js'), here('../cli/serve.test.js')];
const preload = new URL('../helpers/no-uring.js', import.meta.url).href;
const bin = here('../../../bin/uring.js');

/** The environment of a clean child: none of the parent's uring or test-runner settings. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  // NODE_TEST_CONTEXT would make the nested `node --test` report to this runner instead of printing TAP.
  for (const k of ['URING_DISABLE', 'URING_FALLBACK', 'URING_TEST_FAKE', 'URING_TEST_EXPECT', 'NODE_TEST_CONTEXT']) delete env[k];
  return { ...env, ...extra };
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; signal: string | null; out: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: 240_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: unknown; signal?: string | null }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, out: stdout + stderr });
    });
  });
}

/** Runs test files under `node --test` with the fake binding; asserts every test passed and the trap never fired. */
async function runTests(files: string[], env: Record<string, string>): Promise<void> {
  const r = await run(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=tap', ...files], cleanEnv({
    ...env,
    URING_TEST_EXPECT: 'node',
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${preload}`.trim(),
  }));
  assert.doesNotMatch(r.out, /no-uring: io_uring_\w+ was called/, 'io_uring was touched');
  const pass = /^# pass (\d+)$/m.exec(r.out);
  const fail = /^# fail (\d+)$/m.exec(r.out);
  assert.ok(pass && fail, r.out.slice(-3000));
  assert.equal(Number(fail[1]), 0, r.out.slice(-6000));
  assert.ok(Number(pass[1]) >= files.length * 5, `only ${pass[1]} tests ran`);
  assert.equal(r.code, 0, r.out.slice(-3000));
}

test('opt-out URING_DISABLE=1, io_uring_setup a SIGSYS trap: the uring/fs, uring/net, uring cp and uring serve tests pass on node\'s own modules', { timeout: 300_000 }, async () => {
  await runTests([DROPINS, ...CLI], { URING_DISABLE: '1', URING_TEST_FAKE: 'trap' });
});

test('URING_FALLBACK=node, io_uring_setup refused with ENOSYS: the same tests pass on node\'s own modules', { timeout: 300_000 }, async () => {
  await runTests([DROPINS, ...CLI], { URING_FALLBACK: 'node', URING_TEST_FAKE: 'enosys' });
});

test('URING_FALLBACK=node, io_uring_setup refused with EPERM (a seccomp profile): the uring/fs and uring/net tests pass on node\'s own', { timeout: 120_000 }, async () => {
  await runTests([DROPINS], { URING_FALLBACK: 'node', URING_TEST_FAKE: 'eperm' });
});

test('the trap works: without the opt-out, the same file dies of SIGSYS at its first ring', { timeout: 60_000 }, async () => {
  const r = await run(process.execPath, ['--test', '--test-reporter=tap', DROPINS], cleanEnv({
    URING_TEST_FAKE: 'trap', NODE_OPTIONS: `--import=${preload}`,
  }));
  assert.match(r.out, /no-uring: io_uring_setup was called/);
  assert.match(r.out, /SIGSYS/);
  assert.notEqual(r.code, 0);
});

let strace: string | undefined;
try {
  strace = execFileSync('sh', ['-c', 'command -v strace'], { encoding: 'utf8' }).trim() || undefined;
} catch {
  strace = undefined;
}
const noStrace = strace === undefined ? 'strace is not installed (apt-get install strace): the SIGSYS trap above is the proof' : false;

/** The io_uring_* system calls of `args` (run with node) and its children, as strace saw them. */
async function ioUringCalls(args: string[], env: NodeJS.ProcessEnv): Promise<{ calls: string[]; out: string; code: number | null }> {
  const d = tempDir('uring-strace-');
  try {
    const log = d.file('trace');
    const r = await run(strace!, [
      '--seccomp-bpf', '-f', '-qq', '-o', log, '-e', 'trace=io_uring_setup,io_uring_enter,io_uring_register', process.execPath, ...args,
    ], env);
    const calls = readFileSync(log, 'utf8').split('\n').filter((l) => /io_uring_\w+\(/.test(l));
    return { calls, out: r.out, code: r.code };
  } finally {
    d.remove();
  }
}

test('strace: under URING_DISABLE=1 the drop-in and CLI tests (real addon) make no io_uring system call at all', { skip: noStrace, timeout: 300_000 }, async () => {
  const env = cleanEnv({ URING_DISABLE: '1', URING_TEST_EXPECT: 'node' });
  const r = await ioUringCalls(['--test', '--test-concurrency=1', '--test-reporter=tap', DROPINS, CLI[0]!], env);
  assert.match(r.out, /^# fail 0$/m, r.out.slice(-3000));
  assert.deepEqual(r.calls, []);
  const probe = await ioUringCalls([bin, 'probe'], env);
  assert.match(probe.out, /disabled by\s+URING_DISABLE=1/);
  assert.equal(probe.code, 1);
  assert.deepEqual(probe.calls, []);
});

test('strace: the same trace of uring probe without the opt-out does show io_uring_setup (the trace would see it)', { skip: noStrace, timeout: 60_000 }, async () => {
  const r = await ioUringCalls([bin, 'probe'], cleanEnv({}));
  assert.ok(r.calls.some((l) => /io_uring_setup\(/.test(l)), r.calls.join('\n'));
});
