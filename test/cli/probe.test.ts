// `uring probe` and the probe() behind it: on this kernel, as a child process
// through bin/uring.js, and on simulated kernels (a fake native binding).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { probe, REQUIRED_FEATURES, REQUIRED_OPCODES, type ProbeReport } from '../../src/probe.js';
import { main, type Io } from '../../src/cli/main.js';
import { native, setNativeBinding, type NativeBinding } from '../../src/native.js';
import { Ring, OPCODE_NAMES, SETUP_FLAG_NAMES, IORING_FEAT_EXT_ARG } from '../../src/ring/index.js';

// dist/test/cli/ -> bin/uring.js at the package root
const bin = fileURLToPath(new URL('../../../bin/uring.js', import.meta.url));

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { timeout: 15_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

/** main() with its output collected. */
async function mainCollect(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: { write: (s: string) => (out += s) }, err: { write: (s: string) => (err += s) } };
  const code = await main(argv, io);
  return { code, out, err };
}

/** Runs fn with `fake` as the native binding, restoring the real one after. */
function withBinding<T>(fake: NativeBinding, fn: () => T): T {
  const prev = setNativeBinding(fake);
  try {
    return fn();
  } finally {
    setNativeBinding(prev);
  }
}

const here = probe();
const needsUring = here.usable ? false : `uring cannot run here: ${here.verdict}`;

test('probe(): this kernel, read from a real ring', { skip: needsUring }, () => {
  const r = probe();
  assert.equal(r.ring.created, true);
  assert.equal(r.ring.error, null);
  assert.equal(r.usable, true);
  assert.match(r.verdict, /^io_uring is available: \d+ of \d+ opcodes, with every feature \(NODROP, EXT_ARG\)/);
  for (const f of REQUIRED_FEATURES) assert.ok(r.features.includes(f), f);
  for (const o of REQUIRED_OPCODES) assert.ok(r.opcodes.supported.includes(o), o);
  assert.deepEqual(r.missing, { features: [], opcodes: [] });

  const ring = new Ring(2);
  try {
    assert.equal(r.featureBits, ring.features, 'the features a new ring reports');
    assert.deepEqual(r.opcodes.supported, ring.probe().supportedNames());
  } finally {
    ring.close();
  }
  // Every opcode uring knows is on exactly one list.
  const known = r.opcodes.supported.filter((n) => OPCODE_NAMES.includes(n));
  assert.deepEqual([...known, ...r.opcodes.unsupported].sort(), [...OPCODE_NAMES].sort());

  assert.equal(r.kernel.release.length > 0, true);
  assert.ok(r.sysctl.ioUringDisabled === null || [0, 1, 2].includes(r.sysctl.ioUringDisabled));
  if (r.memlock) assert.ok(r.memlock.soft === 'unlimited' || r.memlock.soft >= 0);
});

test('probe(): every setup flag is tried, alone or with the flag it needs', { skip: needsUring }, () => {
  const r = probe();
  const byName = new Map(r.setupFlags.map((f) => [f.name, f]));
  assert.equal(byName.size, r.setupFlags.length, 'names are unique');
  const covered = new Set(r.setupFlags.flatMap((f) => f.name.split('|')));
  for (const name of SETUP_FLAG_NAMES) assert.ok(covered.has(name), `${name} covered`);
  for (const f of r.setupFlags) {
    if (f.accepted === false) assert.match(f.code!, /^E[A-Z]+$/, `${f.name} refused with an errno name`);
    else assert.equal(f.code, undefined, `${f.name}: no errno unless refused`);
  }
  // Not tried: uring cannot provide the ring memory itself.
  assert.equal(byName.get('NO_MMAP')?.accepted, null);
  // Without NO_MMAP every kernel refuses it (and one that does not know it, too).
  assert.equal(byName.get('REGISTERED_FD_ONLY')?.accepted, false);
  assert.equal(byName.get('REGISTERED_FD_ONLY')?.code, 'EINVAL');
  // Combinations, not the dependent flag alone.
  assert.ok(byName.has('SINGLE_ISSUER|DEFER_TASKRUN'));
  assert.ok(byName.has('COOP_TASKRUN|TASKRUN_FLAG'));
  assert.ok(byName.has('IOPOLL|HYBRID_IOPOLL'));
  // What the ring test matrix creates must be reported as accepted.
  for (const name of ['COOP_TASKRUN', 'SINGLE_ISSUER', 'SINGLE_ISSUER|DEFER_TASKRUN', 'SQPOLL']) {
    const flags = byName.get(name)!.flags;
    let created = true;
    try {
      new Ring(4, { flags, sqThreadIdle: 10 }).close();
    } catch {
      created = false;
    }
    assert.equal(byName.get(name)!.accepted, created, name);
  }
});

test('probe(): no io_uring (ENOSYS) gives the ERR_URING_UNAVAILABLE message and tries nothing else', () => {
  const r = withBinding({ setup: () => -38 } as unknown as NativeBinding, probe);
  assert.equal(r.ring.created, false);
  assert.equal(r.ring.error?.code, 'ERR_URING_UNAVAILABLE');
  assert.match(r.ring.error!.message, /ENOSYS/);
  assert.equal(r.usable, false);
  assert.equal(r.verdict, `io_uring is unavailable: ${r.ring.error!.message}`);
  assert.deepEqual(r.features, []);
  assert.deepEqual(r.setupFlags, []);
  assert.deepEqual(r.opcodes.supported, []);
});

test('probe(): blocked (EPERM) says why', () => {
  const r = withBinding({ setup: () => -1 } as unknown as NativeBinding, probe);
  assert.equal(r.ring.error?.code, 'ERR_URING_UNAVAILABLE');
  assert.match(r.verdict, /^io_uring is unavailable: .*EPERM/);
});

test(
  'probe(): a kernel without a feature uring needs is not usable, and the verdict names it',
  { skip: needsUring },
  () => {
    const real = native();
    const fake: NativeBinding = {
      ...real,
      setup(entries, params) {
        const r = real.setup(entries, params);
        return typeof r === 'number' ? r : { ...r, features: r.features & ~IORING_FEAT_EXT_ARG };
      },
    };
    const r = withBinding(fake, probe);
    assert.equal(r.ring.created, true);
    assert.equal(r.usable, false);
    assert.deepEqual(r.missing, { features: ['EXT_ARG'], opcodes: [] });
    assert.ok(!r.features.includes('EXT_ARG'));
    assert.match(r.verdict, /^io_uring is too old for uring on this kernel .*missing feature EXT_ARG$/);
  },
);

test('main(["probe"]) exits 1 and prints the reason when io_uring is unavailable', async () => {
  const fake = { setup: () => -38 } as unknown as NativeBinding;
  const prev = setNativeBinding(fake);
  try {
    const text = await mainCollect(['probe']);
    assert.equal(text.code, 1);
    assert.match(text.out, /^ring\n {2}created +no \(ERR_URING_UNAVAILABLE\)$/m);
    assert.match(text.out, /^verdict\n {2}io_uring is unavailable: /m);
    const json = await mainCollect(['probe', '--json']);
    assert.equal(json.code, 1);
    assert.equal((JSON.parse(json.out) as ProbeReport).usable, false);
  } finally {
    setNativeBinding(prev);
  }
});

test('bin/uring.js is executable', () => {
  assert.ok(statSync(bin).mode & 0o111, 'mode has x bits');
});

test('uring probe: the readable report, exit 0', { skip: needsUring }, async () => {
  const { code, stdout, stderr } = await run(['probe']);
  assert.equal(code, 0, stderr);
  for (const section of [
    'kernel',
    'sysctl',
    'ring',
    'features',
    'setup flags',
    'opcodes supported',
    'opcodes unsupported',
    'verdict',
  ]) {
    assert.match(stdout, new RegExp(`^${section}( \\(.*\\))?$`, 'm'), `section ${section}`);
  }
  assert.match(stdout, /^ {2}kernel\.io_uring_disabled +\d/m);
  assert.match(stdout, /^ {2}SINGLE_ISSUER\|DEFER_TASKRUN +(accepted|rejected \(E[A-Z]+\))$/m);
  assert.match(stdout, /\bNODROP\b/);
  assert.match(stdout, /^verdict\n {2}io_uring is available: /m);
  assert.equal(stderr, '');
});

test('uring probe --json: the report as JSON, exit 0', { skip: needsUring }, async () => {
  const { code, stdout, stderr } = await run(['probe', '--json']);
  assert.equal(code, 0, stderr);
  const r = JSON.parse(stdout) as ProbeReport;
  assert.ok(r.features.includes('NODROP'));
  assert.ok(r.opcodes.supported.includes('READ'));
  assert.equal(typeof r.verdict, 'string');
  assert.match(r.verdict, /^io_uring is available/);
  assert.equal(r.usable, true);
  assert.ok(r.setupFlags.length > 0);
});

test('uring nosuchcmd: usage on stderr, exit 2', async () => {
  const { code, stdout, stderr } = await run(['nosuchcmd']);
  assert.equal(code, 2);
  assert.equal(stdout, '');
  assert.match(stderr, /unknown command 'nosuchcmd'/);
  assert.match(stderr, /^Usage: uring <command>/m);
  assert.match(stderr, /^ {2}probe +/m);
});

test('uring --help lists the commands that exist, exit 0; bad options exit 2', async () => {
  const help = await run(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: uring <command>/);
  assert.match(help.stdout, /^ {2}probe +report/m);
  for (const name of ['serve', 'cp', 'bench']) assert.match(help.stdout, new RegExp(`^ {2}${name} +\\S`, 'm'), name);
  assert.equal((await run(['frobnicate'])).code, 2, 'an unknown command');
  assert.equal((await run([])).code, 2);
  const bad = await run(['probe', '--bogus']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown option '--bogus'/);
  const probeHelp = await run(['probe', '--help']);
  assert.equal(probeHelp.code, 0);
  assert.match(probeHelp.stdout, /^Usage: uring probe \[--json\]/);
});
