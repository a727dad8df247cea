// The `uring` command: one subcommand per file in this folder, dispatched here.
// Exit codes: 0 success, 1 the command ran and the answer is "no" (io_uring
// unavailable), 2 the command line was wrong.
import { readFileSync } from 'node:fs';

/** Where a command writes: process.stdout/stderr, or a collector in tests. */
export interface Io {
  out: { write(s: string): unknown };
  err: { write(s: string): unknown };
}

export interface Command {
  summary: string;
  usage: string;
  run(args: string[], io: Io): number | Promise<number>;
}

// Each command is imported when it runs: a command's modules are its start-up
// time (`uring cp` loaded serve's HTTP and net stack too: 96 modules, ~0.1 s
// of CPU, for a copy that takes 0.5 s).
const COMMANDS: Record<string, () => Promise<Command>> = {
  probe: async () => (await import('./probe.js')).probeCommand,
  serve: async () => (await import('./serve.js')).serveCommand,
  cp: async () => (await import('./cp.js')).cpCommand,
  bench: async () => (await import('./bench.js')).benchCommand,
};

/** The top-level help (it loads every command, for their summaries). */
export async function usage(): Promise<string> {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines: string[] = [];
  for (const [name, load] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(width)}  ${(await load()).summary}`);
  return [
    'Usage: uring <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Options:',
    "  -h, --help     show this help (or a command's: uring <command> --help)",
    "  -v, --version  show uring's version",
    '',
    'Environment:',
    '  URING_DISABLE=1      never use io_uring (no io_uring system call at all):',
    '                       serve and cp go through node:fs and node:net',
    '  URING_FALLBACK=node  the same, but only where io_uring is unavailable',
    '',
  ].join('\n');
}

/**
 * Runs the CLI with `argv` (the arguments after `uring`).
 *
 * @returns the exit code: 0, 1 (io_uring unavailable), or 2 (usage error)
 */
export async function main(
  argv: readonly string[],
  io: Io = { out: process.stdout, err: process.stderr },
): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined) {
    io.err.write(await usage());
    return 2;
  }
  if (name === '-h' || name === '--help' || name === 'help') {
    io.out.write(await usage());
    return 0;
  }
  if (name === '-v' || name === '--version') {
    io.out.write(`${version()}\n`);
    return 0;
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!load) {
    io.err.write(`uring: unknown command '${name}'\n\n${await usage()}`);
    return 2;
  }
  const command = await load();
  if (args.includes('-h') || args.includes('--help')) {
    io.out.write(command.usage);
    return 0;
  }
  return command.run(args, io);
}

function version(): string {
  // dist/src/cli/main.js -> package.json
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
