// What the network benchmarks share: building the C programs, starting a
// server pinned to a core and waiting until it listens, running a bounded
// child (the load generator, wrk), reading a process's CPU time, statistics
// and the table.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs as dist/bench/lib/harness.js). */
export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const outDir = join(root, 'bench', 'out');

/** Parses `--name value` options; flags without a value are `true`. */
export function options(argv = process.argv.slice(2)): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) continue;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) m.set(a.slice(2), 'true');
    else m.set(a.slice(2), argv[++i]!);
  }
  return m;
}

/**
 * bench/c/<name>.c -> bench/out/<name> with `cc -O2 -Wall`, when missing or
 * older than its source or any header beside it (bench/c/uring.h).
 */
export function buildC(name: string): string {
  const dir = join(root, 'bench', 'c');
  const src = join(dir, `${name}.c`);
  const bin = join(outDir, name);
  const newest = Math.max(
    statSync(src).mtimeMs,
    ...readdirSync(dir)
      .filter((f) => f.endsWith('.h'))
      .map((f) => statSync(join(dir, f)).mtimeMs),
  );
  if (existsSync(bin) && statSync(bin).mtimeMs >= newest) return bin;
  mkdirSync(outDir, { recursive: true });
  execFileSync('cc', ['-O2', '-Wall', '-o', bin, src], { stdio: 'inherit' });
  return bin;
}

export const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

/** argv run pinned to `cpu` (taskset execs, so the pid is the program's own). */
export function pinned(cpu: number, argv: string[]): [string, string[]] {
  return hasTaskset ? ['taskset', ['-c', String(cpu), ...argv]] : [argv[0]!, argv.slice(1)];
}

export function pinSelf(cpu: number): void {
  if (hasTaskset) spawnSync('taskset', ['-pc', String(cpu), String(process.pid)], { stdio: 'ignore' });
}

const clkTck = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime+stime of a process, all its threads, in seconds (/proc/<pid>/stat). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
  return (Number(f[11]) + Number(f[12])) / clkTck; // fields 14 and 15
}

/**
 * Busy time of all CPUs in seconds (/proc/stat: user+nice+system+irq+softirq+steal).
 * Over a slice, busy - server - load generator is what everything else took.
 */
export function allBusySeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / clkTck;
}

/** CPU (in cores) the machine is busy with over `ms` while this process waits: a warning before a run. */
export async function backgroundLoad(ms = 1000): Promise<number> {
  const b0 = allBusySeconds();
  await new Promise((r) => setTimeout(r, ms));
  return (allBusySeconds() - b0) / (ms / 1000);
}

/** cutime+cstime (fields 16, 17) from a /proc/<pid>/stat line: CPU of the waited-for children. */
export function childCpuSeconds(statLine: string): number {
  const f = statLine.slice(statLine.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) / clkTck;
}

export interface Server {
  name: string;
  pid: number;
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts argv (its last element may be the placeholder PORT) pinned to `cpu`,
 * and resolves once it prints "listening <port>". Rejects, with what it
 * printed, if it exits or stays silent for `timeoutMs`.
 */
export function startServer(name: string, argv: string[], cpu: number, timeoutMs = 15000): Promise<Server> {
  const [cmd, args] = pinned(cpu, argv);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  return new Promise((resolveStart, rejectStart) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      rejectStart(new Error(`${why}${err.trim() ? `: ${err.trim().split('\n').slice(-3).join(' | ')}` : ''}`));
    };
    const timer = setTimeout(() => fail(`no "listening" line within ${timeoutMs} ms`), timeoutMs);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      if (err.length < 8192) err += d;
    });
    child.once('exit', (code, sig) => fail(`exited (${sig ?? code}) before listening`));
    child.stdout!.setEncoding('utf8').on('data', function onData(d: string) {
      out += d;
      const m = /listening (\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.stdout!.resume(); // keep draining whatever comes later
      child.removeAllListeners('exit');
      const server: Server = {
        name,
        pid: child.pid!,
        port: Number(m[1]),
        child,
        stop: () => stopChild(child),
      };
      resolveStart(server);
    });
  });
}

/** SIGTERM, then SIGKILL after 3 s. */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(kill);
      done();
    });
    child.kill('SIGTERM');
  });
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a child to completion within timeoutMs (then SIGKILL); its stdout, stderr and exit code. */
export function run(cmd: string, args: string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${timeoutMs} ms)`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};
export const min = (xs: number[]): number => Math.min(...xs);
export const max = (xs: number[]): number => Math.max(...xs);

/** 123456 -> "123.5k" */
export const kfmt = (v: number): string => (Number.isFinite(v) ? `${(v / 1000).toFixed(1)}k` : '-');
export const fixed = (v: number, d = 2): string => (Number.isFinite(v) ? v.toFixed(d) : '-');

/** A plain-text table: first row is the header; columns padded to their widest cell. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join(' | ')
      .trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.slice(1).map(line)].join('\n');
}

/** The order of the variants in repetition `rep`: rotated, so none always runs first. */
export function rotated<T>(xs: T[], rep: number): T[] {
  const k = rep % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}

export function machine(): Record<string, string | number> {
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '?';
  let kernel = '?';
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    // not Linux's /proc: the kernel stays unknown in the report
  }
  return { node: process.version, kernel, cpu, date: new Date().toISOString() };
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createNetServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => done(port));
    });
  });
}
