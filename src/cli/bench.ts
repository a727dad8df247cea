// `uring bench`: the benchmark comparisons of the repository's bench/ folder
// (uring against node:fs, node:net and C references, in one run each).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from './main.js';

// dist/src/cli/bench.js -> bench/run.js at the package root
const RUNNER = fileURLToPath(new URL('../../../bench/run.js', import.meta.url));

const USAGE = [
  'Usage: uring bench [NAME...]',
  '',
  'Runs the benchmark comparisons (all, or the ones named): nop, runtime, fs-read,',
  'fs-files, fs-copy, net-echo, net-http. Each prints a table of medians with min',
  'and max and the ratio to what a user would use instead, and writes JSON to',
  'bench/out/. They take 1-3 minutes each; see bench/README.md for conditions.',
  '',
  'The benchmarks live in the repository, not in the npm package: run this from',
  'a checkout after "npm install".',
  '',
].join('\n');

export const benchCommand: Command = {
  summary: 'run the benchmark comparisons (from a checkout of the repository)',
  usage: USAGE,
  run(args, io) {
    if (!existsSync(RUNNER)) {
      io.err.write(`uring bench: ${RUNNER} is missing: the benchmarks ship with the repository, not the npm package\n`);
      return 2;
    }
    return new Promise<number>((done) => {
      const child = spawn(process.execPath, [RUNNER, ...args], { stdio: 'inherit' });
      child.on('error', (err) => {
        io.err.write(`uring bench: ${err.message}\n`);
        done(1);
      });
      child.on('exit', (code, signal) => done(code ?? (signal ? 1 : 0)));
    });
  },
};
