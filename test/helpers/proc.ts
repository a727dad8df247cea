// What /proc says about this process, and child node processes.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';

/** Open file descriptors of this process. */
export function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** The fds of this process, by number, with what they point at (for a failure message). */
export function fdList(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      out.push(`${fd} -> ${readlinkSync(`/proc/self/fd/${fd}`)}`);
    } catch {
      // raced with a close
    }
  }
  return out;
}

/**
 * Whether an IPv4 TCP socket of this network namespace listens on `port`
 * (/proc/net/tcp: state 0A). A listener's close can complete after the call
 * that asked for it (uring's is a CLOSE op): this says when it has.
 */
export function tcpListening(port: number): boolean {
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    if (parseInt(f[1]!.split(':')[1]!, 16) === port && f[3] === '0A') return true;
  }
  return false;
}

/**
 * The accept queue of the IPv4 TCP listener on `port` (/proc/net/tcp shows
 * a listener's queue length as rx_queue and its backlog as tx_queue);
 * undefined if nothing listens there. The kernel drops SYNs once
 * queued > backlog.
 */
export function tcpAcceptQueue(port: number): { queued: number; backlog: number } | undefined {
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || f[3] !== '0A' || parseInt(f[1]!.split(':')[1]!, 16) !== port) continue;
    const [tx, rx] = f[4]!.split(':');
    return { queued: parseInt(rx!, 16), backlog: parseInt(tx!, 16) };
  }
  return undefined;
}

/** The kernel threads (SQPOLL) of this process's io_uring rings. */
export function sqpollThreads(): number {
  let n = 0;
  for (const task of readdirSync('/proc/self/task')) {
    try {
      if (readFileSync(`/proc/self/task/${task}/comm`, 'utf8').startsWith('iou-sqp')) n++;
    } catch {
      // the thread just exited
    }
  }
  return n;
}

export interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `command args...` to its end and collects its output; SIGKILL after
 * `timeoutMs`, so a hang fails the test instead of the suite, and a crash
 * shows as `signal` without taking the test runner down.
 */
export async function runChild(command: string, args: string[], timeoutMs = 20_000): Promise<ChildRun> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  return { code, signal, stdout, stderr };
}

/** runChild of `node script ...args`. */
export function runNode(script: string, args: string[], killAfterMs: number): Promise<ChildRun> {
  return runChild(process.execPath, [script, ...args], killAfterMs);
}
