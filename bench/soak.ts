// Soak: a uring/net echo server under steady load for N minutes, watched for
// what a short benchmark cannot see — memory that only grows, descriptors
// that leak, echoes that come back wrong.
//
//   node dist/bench/soak.js [--minutes 3] [--kind echo-uring-node|echo-uring]
//                           [--conns 64] [--size 4096] [--slice 10]
//
// The server runs in its own process (the same servers as bench/net-echo),
// pinned to CPU 0; the C load generator (bench/c/loadgen.c, which checks
// every echoed byte) on CPU 1, one process per slice of --slice seconds, so
// every slice also opens and closes --conns connections. After each slice
// the server's RSS (VmRSS) and open descriptors (/proc/PID/fd) are read.
// Prints them at start, middle and end, and exits 1 if any echo was wrong
// or lost, a slice failed, or the server holds more descriptors at the end
// than after the first slice.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildC, freePort, options, pinned, run, startServer } from './lib/harness.js';

const self = fileURLToPath(import.meta.url);
const netEcho = self.replace(/soak\.js$/, 'net-echo.js');

interface Sample {
  at: number; // seconds since the start
  echoes: number; // total so far
  errors: number; // total so far
  rssMiB: number;
  fds: number;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function fds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

async function main(): Promise<void> {
  const o = options();
  const minutes = Number(o.get('minutes') ?? 3);
  const kind = o.get('kind') ?? 'echo-uring-node';
  const conns = Number(o.get('conns') ?? 64);
  const size = Number(o.get('size') ?? 4096);
  const slice = Number(o.get('slice') ?? 10);
  const loadgen = buildC('loadgen');
  const server = await startServer(kind, [process.execPath, netEcho, '--serve', kind, String(await freePort())], 0);
  process.on('exit', () => server.child.kill('SIGKILL'));
  console.log(
    `soak: ${kind}, ${conns} connections x ${size} B ping-pong, ${minutes} min in ${slice} s slices; node ${process.version}`,
  );

  const samples: Sample[] = [{ at: 0, echoes: 0, errors: 0, rssMiB: rssMiB(server.pid), fds: fds(server.pid) }];
  const t0 = Date.now();
  let echoes = 0;
  let errors = 0;
  let failedSlices = 0;
  while (Date.now() - t0 < minutes * 60_000) {
    const [cmd, args] = pinned(1, [
      loadgen,
      '-c',
      String(conns),
      '-s',
      String(size),
      '-w',
      '0',
      '-d',
      String(slice),
      '-p',
      String(server.pid),
      '127.0.0.1',
      String(server.port),
    ]);
    const r = await run(cmd, args, (slice + 30) * 1000);
    const line = r.stdout.trim().split('\n').pop() ?? '';
    if (r.code !== 0 || !line.startsWith('{')) {
      failedSlices++;
      console.log(`slice failed (${r.code}): ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`);
    } else {
      const s = JSON.parse(line) as { messages: number; errors: number };
      echoes += s.messages;
      errors += s.errors;
    }
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      console.log(`the server died (${server.child.signalCode ?? server.child.exitCode})`);
      process.exit(1);
    }
    // Let the slice's connections finish closing before counting descriptors.
    await new Promise((res) => setTimeout(res, 200));
    samples.push({ at: (Date.now() - t0) / 1000, echoes, errors, rssMiB: rssMiB(server.pid), fds: fds(server.pid) });
  }
  await server.stop();

  const first = samples[1] ?? samples[0]!;
  const pick = [samples[0]!, first, samples[Math.floor(samples.length / 2)]!, samples[samples.length - 1]!];
  console.log('\n      at   echoes (total)   errors   RSS MiB   fds');
  for (const [label, s] of [
    ['start', pick[0]],
    ['slice 1', pick[1]],
    ['middle', pick[2]],
    ['end', pick[3]],
  ] as const) {
    console.log(
      `${label.padEnd(8)} ${s!.at.toFixed(0).padStart(4)} s ${s!.echoes.toLocaleString('en').padStart(15)} ${String(s!.errors).padStart(8)} ${s!.rssMiB.toFixed(1).padStart(9)} ${String(s!.fds).padStart(5)}`,
    );
  }
  const end = pick[3]!;
  const leaked = end.fds - first.fds;
  console.log(
    `\n${echoes.toLocaleString('en')} echoes, ${errors} bad, ${failedSlices} failed slices; fds ${first.fds} after slice 1, ${end.fds} at the end; RSS ${first.rssMiB.toFixed(1)} -> ${end.rssMiB.toFixed(1)} MiB`,
  );
  if (errors > 0 || failedSlices > 0 || leaked > 0 || echoes === 0) {
    console.log('FAIL');
    process.exit(1);
  }
}

await main();
