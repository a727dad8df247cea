// Linked chains: ops that run one after another in the kernel, submitted together.
import { ChainOp, Op, OpState } from '../runtime/op.js';
import { getRuntime, validateRuntime, type Runtime } from '../runtime/runtime.js';
import { InvalidArgTypeError, InvalidArgValueError, OutOfRangeError } from '../errors.js';
import { native } from '../native.js';
import type { Sqe } from '../ring/sqe.js';
import { validateObject } from '../validate.js';

/**
 * The ops of a link() as one ChainOp: SQE k is ops[k]'s, its CQE goes to
 * ops[k], and each op settles from its own CQE as if it ran alone. The
 * chain takes one slot in the runtime; the ops never hold one: they are
 * OpState.Linked until their CQE is in (or they settle otherwise), then
 * Released.
 *
 * An abort (of any op's signal) is the chain's: before the kernel has seen
 * the chain, it is withdrawn and every op rejects with the AbortError; once
 * it may have, every link is cancelled in the kernel and each op settles
 * from its CQE: a failure (the cancel, or -ECANCELED after a cancelled link)
 * with the AbortError, a completion that beat the cancel with its result
 * (bytes read, a file closed: what the kernel did is the caller's).
 */
export class LinkOp extends ChainOp {
  readonly #ops: readonly Op[];

  static {
    (LinkOp.prototype as unknown as Record<string, unknown>).settlesFromCqe = true;
  }

  constructor(ops: readonly Op[], hard: boolean) {
    super(ops.length, hard ? 'hard' : 'soft');
    this.#ops = ops;
    for (const op of ops) op.state = OpState.Linked;
  }

  prepLink(sqe: Sqe, link: number): void {
    this.#ops[link]!.prep(sqe);
  }

  override linkResultIsFd(link: number): boolean {
    return this.#ops[link]!.resultIsFd;
  }

  linkResult(link: number, res: number, flags: number): void {
    const op = this.#ops[link]!;
    // Given up on its own (Runtime.cancel of the op): as after the chain's.
    if (op.state !== OpState.Linked) return this.lateComplete(res, link);
    // Aborted in flight: the op settles from this CQE, a failure as the abort.
    if (this.cancelError !== undefined) op.cancelError = this.cancelError;
    op.complete(res, flags, 0);
    // Its one CQE is in, whether or not complete() settled it.
    op.state = OpState.Released;
  }

  chainDone(): void {}

  chainFailed(err: Error): void {
    for (const op of this.#ops) {
      if (op.state !== OpState.Linked) continue; // settled already
      if (this.cancelError !== undefined) op.cancelError = this.cancelError;
      op.abandon(err);
    }
  }

  /** A CQE after the chain was given up (the runtime closed, or prep failed): nobody waits for it. */
  override lateComplete(res: number, link: number): void {
    const op = this.#ops[link]!;
    op.state = OpState.Released; // its CQE is in (Released already if it settled)
    // The runtime closes only the fds of ops in its table: this one is not.
    if (op.resultIsFd && res >= 0) native().closeFd(res);
    else op.lateComplete(res, 0);
  }
}

/**
 * Submits `ops` (made with the *Op constructors, e.g. new WriteOp(...)) as one
 * IOSQE_IO_LINK chain: each starts after the previous one succeeded; a
 * failure cancels the rest (-ECANCELED), unless `hard` links are asked for
 * (IOSQE_IO_HARDLINK: the chain goes on regardless — needed when a short read
 * must not cancel the close after it). Returns the ops, whose promises settle
 * individually.
 *
 * The ops cannot have a `timeout` of their own; a `signal` on any of them
 * aborts the whole chain (see LinkOp). A chain has at most
 * `runtime.maxLinks` ops (its SQEs must go to the kernel in one submit, and
 * no more than MAX_LINKS fit the user data); a longer one rejects every op
 * with ERR_OUT_OF_RANGE.
 */
export function link<const T extends Op[]>(ops: T, options: { hard?: boolean; runtime?: Runtime } = {}): T {
  if (!Array.isArray(ops)) throw new InvalidArgTypeError('ops', 'an array of Op', ops);
  // A for loop, not forEach: a hole must be refused too.
  for (let i = 0; i < ops.length; i++) {
    if (!(ops[i] instanceof Op)) throw new InvalidArgTypeError(`ops[${i}]`, 'an instance of Op', ops[i]);
  }
  validateObject(options, 'options');
  if (options.runtime !== undefined) validateRuntime(options.runtime);
  ops.forEach((op, i) => {
    if (op.timeoutMs > 0)
      throw new InvalidArgValueError(`ops[${i}].timeout`, op.timeoutMs, 'is not supported inside a linked chain');
    if (op.state !== OpState.Idle && op.state !== OpState.Released)
      throw new InvalidArgValueError(`ops[${i}]`, op, 'was already submitted');
    if (op.links !== 1) throw new InvalidArgValueError(`ops[${i}]`, op, 'is a chain of its own');
  });
  if (new Set(ops).size !== ops.length) throw new InvalidArgValueError('ops', ops, 'must not hold an op twice');
  const rt = options.runtime ?? getRuntime();
  if (ops.length <= 1) {
    if (ops.length === 1) rt.submit(ops[0]!);
    return ops;
  }
  const most = rt.maxLinks;
  if (ops.length > most) {
    // Rejects, as a chain the ring could never take always has.
    const err = new OutOfRangeError(
      'ops.length',
      `<= ${most} (what this runtime's ring can take in one submit)`,
      ops.length,
    );
    for (const op of ops) op.abandon(err);
    return ops;
  }
  const chain = new LinkOp(ops, options.hard === true);
  const signals = ops.filter((op) => op.signal !== undefined).map((op) => op.signal!);
  if (signals.length > 0) chain.signal = signals.length === 1 ? signals[0] : AbortSignal.any(signals);
  rt.submit(chain);
  return ops;
}
