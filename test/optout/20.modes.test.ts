// The drop-in tests run again in child processes where the drop-ins must be
// node's own: 10.dropins (uring/fs, uring/net), and the CLI's cp and serve
// tests (which run bin/uring.js, so the CLI is covered as users run it).
//
// - URING_DISABLE=1 (the opt-out) in a process whose io_uring_setup kills it
//   with SIGSYS, as a seccomp profile with a kill action does: the files pass
//   only if nothing ever asks for a ring. And, where strace is installed, the
//   same runs with the real addon under strace: not one io_uring_* call but
//   node's own (libuv's, node 22+), which strace's stacks tell apart.
// - URING_FALLBACK=node where io_uring_setup is refused (ENOSYS, EPERM).
//
// The fake binding is preloaded through NODE_OPTIONS, so the CLI processes
// the tests start get it too (test/helpers/no-uring.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, realpathSync } from 'node:fs';
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
  for (const k of ['URING_DISABLE', 'URING_FALLBACK', 'URING_TEST_FAKE', 'URING_TEST_EXPECT', 'NODE_TEST_CONTEXT'])
    delete env[k];
  return { ...env, ...extra };
}

function run(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; signal: string | null; out: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: 240_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: unknown; signal?: string | null }) | null;
      resolve({
        code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
        signal: e?.signal ?? null,
        out: stdout + stderr,
      });
    });
  });
}

/** Runs test files under `node --test` with the fake binding; asserts every test passed and the trap never fired. */
async function runTests(files: string[], env: Record<string, string>): Promise<void> {
  const r = await run(
    process.execPath,
    ['--test', '--test-concurrency=1', '--test-reporter=tap', ...files],
    cleanEnv({
      ...env,
      URING_TEST_EXPECT: 'node',
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${preload}`.trim(),
    }),
  );
  assert.doesNotMatch(r.out, /no-uring: io_uring_\w+ was called/, 'io_uring was touched');
  const pass = /^# pass (\d+)$/m.exec(r.out);
  const fail = /^# fail (\d+)$/m.exec(r.out);
  assert.ok(pass && fail, r.out.slice(-3000));
  assert.equal(Number(fail[1]), 0, r.out.slice(-6000));
  assert.ok(Number(pass[1]) >= files.length * 5, `only ${pass[1]} tests ran`);
  assert.equal(r.code, 0, r.out.slice(-3000));
}

test(
  "opt-out URING_DISABLE=1, io_uring_setup a SIGSYS trap: the uring/fs, uring/net, uring cp and uring serve tests pass on node's own modules",
  { timeout: 300_000 },
  async () => {
    await runTests([DROPINS, ...CLI], { URING_DISABLE: '1', URING_TEST_FAKE: 'trap' });
  },
);

test(
  "URING_FALLBACK=node, io_uring_setup refused with ENOSYS: the same tests pass on node's own modules",
  { timeout: 300_000 },
  async () => {
    await runTests([DROPINS, ...CLI], { URING_FALLBACK: 'node', URING_TEST_FAKE: 'enosys' });
  },
);

test(
  "URING_FALLBACK=node, io_uring_setup refused with EPERM (a seccomp profile): the uring/fs and uring/net tests pass on node's own",
  { timeout: 120_000 },
  async () => {
    await runTests([DROPINS], { URING_FALLBACK: 'node', URING_TEST_FAKE: 'eperm' });
  },
);

test(
  'the trap works: without the opt-out, the same file dies of SIGSYS at its first ring',
  { timeout: 60_000 },
  async () => {
    const r = await run(
      process.execPath,
      ['--test', '--test-reporter=tap', DROPINS],
      cleanEnv({
        URING_TEST_FAKE: 'trap',
        NODE_OPTIONS: `--import=${preload}`,
      }),
    );
    assert.match(r.out, /no-uring: io_uring_setup was called/);
    assert.match(r.out, /SIGSYS/);
    assert.notEqual(r.code, 0);
  },
);

let strace: string | undefined;
try {
  strace = execFileSync('sh', ['-c', 'command -v strace'], { encoding: 'utf8' }).trim() || undefined;
} catch {
  strace = undefined;
}

// node 22+ (libuv 1.49+) makes io_uring calls of its own: every event loop
// it starts sets up a small ring to batch epoll_ctl, whatever UV_USE_IO_URING
// says. The opt-out promises that uring makes none, so each call is told
// apart by the stack strace prints for it (-k): libuv's come from a uv_*
// function of node's binary (or of a shared libuv). Any other call, the
// addon's or one whose stack could not be read, counts as uring's.
function straceRuns(args: string[]): boolean {
  try {
    execFileSync(strace!, args, { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}
const stacks = strace !== undefined && straceRuns(['-k', '-qq', '-e', 'trace=getpid', 'true']);
/** Without stacks, every call counts as uring's: right only where node itself makes none (node 20). */
const nodeMakesNone =
  strace !== undefined &&
  !stacks &&
  (() => {
    const d = tempDir('uring-strace-');
    try {
      const log = d.file('trace');
      return (
        straceRuns(['-f', '-qq', '-o', log, '-e', 'trace=io_uring_setup', process.execPath, '-e', '0']) &&
        !/io_uring_setup\(/.test(readFileSync(log, 'utf8'))
      );
    } finally {
      d.remove();
    }
  })();
const noStrace =
  strace === undefined
    ? 'strace is not installed (apt-get install strace): the SIGSYS trap above is the proof'
    : !stacks && !nodeMakesNone
      ? "this strace cannot print stacks (-k), and this node's libuv makes io_uring calls of its own: uring's cannot be told from them; the SIGSYS trap above is the proof"
      : false;

const nodeBinary = realpathSync(process.execPath);
const addon = 'uring.node(';

interface Call {
  /** The call as strace printed it, without the pid. */
  call: string;
  /** Its stack, innermost frame first, each `path(function+offset) [address]`. */
  stack: string[];
}

/** The call was made by libuv: the first frame past libc is a uv_* function of node's binary or of libuv. */
function byLibuv(c: Call): boolean {
  const frame = c.stack.find((f) => !/\/libc[.-]/.test(f));
  const m = frame === undefined ? null : /^(\S+)\((uv_\w+)\+0x/.exec(frame);
  return m !== null && (m[1] === nodeBinary || /\/libuv\.so/.test(m[1]!));
}

/** The io_uring_* system calls of `args` (run with node) and its children, as strace saw them, node's own (libuv's) left out. */
async function ioUringCalls(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ calls: Call[]; libuv: number; out: string; code: number | null }> {
  const d = tempDir('uring-strace-');
  try {
    // -ff: a file per thread (trace.<tid>), so no call is split into
    // `<unfinished ...>` and `<... resumed>` by another thread's, and each
    // stack follows its call.
    const r = await run(
      strace!,
      [
        '--seccomp-bpf',
        '-ff',
        '-qq',
        ...(stacks ? ['-k'] : []),
        '-o',
        d.file('trace'),
        '-e',
        'trace=io_uring_setup,io_uring_enter,io_uring_register',
        process.execPath,
        ...args,
      ],
      env,
    );
    const all: Call[] = [];
    for (const name of readdirSync(d.path).filter((n) => n.startsWith('trace.'))) {
      for (const line of readFileSync(d.file(name), 'utf8').split('\n')) {
        if (line.startsWith(' > ')) all.at(-1)?.stack.push(line.slice(3));
        else if (/io_uring_\w+\(/.test(line)) all.push({ call: line, stack: [] });
      }
    }
    const calls = all.filter((c) => !byLibuv(c));
    return { calls, libuv: all.length - calls.length, out: r.out, code: r.code };
  } finally {
    d.remove();
  }
}

const show = (calls: Call[]) =>
  calls
    .slice(0, 10)
    .map((c) => [c.call.slice(0, 160), ...c.stack.slice(0, 4)].join('\n  '))
    .join('\n');

test(
  'strace: under URING_DISABLE=1 the drop-in and CLI tests (real addon) make no io_uring system call at all',
  { skip: noStrace, timeout: 300_000 },
  async (t) => {
    const env = cleanEnv({ URING_DISABLE: '1', URING_TEST_EXPECT: 'node' });
    const r = await ioUringCalls(['--test', '--test-concurrency=1', '--test-reporter=tap', DROPINS, CLI[0]!], env);
    t.diagnostic(`node's own (libuv's) io_uring calls, left out: ${r.libuv}`);
    assert.match(r.out, /^# fail 0$/m, r.out.slice(-3000));
    assert.deepEqual(r.calls, [], show(r.calls));
    const probe = await ioUringCalls([bin, 'probe'], env);
    assert.match(probe.out, /disabled by\s+URING_DISABLE=1/);
    assert.equal(probe.code, 1);
    assert.deepEqual(probe.calls, [], show(probe.calls));
  },
);

test(
  'strace: the same trace of uring probe without the opt-out does show io_uring_setup (the trace would see it), made by the addon',
  { skip: noStrace, timeout: 60_000 },
  async () => {
    const r = await ioUringCalls([bin, 'probe'], cleanEnv({}));
    const setups = r.calls.filter((c) => /^io_uring_setup\(/.test(c.call));
    assert.ok(setups.length > 0, show(r.calls));
    // The stacks, where strace prints them, name the addon: what the test above looks for is there to see.
    if (stacks)
      assert.ok(
        setups.every((c) => c.stack.some((f) => f.includes(addon))),
        show(setups),
      );
  },
);
