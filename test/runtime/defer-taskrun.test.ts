// DEFER_TASKRUN rings with many completions arriving as task work at once.
// There the kernel posts completions only inside the thread's own
// io_uring_enter, and one enter runs a bounded number of task-work items
// (20 on Linux 6.18), keeping the rest without signalling the registered
// eventfd again. A runtime that entered once per wakeup left them there:
// `uring cp -r` of a large tree hung after about 65 files. The opens with
// O_CREAT run in io-wq workers, whose completions (and the start of each
// chain's next link) come back as task work, as cp's chains do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChainOp } from '../../src/runtime/op.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import type { Sqe } from '../../src/ring/sqe.js';
import * as U from '../../src/ring/uapi.js';
import { within } from '../helpers/wait.js';
import { DEFER_TASKRUN, refused } from '../helpers/runtimes.js';

const O_WRONLY = 0o1;
const O_CREAT = 0o100;
const O_TRUNC = 0o1000;
const AT_FDCWD = -100;

/**
 * openat(path, O_CREAT) into direct descriptor `fileSlot`, skipping its CQE on
 * success, soft-linked to the close of that slot: one CQE per chain, the
 * close's, or the open's if it failed (the close is cancelled then, and
 * posts nothing).
 */
class CreateChain extends ChainOp {
  readonly promise: Promise<number>;
  openRes = 0;
  closeRes = 0;
  #resolve!: (v: number) => void;
  #reject!: (e: unknown) => void;
  constructor(
    readonly path: string,
    readonly fileSlot: number,
  ) {
    super(2, 'soft');
    this.promise = new Promise((res, rej) => {
      this.#resolve = res;
      this.#reject = rej;
    });
  }
  override unposted(): number {
    // Whichever CQE comes, the other link posts none.
    return 1;
  }
  prepLink(sqe: Sqe, link: number): void {
    if (link === 0) {
      sqe.prepOpenatDirect(AT_FDCWD, this.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644, this.fileSlot);
      sqe.flags = U.IOSQE_CQE_SKIP_SUCCESS;
    } else {
      sqe.prepCloseDirect(this.fileSlot);
    }
  }
  linkResult(link: number, res: number): void {
    if (link === 0) this.openRes = res;
    else this.closeRes = res;
  }
  chainDone(): void {
    if (this.openRes < 0) this.#reject(new Error(`open ${this.path}: ${this.openRes}`));
    else if (this.closeRes < 0) this.#reject(new Error(`close ${this.path}: ${this.closeRes}`));
    else this.#resolve(0);
  }
  chainFailed(err: Error): void {
    this.#reject(err);
  }
}

function tmp(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'uring-defer-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function deferRuntime(t: { after(fn: () => Promise<void>): void }, entries: number): Runtime {
  const rt = DEFER_TASKRUN.runtime({ entries });
  t.after(() => rt.close());
  return rt;
}

const skip = refused(DEFER_TASKRUN);

/**
 * Lets the flush of this turn's SQEs run, then keeps the thread busy (as
 * cp's walk keeps it) for a while: the io-wq workers' completions pile up
 * as task work meanwhile, more than one enter runs. (On a machine too
 * loaded for them to pile up, the test only checks less.)
 */
async function holdThread(): Promise<void> {
  await new Promise<void>((r) => process.nextTick(r));
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
}

test('DEFER_TASKRUN: thousands of linked chains with punted opens all complete', { skip }, async (t) => {
  const rt = deferRuntime(t, 64);
  const dir = tmp(t);
  const slots = 256;
  rt.ring.registerFilesSparse(slots);
  // Rounds of `slots` chains, one direct descriptor each: a slot is reused
  // only after its chain's close is in.
  const rounds = 4;
  for (let r = 0; r < rounds; r++) {
    const chains: CreateChain[] = [];
    for (let i = 0; i < slots; i++) {
      const c = new CreateChain(join(dir, `f${r}-${i}`), i);
      rt.submit(c);
      chains.push(c);
    }
    await holdThread();
    await within(
      Promise.all(chains.map((c) => c.promise)),
      10_000,
      `round ${r}: ${slots} open+close chains (inflight ${rt.inflight})`,
    );
  }
  assert.equal(readdirSync(dir).length, rounds * slots);
  assert.equal(rt.inflight, 0);
});

test('DEFER_TASKRUN: the runtime sets TASKRUN_FLAG, its sign of task work left', { skip }, async (t) => {
  const rt = deferRuntime(t, 8);
  assert.ok(rt.ring.flags & U.IORING_SETUP_TASKRUN_FLAG);
});
