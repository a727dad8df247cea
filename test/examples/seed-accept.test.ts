// The seed walkthrough runs as users run it: `node dist/examples/seed-accept.js`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  Ring,
  IORING_OP_SOCKET,
  IORING_OP_BIND,
  IORING_OP_LISTEN,
  IORING_OP_POLL_ADD,
  IORING_OP_ACCEPT,
} from '../../src/ring/index.js';

// dist/test/examples/ -> dist/examples/seed-accept.js
const example = fileURLToPath(new URL('../../examples/seed-accept.js', import.meta.url));

/** Why the example cannot run here (no ring, or no SOCKET/BIND/LISTEN before 6.11), or false. */
function cannotRun(): string | false {
  let ring: Ring;
  try {
    ring = new Ring(2);
  } catch (err) {
    return `no io_uring here: ${(err as Error).message}`;
  }
  try {
    const p = ring.probe();
    const ops = [IORING_OP_SOCKET, IORING_OP_BIND, IORING_OP_LISTEN, IORING_OP_POLL_ADD, IORING_OP_ACCEPT];
    return ops.every((op) => p.opSupported(op)) ? false : 'the kernel lacks SOCKET, BIND or LISTEN (Linux 6.11+)';
  } finally {
    ring.close();
  }
}

test(
  'seed-accept: poll completes with user data 0xdeadbeef, accepts through the ring, exits 0',
  { skip: cannotRun() },
  async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve) => {
        execFile(process.execPath, [example], { timeout: 15_000 }, (err, stdout, stderr) => {
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
        });
      },
    );
    assert.equal(code, 0, `exit code (null: killed after 15 s)\nstdout:\n${stdout}\nstderr:\n${stderr}`);
    assert.match(stdout, /^listening on 127\.0\.0\.1:\d+ /m);
    assert.match(stdout, /^completion: user data 0xdeadbeef, res 1 \(POLLIN\)$/m);
    // The peer address the kernel wrote at accept is the client's own.
    assert.match(stdout, /^accepted fd \d+, peer 127\.0\.0\.1:(\d+) \(the client's port: \1\)$/m);
    // Reaping with peekCqe made no system call on this ring.
    assert.match(stdout, /^completion: user data 0xdeadbeef, res 1, after [1-9]\d* peeks and 0 io_uring_enter calls$/m);
    assert.match(stdout, /^done: \d+ io_uring_enter calls in all$/m);
    assert.equal(stderr, '');
  },
);
