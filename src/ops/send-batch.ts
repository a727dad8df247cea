// One batch of a stream socket's queued writes on the wire: a send of one
// buffer or a sendmsg gathering several, or their zero-copy forms. The op
// reports to its sink (net/socket.ts's Socket) once the kernel is through
// with the buffers; the sink owns the write queue and its callbacks.
import type { Sqe } from '../ring/sqe.js';
import { putU64, viewAddress } from '../ring/structs.js';
import {
  IORING_CQE_F_MORE,
  IORING_CQE_F_NOTIF,
  IORING_OP_SEND,
  IORING_OP_SENDMSG,
  IORING_OP_SENDMSG_ZC,
  IORING_OP_SEND_ZC,
  MSG_NOSIGNAL,
  MSG_WAITALL,
} from '../ring/uapi.js';
import { Op } from '../runtime/op.js';
import { detachedBuffer, viewDetached } from './common.js';
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

/** struct msghdr, in 32-bit words: msg_iov at word 4, msg_iovlen at 6 (the rest stays 0). */
const MSGHDR_WORDS = 14;
const MSG_IOV = 4;
const MSG_IOVLEN = 6;

/**
 * A batch of queued writes. A socket reuses its ops (see Socket.#spareSend):
 * constructing an Op ran the base class's field initializers megamorphic
 * across op types, through V8's runtime on every send (5.6% of a minimal
 * HTTP responder's CPU). For the same reason an op keeps its msghdr and
 * iovec array from batch to batch, with their addresses: building an
 * Iovecs and a Msghdr per sendmsg asked the addon for an address per
 * buffer and per struct (~0.3 us each, 4% of an http server's CPU). The
 * buffers' addresses come from viewAddress, cached per ArrayBuffer (node's
 * small Buffers share a pool, so mostly without a native call). The
 * structs belong to the op, which the socket keeps, and the buffers stay
 * in `views` until the last CQE.
 */
export class SendBatchOp extends Op {
  res = 0;
  /** One buffer (a send), or several (a sendmsg); referenced until the last CQE. */
  views: Uint8Array | Uint8Array[];
  zc: boolean;
  /** The sendmsg's struct msghdr and iovecs (made on the first batch of several buffers). */
  #msg: Uint32Array | undefined;
  #msgAddr = 0;
  #iov: Uint32Array | undefined;
  constructor(
    readonly sink: SendSink,
    readonly fd: number,
    views: Uint8Array | Uint8Array[],
    zc: boolean,
  ) {
    super();
    this.views = views;
    this.zc = zc;
  }
  /** For another batch; only once the runtime has released it (OpState.Released) after its last CQE. */
  reuse(views: Uint8Array | Uint8Array[], zc: boolean): void {
    this.res = 0;
    this.views = views;
    this.zc = zc;
  }
  /** Done: lets go of the buffers (the kernel is through with them) while it waits to be reused. */
  park(): void {
    this.views = NO_VIEWS;
  }
  /** Writes the batch's iovecs into the op's own array (grown as needed) and returns the msghdr's address. */
  #msghdr(views: Uint8Array[]): number {
    const n = views.length;
    let iov = this.#iov;
    let msg = this.#msg;
    if (!msg) {
      msg = this.#msg = new Uint32Array(MSGHDR_WORDS);
      this.#msgAddr = viewAddress(msg, 'msg');
    }
    if (!iov || iov.length < n * 4) {
      // Grown to a power of two (at least 16 entries): a handful of sizes per socket's life.
      let cap = 16;
      while (cap < n) cap *= 2;
      iov = this.#iov = new Uint32Array(cap * 4);
      putU64(msg, MSG_IOV, viewAddress(iov, 'iov'));
    }
    for (let i = 0; i < n; i++) {
      const v = views[i]!;
      const len = v.byteLength;
      // An empty write (one that carries a callback) needs no address, and
      // a zero-length buffer's is never cached: asking costs a native call.
      putU64(iov, i * 4, len === 0 ? 0 : viewAddress(v, `buffers[${i}]`));
      iov[i * 4 + 2] = len;
      iov[i * 4 + 3] = 0;
    }
    msg[MSG_IOVLEN] = n;
    msg[MSG_IOVLEN + 1] = 0;
    return this.#msgAddr;
  }
  prep(sqe: Sqe): void {
    const views = this.views;
    if (Array.isArray(views)) {
      sqe.prepRw(this.zc ? IORING_OP_SENDMSG_ZC : IORING_OP_SENDMSG, this.fd, this.#msghdr(views), 1, 0);
    } else {
      sqe.prepRw(this.zc ? IORING_OP_SEND_ZC : IORING_OP_SEND, this.fd, viewAddress(views), views.byteLength, 0);
    }
    sqe.opFlags = SEND_FLAGS;
  }
  complete(res: number, flags: number): void {
    if (flags & IORING_CQE_F_NOTIF) {
      // Zero copy: the kernel is done with the buffers only now.
      this.#done(this.res);
      return;
    }
    this.res = res;
    if (!(flags & IORING_CQE_F_MORE)) this.#done(res);
  }
  /**
   * The kernel is through with the buffers. One transferred away
   * (postMessage, ArrayBuffer.prototype.transfer) since it was queued was
   * sent as nothing, or read by the kernel after its memory changed hands:
   * the batch fails (common.ts, as a recv's), never reports bytes as sent.
   */
  #done(res: number): void {
    const views = this.views;
    let detached = false;
    if (Array.isArray(views)) {
      for (let i = 0; i < views.length && !detached; i++) detached = viewDetached(views[i]!);
    } else detached = viewDetached(views);
    if (detached) this.sink._onSendAbandoned(this, detachedBuffer(this.zc ? 'sendmsg_zc' : 'sendmsg', res));
    else this.sink._onSent(this, res);
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
