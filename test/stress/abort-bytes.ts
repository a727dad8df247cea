// Stress: 10^5 reads aborted at every moment, bytes counted end to end.
//   npx tsc -p . && node dist/test/stress/abort-bytes.js [rounds] [fifo|fifo-timed|sqpoll|defer|tcp|streams]
// Prints one line per scenario; exits 1 if any byte was lost.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime } from '../../src/index.js';
import * as U from '../../src/ring/uapi.js';
import { abortedReads, fifoChannel, summary, tcpChannel, streamScenarios } from '../helpers/abort-bytes.js';

const rounds = Number(process.argv[2] ?? 100_000);
const only = process.argv[3];
const dir = mkdtempSync(join(tmpdir(), 'uring-abort-bytes-'));
let lost = 0;
const rt = new Runtime();
try {
  const want = (name: string) => only === undefined || only === name;
  if (want('fifo')) {
    const ch = fifoChannel(join(dir, 'fifo'));
    const t = await abortedReads(ch, { runtime: rt, rounds });
    ch.close();
    console.log(summary('fifo read(fd, { signal })', t));
    lost += t.lost + t.odd.length;
  }
  if (want('fifo-timed')) {
    const ch = fifoChannel(join(dir, 'fifo2'));
    const t = await abortedReads(ch, { runtime: rt, rounds, timed: true });
    ch.close();
    console.log(summary('fifo read(fd, { signal, timeout }) on every other 8 rounds', t));
    lost += t.lost + t.odd.length;
  }
  for (const [name, flags] of [
    ['sqpoll', U.IORING_SETUP_SQPOLL],
    ['defer', U.IORING_SETUP_SINGLE_ISSUER | U.IORING_SETUP_DEFER_TASKRUN],
  ] as const) {
    if (!want(name)) continue;
    const ring = new Runtime({ flags });
    const ch = fifoChannel(join(dir, name));
    const t = await abortedReads(ch, { runtime: ring, rounds, timed: true });
    ch.close();
    await ring.close();
    console.log(summary(`fifo read(fd, { signal }) on a ${name} ring`, t));
    lost += t.lost + t.odd.length;
  }
  if (want('tcp')) {
    const ch = await tcpChannel(rt);
    const t = await abortedReads(ch, { runtime: rt, rounds });
    await ch.close();
    console.log(summary('tcp read(socket.fd, { signal })', t));
    lost += t.lost + t.odd.length;
  }
  if (want('streams')) {
    for (const line of await streamScenarios(rt, rounds)) {
      console.log(line.text);
      lost += line.lost;
    }
  }
} finally {
  await rt.close();
  rmSync(dir, { recursive: true, force: true });
}
process.exitCode = lost > 0 ? 1 : 0;
