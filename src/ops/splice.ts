// Pipes and splice(2) through the ring: a file's pages moved into a pipe
// and from the pipe into a socket without the bytes ever being copied into
// (or out of) JavaScript memory. `uring serve` sends large files this way.
//
// IORING_OP_SPLICE always runs on one of the ring's io-wq workers (the
// kernel marks it force-async), so each splice costs a thread handoff:
// worth it for megabytes, not for one small chunk. A chain of splices,
// soft-linked, runs back to back on the worker with no trip through
// JavaScript; a short splice (a file that shrank, a peer gone) cancels the
// rest, and the caller sees each link's result.
//
// IORING_OP_PIPE (Linux 6.16) makes the pipe itself.
import type { Sqe } from '../ring/sqe.js';
import { IORING_OP_PIPE, IORING_OP_SPLICE, POLLOUT } from '../ring/uapi.js';
import { ChainOp, PromiseOp } from '../runtime/op.js';
import type { Runtime } from '../runtime/runtime.js';
import { native } from '../native.js';
import { run, type RunOptions } from './common.js';

const O_CLOEXEC = 0o2000000;

const support = new WeakMap<Runtime, boolean>();

/** Whether `rt`'s kernel has both IORING_OP_SPLICE and IORING_OP_PIPE. */
export function spliceSupported(rt: Runtime): boolean {
  let ok = support.get(rt);
  if (ok === undefined) {
    try {
      const p = rt.ring.probe();
      ok = p.opSupported(IORING_OP_SPLICE) && p.opSupported(IORING_OP_PIPE);
    } catch {
      ok = false;
    }
    support.set(rt, ok);
  }
  return ok;
}

export class PipeOp extends PromiseOp<[number, number]> {
  /** Where the kernel writes the two descriptors: referenced by the op until its CQE. */
  readonly fds = new Int32Array(2);
  get syscall(): string {
    return 'pipe2';
  }
  prep(sqe: Sqe): void {
    sqe.prepPipe(this.fds, O_CLOEXEC);
  }
  override result(): [number, number] {
    return [this.fds[0]!, this.fds[1]!];
  }
}

/** A new pipe (close-on-exec): [read end, write end]. */
export function pipe(options?: RunOptions): Promise<[number, number]> {
  return run(new PipeOp(), options).promise;
}

// ------------------------------------------------------------ pipe pool
//
// Streams, `uring cp` and `uring serve` splice through pipes grown with
// F_SETPIPE_SZ, taken per copy and given back: one pool per thread (module
// state is per isolate), per size asked for. A pipe goes back only empty
// (bytes left in it would reach the next user's destination).

const F_SETPIPE_SZ = 1031;
const F_GETPIPE_SZ = 1032;
/** Empty pipes kept per thread and size. */
const IDLE_PIPES_MAX = 8;
const idlePipes = new Map<number, SplicePipe[]>();

/** A pipe for splices: its two ends, and its capacity (the most one splice into it moves). */
export interface SplicePipe {
  readonly r: number;
  readonly w: number;
  readonly size: number;
  /** The size asked for: which pool it goes back to. */
  readonly asked: number;
}

/**
 * An empty pipe: one given back earlier, or a new one grown to `size` bytes
 * (a user over its pipe-buffer quota, or a size over
 * /proc/sys/fs/pipe-max-size, keeps the default 64 KiB: read `size` back).
 * Both ends are owned by the thread, so a worker's are closed when it ends.
 */
export async function takePipe(size: number, options?: RunOptions): Promise<SplicePipe> {
  const idle = idlePipes.get(size)?.pop();
  if (idle !== undefined) return idle;
  const [r, w] = await pipe(options);
  native().ownFd(r);
  native().ownFd(w);
  native().fcntl(w, F_SETPIPE_SZ, size);
  const got = native().fcntl(w, F_GETPIPE_SZ, 0);
  return { r, w, size: got > 0 ? got : 64 * 1024, asked: size };
}

/** Gives back a pipe: kept if `empty` (nothing left in it) and its pool has room, else closed. */
export function givePipe(p: SplicePipe, empty: boolean): void {
  let idle = idlePipes.get(p.asked);
  if (idle === undefined) idlePipes.set(p.asked, (idle = []));
  if (empty && idle.length < IDLE_PIPES_MAX) {
    idle.push(p);
    return;
  }
  native().closeFd(p.r);
  native().closeFd(p.w);
}

/**
 * Splices, one after the other, soft-linked: step i moves up to `len[i]`
 * bytes from `fdIn[i]` (at `offIn[i]`, or -1: a pipe's) to `fdOut[i]` (a
 * pipe or a socket, never at an offset). `done` gets each step's result
 * (bytes, -errno, -ECANCELED for steps a short or failed one before
 * cancelled), or the error that kept the chain from the kernel. The
 * descriptors must stay open until `done` runs: a step not yet started
 * looks its descriptors up only when it starts.
 *
 * With `pollOut` (a descriptor, -1 for none) the chain starts with a poll
 * for POLLOUT on it: the splices wait, in the kernel and on no thread, until
 * a non-blocking socket has room, with no trip back to JavaScript between
 * the wait and the splices. Its result (the ready events) is `res[0]`, and
 * step i's is then `res[i + 1]`.
 */
export class SpliceChainOp extends ChainOp {
  readonly res: Int32Array;
  /** 1 when the chain starts with the poll, else 0: where the steps' results start in `res`. */
  readonly first: number;
  constructor(
    readonly fdIn: number[],
    readonly offIn: number[],
    readonly fdOut: number[],
    readonly len: number[],
    readonly done: (op: SpliceChainOp, err: Error | undefined) => void,
    readonly pollOut = -1,
  ) {
    const first = pollOut >= 0 ? 1 : 0;
    super(len.length + first, 'soft');
    this.first = first;
    this.res = new Int32Array(len.length + first);
  }
  prepLink(sqe: Sqe, link: number): void {
    if (link < this.first) {
      sqe.prepPollAdd(this.pollOut, POLLOUT);
      return;
    }
    const i = link - this.first;
    sqe.prepSplice(this.fdIn[i]!, this.offIn[i]!, this.fdOut[i]!, -1, this.len[i]!, 0);
  }
  linkResult(link: number, res: number): void {
    this.res[link] = res;
  }
  chainDone(): void {
    this.done(this, undefined);
  }
  chainFailed(err: Error): void {
    this.done(this, err);
  }
}
