// The whole public API under random bad input (api-fuzz-child.ts), in a
// child process so that a crash shows as a signal. Every call must settle
// (no hang), and every error it throws or rejects with must carry a string
// `code` (or be the caller's own error, from a getter that throws); async
// functions reject rather than throw. A failure names the seed: rerun it
// with FUZZ_SEED=<seed> (and FUZZ_TRACE=1 on the child for each call).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/tmp.js';

const child = fileURLToPath(new URL('./api-fuzz-child.js', import.meta.url));

interface Report {
  seed: number;
  calls: number;
  targets: number;
  ms: number;
  counts: Record<string, number>;
  uncaught: number;
  uncaughtSeen: string[];
  hangs: string[];
  harnessErrors: string[];
  problems: string[];
  stuck?: string;
}

function runChild(
  seed: number,
  calls: number,
  budgetMs: number,
  reportPath: string,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    // stdout ignored: the fuzz writes junk to descriptors 1 and 2 (write(1, ...)).
    const c = spawn(process.execPath, [child, String(seed), String(calls), String(budgetMs), reportPath], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    c.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 20_000) stderr += d;
    });
    // The child bounds its own run (budgetMs, a watchdog): this is the backstop.
    const timer = setTimeout(() => c.kill('SIGKILL'), budgetMs + 60_000);
    c.on('error', reject);
    c.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

test('api fuzz: no crash, no uncoded error, no hang', async (t) => {
  const dir = tempDir();
  t.after(() => dir.remove());
  const seed = Number(process.env.FUZZ_SEED ?? 20261206);
  const reportPath = dir.file('report.json');
  const { code, signal, stderr } = await runChild(seed, 20_000, 15_000, reportPath);
  assert.equal(signal, null, `the fuzz child died of ${signal} (seed ${seed}); stderr:\n${stderr.slice(-4000)}`);
  let report: Report;
  try {
    report = JSON.parse(readFileSync(reportPath, 'utf8')) as Report;
  } catch {
    assert.fail(`no report (exit ${code}, seed ${seed}); stderr:\n${stderr.slice(-4000)}`);
  }
  assert.equal(report.stuck, undefined, `stuck in ${report.stuck} (seed ${seed})`);
  assert.equal(code, 0, `exit ${code} (seed ${seed})`);
  t.diagnostic(
    `seed ${seed}: ${report.calls} calls over ${report.targets} functions and methods in ${report.ms} ms: ${JSON.stringify(report.counts)}`,
  );
  assert.ok(report.calls >= 1000, `only ${report.calls} calls ran`);
  assert.deepEqual(report.problems, [], `uncoded errors (seed ${seed})`);
  assert.equal(report.counts.uncoded, 0);
  assert.equal(report.counts.syncThrowFromAsync, 0);
  assert.equal(report.counts.uncodedAsyncError, 0);
  assert.deepEqual(report.hangs, [], `calls that never settled (seed ${seed})`);
  assert.deepEqual(report.uncaughtSeen, [], `uncaught exceptions or unhandled rejections (seed ${seed})`);
  assert.equal(report.uncaught, 0);
  assert.deepEqual(report.harnessErrors, []);
});
