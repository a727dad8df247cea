// A process that made its rings and sockets as root, then drops to nobody
// (README "Privileges"): file ops through the rings use the new
// credentials — a root-only file fails with EACCES, as through node:fs,
// also for opens the kernel runs in worker threads it made as root
// (O_CREAT, O_TRUNC) and in a worker thread's own ring — while sockets
// made before the drop keep working and the server accepts new ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { runNode } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';

const notRoot = process.getuid?.() !== 0 ? 'needs root: the child drops to nobody (uid 65534)' : false;
const child = fileURLToPath(new URL('./fixtures/drop-child.js', import.meta.url));

test(
  'after a drop to nobody: files answer as nobody, sockets made as root go on',
  { skip: notRoot, timeout: 60_000 },
  async (t) => {
    const d = tempDir('uring-drop-');
    t.after(() => d.remove());
    chmodSync(d.path, 0o755);
    writeFileSync(d.file('secret'), 'root only', { mode: 0o600 });
    writeFileSync(d.file('owned'), 'anyone may read', { mode: 0o644 });
    mkdirSync(d.file('closed'), { mode: 0o700 });
    writeFileSync(d.file('closed/inside'), 'x');
    const r = await runNode(child, [d.path], 50_000);
    assert.equal(r.signal, null, `killed by ${r.signal}\nstderr: ${r.stderr}`);
    assert.equal(r.code, 0, `exit code ${r.code}\nstderr: ${r.stderr}`);
    assert.deepEqual(JSON.parse(r.stdout), {
      uid: 65534,
      gid: 65534,
      readFile: 'EACCES',
      open: 'EACCES',
      openOwnedForWrite: 'EACCES',
      writeFileNew: 'EACCES',
      writeFileOwned: 'EACCES',
      readInsideClosed: 'EACCES',
      stream: 'EACCES',
      readFiles: 'EACCES',
      node: 'EACCES',
      readable: 'ok',
      oldConnection: 'old',
      newConnection: 'new',
      privilegedPort: 'EACCES',
      worker: 'EACCES',
    });
  },
);
