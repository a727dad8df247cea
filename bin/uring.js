#!/usr/bin/env node
// The `uring` command. The CLI is TypeScript, compiled into dist/ on install
// (or by `npm run build`).
let cli;
try {
  cli = await import('../dist/src/cli/main.js');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
  console.error(`uring: the compiled CLI is missing (${err.message}). Run "npm run build" in the uring package`);
  process.exit(1);
}
process.exitCode = await cli.main(process.argv.slice(2));
