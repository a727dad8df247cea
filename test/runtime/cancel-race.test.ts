// Submit, then abort at varying points: every promise settles once (a value,
// or an AbortError carrying the reason), the kernel's copies are cancelled,
// and an open that completes after its caller gave up has its fd closed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync, readSync, writeSync, writeFileSync, constants } from 'node:fs';
import { setImmediate as immediate } from 'node:timers/promises';
import { read, poll, openat, sleep, POLLIN } from '../../src/index.js';
import { tempDir } from '../helpers/tmp.js';
import { drained, fifo } from './util.js';
import { fdCount, fdList } from '../helpers/proc.js';
import { within } from '../helpers/wait.js';
import { forEachSetup } from '../helpers/runtimes.js';

const ALL_ROUNDS = 10_000;
const WAVE = 100; // rounds in flight at once
const KINDS = [
  'read-pipe',
  'read-pipe-timed',
  'read-file',
  'poll',
  'openat',
  'openat-creat',
  'openat-timed',
  'sleep',
] as const;
const WHEN = ['sync', 'microtask', 'tick', 'immediate'] as const;
type Kind = (typeof KINDS)[number];

forEachSetup((s) => {
  const ROUNDS = s.count(ALL_ROUNDS);
  test(`${ROUNDS} rounds of submit-then-abort settle exactly once and leak nothing`, async (t) => {
    const dir = tempDir('uring-cancel-');
    const pipe = fifo(dir.file('fifo'));
    const filePath = dir.write('file', Buffer.alloc(4096, 7));
    const fileFd = openSync(filePath, 'r');
    const fdsBefore = fdCount();
    const listBefore = fdList();
    const rt = s.runtime();
    const fdsWithRing = fdCount();
    t.after(async () => {
      await rt.close();
      closeSync(fileFd);
      pipe.close();
      dir.remove();
    });

    const settled = new Uint8Array(ROUNDS);
    const counts = new Map<string, { resolved: number; aborted: number }>();
    for (const k of KINDS) for (const w of WHEN) counts.set(`${k}/${w}`, { resolved: 0, aborted: 0 });
    const failures: string[] = [];
    let openedByCaller = 0;

    function start(kind: Kind, signal: AbortSignal, i: number): Promise<unknown> {
      const opts = { signal, runtime: rt };
      switch (kind) {
        case 'read-pipe':
          return read(pipe.fd, new Uint8Array(16), opts);
        case 'read-pipe-timed':
          // With a linked timeout: two CQEs to collect after the abort.
          return read(pipe.fd, new Uint8Array(16), { ...opts, timeout: 60_000 });
        case 'read-file':
          return read(fileFd, new Uint8Array(64 + (i % 64)), { ...opts, position: i % 4000 });
        case 'poll':
          return poll(pipe.fd, POLLIN, opts);
        case 'openat':
          return openat(filePath, constants.O_RDONLY, 0, opts);
        case 'openat-creat':
          // O_CREAT is never tried inline: it goes to a kernel worker, so the
          // open often completes after the abort.
          return openat(filePath, constants.O_CREAT | constants.O_RDWR, 0o644, opts);
        case 'openat-timed':
          return openat(filePath, constants.O_CREAT | constants.O_RDWR, 0o644, { ...opts, timeout: 60_000 });
        case 'sleep':
          return sleep([0, 1, 60_000][i % 3]!, opts);
      }
    }

    async function round(i: number): Promise<void> {
      const kind = KINDS[i % KINDS.length]!;
      const when = WHEN[Math.floor(i / KINDS.length) % WHEN.length]!;
      const key = `${kind}/${when}`;
      const ac = new AbortController();
      const reason = { round: i };
      const p = start(kind, ac.signal, i);
      const done = p.then(
        (v) => {
          settled[i]!++;
          counts.get(key)!.resolved++;
          if (kind.startsWith('openat')) {
            openedByCaller++;
            closeSync(v as number);
          }
          if (kind.startsWith('read-pipe') || kind === 'poll')
            failures.push(`${key} #${i}: resolved with ${String(v)} with nothing to read`);
        },
        (e: any) => {
          settled[i]!++;
          counts.get(key)!.aborted++;
          if (e?.name !== 'AbortError' || e.code !== 'ABORT_ERR' || e.cause !== reason) {
            failures.push(
              `${key} #${i}: rejected with ${e?.name} ${e?.code} ${e?.message} (cause ${JSON.stringify(e?.cause)})`,
            );
          }
        },
      );
      if (when === 'sync') ac.abort(reason);
      else if (when === 'microtask') {
        await Promise.resolve();
        ac.abort(reason);
      } else if (when === 'tick') {
        // After the runtime's own flush tick (queued when the op started): the
        // SQE is in the kernel, and may or may not have completed.
        await new Promise<void>((r) => process.nextTick(r));
        ac.abort(reason);
      } else {
        await immediate();
        ac.abort(reason);
      }
      await done;
    }

    const t0 = performance.now();
    for (let base = 0; base < ROUNDS; base += WAVE) {
      const wave: Promise<void>[] = [];
      for (let i = base; i < Math.min(ROUNDS, base + WAVE); i++) wave.push(round(i));
      await within(Promise.all(wave), 10_000, `wave at round ${base}`);
      if (failures.length > 20) break;
    }
    const elapsed = performance.now() - t0;
    assert.deepEqual(failures, []);

    // Every cancel reached the kernel: nothing stays in flight.
    await drained(rt, 10_000);
    const never = [...settled].filter((n) => n !== 1).length;
    assert.equal(never, 0, 'promises that did not settle exactly once');

    let total = 0;
    const table: string[] = [];
    for (const [key, c] of counts) {
      total += c.resolved + c.aborted;
      table.push(`${key}: ${c.resolved} resolved, ${c.aborted} aborted`);
    }
    assert.equal(total, ROUNDS);
    t.diagnostic(`${ROUNDS} rounds in ${elapsed.toFixed(0)} ms; opens resolved to the caller ${openedByCaller}`);
    for (const line of table) t.diagnostic(line);

    // Aborted before submit, the op must not have run (or its result is dropped).
    for (const k of KINDS)
      assert.equal(counts.get(`${k}/sync`)!.resolved, 0, `${k} aborted synchronously but resolved`);
    // Those with nothing to wait for (no data in the pipe) were all aborted.
    for (const w of WHEN) {
      assert.equal(counts.get(`read-pipe/${w}`)!.resolved, 0);
      assert.equal(counts.get(`read-pipe-timed/${w}`)!.resolved, 0);
      assert.equal(counts.get(`poll/${w}`)!.resolved, 0);
    }

    // No fd leaked: every open the caller gave up on was closed by the runtime.
    assert.equal(fdCount(), fdsWithRing, `fds now:\n${fdList().join('\n')}\nbefore:\n${listBefore.join('\n')}`);

    // No cancelled read lingers in the kernel to eat the pipe's data.
    assert.equal(writeSync(pipe.fd, 'abc'), 3);
    const back = Buffer.alloc(8);
    assert.equal(readSync(pipe.fd, back), 3);
    assert.equal(back.toString('latin1', 0, 3), 'abc');

    await rt.close();
    assert.equal(fdCount(), fdsBefore, 'the ring fd is closed too');
    writeFileSync(filePath, '');
  });
});
