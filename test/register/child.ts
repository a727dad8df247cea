// Running a fixture app of test/register/fixtures in a child node, with or
// without the flag, for the tests that compare the two runs' answers.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { within } from '../helpers/wait.js';

export const root = fileURLToPath(new URL('../../../', import.meta.url));
export const register = fileURLToPath(new URL('../../src/register.js', import.meta.url));
export const fixture = (name: string) => `${root}test/register/fixtures/${name}`;

/**
 * Runs `node ...nodeArgs fixture args` in the repository (killed after 30 s),
 * with uring's switches cleared but for `env`; wants it to end by itself with
 * 0, and returns the JSON of its first line and its stderr.
 */
export async function runFixture(
  nodeArgs: string[],
  app: string,
  env: Record<string, string> = {},
  args: string[] = [],
): Promise<{ result: Record<string, any>; stderr: string }> {
  const child = spawn(process.execPath, [...nodeArgs, fixture(app), ...args], {
    cwd: root,
    env: { ...process.env, URING_DISABLE: '', URING_REGISTER: '', URING_FALLBACK: '', URING_TEST_FAKE: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30_000,
    killSignal: 'SIGKILL',
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const [code, signal] = (await within(once(child, 'close'), 40_000, `${app} ending`)) as [
    number | null,
    string | null,
  ];
  assert.equal(code, 0, `${app} ended with ${code ?? signal}; stderr:\n${err}`);
  return { result: JSON.parse(out.split('\n')[0]!) as Record<string, any>, stderr: err };
}
