#!/usr/bin/env node
// `npm run bench`: every benchmark, one after another, each printing its own
// table (and writing JSON under bench/out/). Name some to run only those:
//   npm run bench -- nop runtime
// `--quick` runs the regression gate instead (bench/quick.js; under a minute):
//   npm run bench -- --quick [NAME...]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'bench', 'out');
mkdirSync(out, { recursive: true });

const all = {
  nop: ['nop.js', ['--json', join(out, 'nop.json')]],
  runtime: ['runtime.js', ['--json', join(out, 'runtime.json')]],
  'net-echo': ['net-echo.js', ['--json', join(out, 'net-echo.json')]],
  'net-http': ['net-http.js', ['--json', join(out, 'net-http.json')]],
  // ws echo, pipelined and plain hello under autocannon, Express: plain node vs uring/http.
  'net-apps': ['net-apps.js', ['--json', join(out, 'net-apps.json')]],
  // These pin their own child processes (fs-read, fs-files) or run unpinned (fs-copy).
  'fs-read': ['fs-read.js', ['--json', join(out, 'fs-read.json')]],
  'fs-files': ['fs-files.js', ['--json', join(out, 'fs-files.json')]],
  'fs-copy': ['fs-copy.js', ['--json', join(out, 'fs-copy.json')]],
  // pipeline(createReadStream, createWriteStream) of 1 GiB on /dev/shm, uring's streams against node's.
  'fs-stream': ['fs-stream.js', ['--json', join(out, 'fs-stream.json')]],
  // uring cp vs GNU cp vs node fs.cp, each copy a fresh process (tmpfs; add --ext4 DIR by hand).
  'fs-cp': ['fs-cp.js', ['--json', join(out, 'fs-cp.json')]],
  'idle-conns': ['idle-conns.js', ['--json', join(out, 'idle-conns.json')]],
};
const argv = process.argv.slice(2);
const wanted = argv.filter((a) => a !== '--quick');
for (const name of wanted) {
  if (!(name in all)) {
    console.error(`unknown benchmark ${name}; have: ${Object.keys(all).join(', ')}`);
    process.exit(2);
  }
}
if (argv.includes('--quick')) {
  // The regression gate: short runs, one table of ratios against bench/floors.json.
  const { quick } = await import('./quick.js');
  process.exit(quick(wanted, { root, all }));
}
let failed = 0;
for (const [name, [file, args]] of Object.entries(all)) {
  if (wanted.length && !wanted.includes(name)) continue;
  const script = join(root, 'dist', 'bench', file);
  if (!existsSync(script)) {
    console.log(`== ${name}: ${script} is missing; run "npm run build" first`);
    failed++;
    continue;
  }
  console.log(`== ${name}`);
  // The NOP and runtime comparisons pin themselves and their C child to one core.
  const cmd =
    name === 'runtime'
      ? ['taskset', ['-c', '1', process.execPath, script, ...args]]
      : [process.execPath, [script, ...args]];
  const r = spawnSync(cmd[0], cmd[1], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
