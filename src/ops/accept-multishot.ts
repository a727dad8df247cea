// The multishot accept of a listening socket: one SQE, a CQE per connection
// (its new fd, close-on-exec). The op only carries the CQEs to its sink
// (net/server.ts's Server), which owns the fds and re-arming.
import type { Sqe } from '../ring/sqe.js';
import { SOCK_CLOEXEC } from '../ring/uapi.js';
import { Op } from '../runtime/op.js';

// More CQEs follow (the accept stays armed): for the sink.
export { IORING_CQE_F_MORE } from '../ring/uapi.js';

// The methods' leading underscore: Server implements them as public
// methods, and `_` keeps them out of its public API.
/** Where an AcceptStreamOp reports, one method call per CQE. */
export interface AcceptSink {
  /** A CQE: a connection's fd, or -errno. */
  _onAccept(op: AcceptStreamOp, res: number, flags: number): void;
  /** The runtime gave up on the op (it closed, or the accept never started). */
  _onAcceptAbandoned(op: AcceptStreamOp): void;
}

/** A server's multishot accept. */
export class AcceptStreamOp extends Op {
  override multishot = true;
  /** Every CQE's result is a new fd (for the teardown; a given-up multishot op's results still go to complete()). */
  override resultIsFd = true;
  constructor(
    readonly sink: AcceptSink,
    readonly fd: number,
  ) {
    super();
  }
  prep(sqe: Sqe): void {
    sqe.prepMultishotAccept(this.fd, null, null, SOCK_CLOEXEC);
  }
  complete(res: number, flags: number): void {
    this.sink._onAccept(this, res, flags);
  }
  abandon(_err: Error): void {
    if (!this.markSettled()) return;
    this.sink._onAcceptAbandoned(this);
  }
}
