// One batch of a stream socket's queued writes on the wire: a send of one
// buffer or a sendmsg gathering several, or their zero-copy forms. The op
// reports to its sink (net/socket.ts's Socket) once the kernel is through
// with the buffers; the sink owns the write queue and its callbacks.
import type { Sqe } from '../ring/sqe.js';
import { Msghdr } from '../ring/structs.js';
import {
  IORING_CQE_F_MORE,
  IORING_CQE_F_NOTIF,
  IORING_OP_SENDMSG_ZC,
  IORING_OP_SEND_ZC,
  MSG_NOSIGNAL,
  MSG_WAITALL,
} from '../ring/uapi.js';
import { Op } from '../runtime/op.js';
import type { Runtime } from '../runtime/runtime.js';

/**
 * A closed peer is EPIPE, never SIGPIPE; MSG_WAITALL makes the kernel finish
 * the whole batch before it completes (a short send is still possible, and
 * the sink continues where it stopped).
 */
const SEND_FLAGS = MSG_NOSIGNAL | MSG_WAITALL;

// The methods' leading underscore: Socket implements them as public
// methods, and `_` keeps them out of its public API.
/** Where a SendBatchOp reports: once per batch, when the kernel no longer reads its buffers. */
export interface SendSink {
  /** The batch is done: `res` bytes sent, or -errno. */
  _onSent(op: SendBatchOp, res: number): void;
  /** The runtime closed with the batch in flight, or before it started. */
  _onSendAbandoned(op: SendBatchOp, err: Error): void;
}

const NO_VIEWS: Uint8Array[] = [];

/**
 * A batch of queued writes. A socket reuses its ops (see Socket.#spareSend):
 * constructing an Op ran the base class's field initializers megamorphic
 * across op types, through V8's runtime on every send (5.6% of a minimal
 * HTTP responder's CPU).
 */
export class SendBatchOp extends Op {
  res = 0;
  msg: Msghdr | undefined;
  /** One buffer (a send), or several (a sendmsg); referenced until the last CQE. */
  views: Uint8Array | Uint8Array[];
  zc: boolean;
  constructor(
    readonly sink: SendSink,
    readonly fd: number,
    views: Uint8Array | Uint8Array[],
    zc: boolean,
  ) {
    super();
    this.views = views;
    this.zc = zc;
    this.msg = Array.isArray(views) ? new Msghdr({ iov: views }) : undefined;
  }
  /** For another batch; only once the runtime has released it (OpState.Released) after its last CQE. */
  reuse(views: Uint8Array | Uint8Array[], zc: boolean): void {
    this.res = 0;
    this.views = views;
    this.zc = zc;
    this.msg = Array.isArray(views) ? new Msghdr({ iov: views }) : undefined;
  }
  /** Done: lets go of the buffers (the kernel is through with them) while it waits to be reused. */
  park(): void {
    this.views = NO_VIEWS;
    this.msg = undefined;
  }
  prep(sqe: Sqe): void {
    if (this.msg) {
      if (this.zc) sqe.prepSendmsgZc(this.fd, this.msg, SEND_FLAGS);
      else sqe.prepSendmsg(this.fd, this.msg, SEND_FLAGS);
    } else {
      const v = this.views as Uint8Array;
      if (this.zc) sqe.prepSendZc(this.fd, v, v.byteLength, SEND_FLAGS);
      else sqe.prepSend(this.fd, v, v.byteLength, SEND_FLAGS);
    }
  }
  complete(res: number, flags: number): void {
    if (flags & IORING_CQE_F_NOTIF) {
      // Zero copy: the kernel is done with the buffers only now.
      this.sink._onSent(this, this.res);
      return;
    }
    this.res = res;
    if (!(flags & IORING_CQE_F_MORE)) this.sink._onSent(this, res);
  }
  abandon(err: Error): void {
    if (!this.markSettled()) return;
    this.sink._onSendAbandoned(this, err);
  }
}

const zcSupport = new WeakMap<Runtime, boolean>();
/** Whether `rt`'s kernel has SEND_ZC and SENDMSG_ZC (asked once per runtime). */
export function zeroCopySupported(rt: Runtime): boolean {
  let ok = zcSupport.get(rt);
  if (ok === undefined) {
    try {
      const p = rt.ring.probe();
      ok = p.opSupported(IORING_OP_SEND_ZC) && p.opSupported(IORING_OP_SENDMSG_ZC);
    } catch {
      ok = false;
    }
    zcSupport.set(rt, ok);
  }
  return ok;
}
