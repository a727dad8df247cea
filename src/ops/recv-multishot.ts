// The multishot recv of a stream socket: one SQE, a CQE per chunk received,
// each into a buffer the kernel picks from a provided-buffer ring (bgid).
// The op only carries the CQEs to its sink (net/socket.ts's Socket), which
// owns the buffers, the receiver and re-arming.
import type { Sqe } from '../ring/sqe.js';
import { Op } from '../runtime/op.js';

// What a recv CQE's flags say, for the sink: more CQEs follow (F_MORE) and
// which provided buffer holds the bytes (flags >>> BUFFER_SHIFT).
export { IORING_CQE_F_MORE, IORING_CQE_BUFFER_SHIFT } from '../ring/uapi.js';

// The methods' leading underscore: Socket implements them as public
// methods, and `_` keeps them out of its public API.
/** Where a RecvStreamOp reports. One method call per CQE, no closure. */
export interface RecvSink {
  /** A CQE: `res` bytes (0 at the peer's FIN, or -errno); `flags` as the kernel set them. */
  _onRecv(op: RecvStreamOp, res: number, flags: number): void;
  /** The runtime gave up on the op (it closed, or the recv never started). */
  _onRecvAbandoned(op: RecvStreamOp, err: Error): void;
}

/** The multishot recv of one socket. */
export class RecvStreamOp extends Op {
  override multishot = true;
  /** The sink asked the runtime to cancel it (a paused reader). */
  cancelling = false;
  constructor(
    readonly sink: RecvSink,
    readonly fd: number,
    readonly bgid: number,
  ) {
    super();
  }
  prep(sqe: Sqe): void {
    sqe.prepRecvMultishot(this.fd, this.bgid, 0);
  }
  complete(res: number, flags: number): void {
    this.sink._onRecv(this, res, flags);
  }
  abandon(err: Error): void {
    if (!this.markSettled()) return;
    this.sink._onRecvAbandoned(this, err);
  }
}
