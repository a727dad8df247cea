// A connected stream socket (TCP or Unix) on io_uring.
//
// Receiving: one multishot recv per socket (ops/recv-multishot.ts), into
// the runtime's shared provided-buffer ring (recv-pool.ts). Each CQE's
// bytes become a Buffer of the reader's (a view of the slab the kernel
// wrote them into, or a copy on kernels without incremental rings). A
// reader that stops asking (its receiver returns false, or the iterator's
// queue passes its high-water mark) gets the recv cancelled, so the
// kernel's socket buffer fills and TCP flow control pushes back on the
// peer: memory stays bounded. -ENOBUFS (the pool ran dry within one kernel
// batch) ends the multishot recv with nothing lost; it is re-armed at once.
//
// Sending: writes queue in order (write-queue.ts) and go out one batch at
// a time (ops/send-batch.ts: one send, or one sendmsg gathering up to 512
// queued buffers). Only one batch is in flight per socket because two
// sends in flight on one socket may complete out of order. MSG_WAITALL
// makes the kernel finish a batch before it completes; a short send still
// continues where it stopped. Batches of at least `zeroCopyThreshold`
// bytes go as SEND_ZC / SENDMSG_ZC, and their buffers stay referenced (and
// the write unresolved) until the kernel's notification says it no longer
// reads them.
//
// Closing: IORING_OP_ASYNC_CANCEL of everything on the fd, hard-linked to
// IORING_OP_CLOSE. A pending recv holds a reference to the file, and while
// it does, close() would not release the socket and the peer would not see
// FIN; cancelling first drops that reference.
//
// Elsewhere: connecting (connect.ts), the async iterator's queue
// (chunk-queue.ts), node:net's Socket over this one (node-socket.ts).
import { InvalidArgTypeError, SocketClosedError, StreamWriteAfterEndError } from '../errors.js';
import { native } from '../native.js';
import { CancelFdOp, ShutdownOp, SHUT_WR } from '../ops/net.js';
import { CancelCloseOp } from '../ops/cancel-close.js';
import { detachedBuffer, validateBuffer, validateFd, viewDetached } from '../ops/common.js';
import { OpState, capture, capturedReject, capturedResolve } from '../runtime/op.js';
import { getRuntime, validateRuntime, type Runtime } from '../runtime/runtime.js';
import { validateFunction, validateObject } from '../validate.js';
import { socketAddress, type SocketAddress } from './address.js';
import * as C from './constants.js';
import { ECANCELED, ENOBUFS, EOPNOTSUPP } from '../errno.js';
import { errnoError } from './errors.js';
import { recvPool, type RecvPool } from './recv-pool.js';
import { ChunkQueue } from './chunk-queue.js';
import { WriteQueue, type WriteCallback } from './write-queue.js';
import { IORING_CQE_BUFFER_SHIFT, IORING_CQE_F_MORE, RecvStreamOp, type RecvSink } from '../ops/recv-multishot.js';
import { SendBatchOp, zeroCopySupported, type SendSink } from '../ops/send-batch.js';

export type { WriteCallback };

/** What a socket does with the bytes it receives (the iterator, or a node:net-style stream). */
export interface Receiver {
  /** A chunk, the receiver's to keep. Return false to pause receiving. */
  data(chunk: Buffer): boolean;
  /** The peer shut down its side (FIN): no more data. */
  end(): void;
  /** Receiving failed (ECONNRESET, ...). */
  error(err: Error): void;
}

/** Most buffers gathered into one sendmsg (the kernel's limit is 1024). */
const MAX_BATCH = 512;
/**
 * SEND_ZC for batches this big, to peers that are not on this machine. On
 * loopback zero copy falls back to copying plus a notification, and measured
 * 35-50% slower than send (64 KiB and 1 MiB writes), so loopback and Unix
 * peers never use it unless zeroCopyThreshold says so.
 */
export const DEFAULT_ZERO_COPY_THRESHOLD = 64 * 1024;
/** The iterator's pause threshold: bytes received and not yet consumed. */
const ITER_HIGH_WATER = 256 * 1024;

export interface SocketOptions {
  runtime?: Runtime;
  /**
   * Send batches of at least this many bytes with SEND_ZC / SENDMSG_ZC.
   * Default: 64 KiB to remote peers, never to loopback (where it is slower).
   * Infinity: never.
   */
  zeroCopyThreshold?: number;
}

/** Runs user code called from a completion; an exception surfaces as uncaught, as it would in node:net. */
function guarded(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    process.nextTick(() => {
      throw err;
    });
  }
}

const F_MORE = IORING_CQE_F_MORE;

export class Socket implements AsyncIterable<Buffer>, RecvSink, SendSink {
  readonly fd: number;
  readonly runtime: Runtime;
  /** Bytes received / sent so far. */
  bytesRead = 0;
  bytesWritten = 0;
  /** undefined: decided from the peer's address on the first large batch. */
  zeroCopyThreshold: number | undefined;
  readonly #pool: RecvPool;

  // receiving
  #receiver: Receiver | undefined;
  #recvOp: RecvStreamOp | undefined;
  #wantRead = false;
  #rxEnded = false;
  /**
   * What arrived while no receiver was set (a recv's CQEs still come after
   * setReceiver(undefined) cancelled it): kept for the next receiver, with
   * the end of the stream (true) or its error if that came too.
   */
  #stash: Buffer[] | undefined;
  #stashEnd: true | Error | undefined;
  #armScheduled = false;
  /** The re-arm for queueMicrotask, made at the first re-arm (most sockets never need one: 100 bytes each idle). */
  #arm: (() => void) | undefined;
  #rearm(): () => void {
    return (this.#arm ??= () => {
      this.#armScheduled = false;
      this.#armRecv();
    });
  }

  // sending
  readonly #wq = new WriteQueue();
  #sendOp: SendBatchOp | undefined;
  /**
   * The op of the batch before, for the next batch. The op whose CQE is
   * being handled still holds its slot until complete() returns, so sends
   * alternate between two ops per socket.
   */
  #spareSend: SendBatchOp | undefined;
  #sendCount = 0; // queue entries in #sendOp
  #writeError: Error | undefined;
  #ending = false;
  #endDone: Promise<void> | undefined;
  #endResolve: (() => void) | undefined;
  #endReject: ((e: unknown) => void) | undefined;

  #closed = false;
  #closePromise: Promise<void> | undefined;
  /** close() waits for the batch in flight to send what was queued behind it (see close()). */
  #flushed: (() => void) | undefined;
  #noFlush = false;
  /** The shutdown(SHUT_WR), once submitted: close() waits for it (see close()). */
  #shutdownOp: Promise<unknown> | undefined;
  #weak = false;
  #local: SocketAddress | null | undefined;
  #remote: SocketAddress | null | undefined;
  #queue: ChunkQueue | undefined;

  constructor(fd: number, options: SocketOptions & { remote?: SocketAddress | null } = {}) {
    validateFd(fd);
    validateObject(options, 'options');
    if (options.runtime !== undefined) validateRuntime(options.runtime);
    this.fd = fd;
    // The socket is this thread's until close(): if the thread ends first
    // (a worker, even terminated), the native side closes it.
    native().ownFd(fd);
    this.runtime = options.runtime ?? getRuntime();
    // Closed with its runtime, if it is still open then.
    this.runtime.hold(this);
    this.#pool = recvPool(this.runtime);
    this.zeroCopyThreshold = options.zeroCopyThreshold;
    if (options.remote !== undefined) this.#remote = options.remote;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes queued by write() and not yet taken by the kernel. */
  get writableLength(): number {
    return this.#wq.bytes;
  }

  /** Whether a write now would be queued (not closed, not ending, no write failed). */
  get acceptsWrites(): boolean {
    return !this.#closed && !this.#ending && this.#writeError === undefined;
  }

  // ------------------------------------------------------------ receiving

  /**
   * Sends what arrives to `receiver` from now on (one receiver at a time),
   * and starts receiving unless `start` is false (then resumeReading() does).
   */
  setReceiver(receiver: Receiver | undefined, start = true): void {
    if (receiver !== undefined) {
      validateObject(receiver, 'receiver');
      for (const k of ['data', 'end', 'error'] as const) validateFunction(receiver[k], `receiver.${k}`);
    }
    this.#receiver = receiver;
    if (receiver && (this.#stash || this.#stashEnd)) this.#unstash(receiver);
    if (receiver && start) this.resumeReading();
    else this.pauseReading();
  }

  /** Hands `receiver` what arrived while there was none. */
  #unstash(receiver: Receiver): void {
    const chunks = this.#stash ?? [];
    const end = this.#stashEnd;
    this.#stash = this.#stashEnd = undefined;
    for (const c of chunks) guarded(() => receiver.data(c));
    if (end === true) guarded(() => receiver.end());
    else if (end) guarded(() => receiver.error(end));
  }

  /** Starts (or resumes) receiving into the current receiver. */
  resumeReading(): void {
    this.#wantRead = true;
    this.#armRecv();
  }

  /** Stops receiving: the recv is cancelled; the kernel buffers, then TCP pushes back on the peer. */
  pauseReading(): void {
    this.#wantRead = false;
    const op = this.#recvOp;
    if (op && !op.cancelling) {
      op.cancelling = true;
      this.runtime.cancel(op);
    }
  }

  #armRecv(): void {
    if (this.#recvOp || !this.#wantRead || this.#rxEnded || this.#closed || !this.#receiver) return;
    const op = new RecvStreamOp(this, this.fd, this.#pool.bgid);
    op.weak = this.#weak;
    this.#recvOp = op;
    this.runtime.submit(op);
  }

  /** @internal A CQE of the multishot recv (RecvSink). */
  _onRecv(op: RecvStreamOp, res: number, flags: number): void {
    if (res > 0) {
      const chunk = this.#pool.take(flags >>> IORING_CQE_BUFFER_SHIFT, res, flags);
      this.bytesRead += res;
      const r = this.#receiver;
      if (!r) {
        // Cancelled by setReceiver(undefined), it still received: the bytes
        // are the next receiver's (a socket being closed drops them).
        if (!this.#closed) (this.#stash ??= []).push(chunk);
      } else if (!this.#closed) {
        let more = true;
        try {
          more = r.data(chunk);
        } catch (err) {
          // As guarded(): the receiver's exception surfaces as uncaught.
          process.nextTick(() => {
            throw err;
          });
        }
        if (!more && this.#wantRead) this.pauseReading();
      }
    } else if (res === 0) {
      this.#rxEnded = true;
      const r = this.#receiver;
      if (!r) this.#stashEnd ??= true;
      else if (!this.#closed) guarded(() => r.end());
    } else if (res === -ENOBUFS) {
      this.#pool.enobufs++;
    } else if (res !== -ECANCELED) {
      this.#rxEnded = true;
      const r = this.#receiver;
      const err = errnoError(res, 'read');
      if (!r) this.#stashEnd ??= err;
      else if (!this.#closed) guarded(() => r.error(err));
    }
    if (!(flags & F_MORE) && this.#recvOp === op) {
      this.#recvOp = undefined;
      // Re-arm outside the completion loop: the receiver may have paused or
      // closed in the meantime, and #armRecv checks again then.
      if (this.#wantRead && !this.#rxEnded && !this.#closed && !this.#armScheduled) {
        this.#armScheduled = true;
        queueMicrotask(this.#rearm());
      }
    }
  }

  /** @internal The runtime closed (or the recv never started) (RecvSink). */
  _onRecvAbandoned(op: RecvStreamOp, err: Error): void {
    if (op.state === OpState.Settled) return; // in flight: its CQEs still come, the last one ends it
    if (this.#recvOp === op) this.#recvOp = undefined;
    if (op.cancelling) {
      // A pause caught it in the backlog; resume re-arms.
      if (this.#wantRead && !this.#closed) queueMicrotask(this.#rearm());
      return;
    }
    this.#rxEnded = true;
    const r = this.#receiver;
    if (r && !this.#closed) guarded(() => r.error(err));
  }

  /** The chunks received, as an async iterator. Ends at the peer's FIN; throws ECONNRESET and the like. */
  [Symbol.asyncIterator](): AsyncIterableIterator<Buffer> {
    return this.#chunks();
  }

  #chunks(): ChunkQueue {
    if (!this.#queue) {
      this.#queue = new ChunkQueue(this, ITER_HIGH_WATER);
      this.setReceiver(this.#queue);
    }
    return this.#queue;
  }

  /**
   * Reads into `buffer`: resolves with the bytes read, 0 at the peer's FIN.
   * Draws from the same stream as the iterator.
   */
  async read(buffer: ArrayBufferView): Promise<number> {
    validateBuffer(buffer);
    return this.#chunks().readInto(new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength));
  }

  // ------------------------------------------------------------ sending

  /**
   * Queues `data` to send after everything queued before it; `cb` runs once
   * the kernel has taken all of it (or with the error that stopped it).
   * The bytes must not change until then.
   */
  writeCb(data: Uint8Array, cb?: WriteCallback): void {
    if (!(data instanceof Uint8Array))
      throw new InvalidArgTypeError('data', 'an instance of Buffer or Uint8Array', data);
    if (cb !== undefined) validateFunction(cb, 'cb');
    const err = this.#closed
      ? new SocketClosedError()
      : this.#ending
        ? new StreamWriteAfterEndError()
        : this.#writeError;
    if (err) {
      if (cb) queueMicrotask(() => cb(err));
      return;
    }
    if (data.byteLength === 0) {
      // Nothing to send; keep order with what is queued.
      if (this.#wq.length === 0) {
        if (cb) queueMicrotask(() => cb(null));
        return;
      }
    }
    this.#enqueue(data, cb, undefined);
  }

  #enqueue(
    data: Uint8Array,
    cb: WriteCallback | (() => void) | undefined,
    reject: ((e: Error) => void) | undefined,
  ): void {
    this.#wq.push(data, cb, reject);
    if (!this.#sendOp && !this.#corked) this.#pumpWrites();
  }

  #corked = false;
  /**
   * Holds what write() queues back from the kernel until uncork(): the
   * node:net-shaped socket gathers a turn's writes (node:http's pipelined
   * responses, ws's frames) into one send this way. A send already in
   * flight completes as usual; the queue waits for uncork().
   */
  cork(): void {
    this.#corked = true;
  }

  /** Sends what cork() held back. */
  uncork(): void {
    if (!this.#corked) return;
    this.#corked = false;
    if (!this.#sendOp) this.#pumpWrites();
  }

  /** Sends `data`; resolves once the kernel has taken all of it. */
  write(data: ArrayBufferView | string, encoding?: BufferEncoding): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = toBytes(data, encoding);
    } catch (err) {
      // Bad arguments reject, as every other promise method's do (not async: no extra await per write).
      return Promise.reject(err);
    }
    // The promise's own resolve/reject go in the queue: no closures per write.
    const promise = new Promise<void>(capture);
    const resolve = capturedResolve;
    const reject = capturedReject;
    const err = this.#closed
      ? new SocketClosedError()
      : this.#ending
        ? new StreamWriteAfterEndError()
        : this.#writeError;
    if (err) queueMicrotask(() => reject(err));
    else if (bytes.byteLength === 0 && this.#wq.length === 0) queueMicrotask(resolve);
    else this.#enqueue(bytes, resolve, reject);
    return promise;
  }

  /** Sends the buffers in order, gathered into as few sends as possible. */
  writev(chunks: readonly (ArrayBufferView | string)[]): Promise<void> {
    let views: Uint8Array[];
    try {
      if (!Array.isArray(chunks)) throw new InvalidArgTypeError('chunks', 'an instance of Array', chunks);
      // Array.from visits holes too (map skips them, and a hole would never be written nor resolve).
      views = Array.from(chunks, (c) => toBytes(c));
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      views.forEach((v, i) =>
        this.writeCb(v, i === views.length - 1 ? (err) => (err ? reject(err) : resolve()) : undefined),
      );
      if (views.length === 0) resolve();
    });
  }

  #pumpWrites(): void {
    if (this.#sendOp || this.#wq.length === 0) return;
    const n = Math.min(this.#wq.length, MAX_BATCH);
    let views: Uint8Array | Uint8Array[];
    let total = 0;
    if (n === 1) {
      views = this.#wq.first();
      total = views.byteLength;
    } else {
      views = this.#wq.slice(n);
      for (const v of views) total += v.byteLength;
    }
    if (total === 0) {
      // Only empty writes: nothing for the kernel. A buffer transferred away
      // since it was queued reads as empty too, and its bytes would be
      // missing from the stream: that fails, as in a batch (send-batch.ts).
      if (n === 1 ? viewDetached(views as Uint8Array) : (views as Uint8Array[]).some(viewDetached)) {
        this.#failWrites(detachedBuffer('sendmsg', 0));
        return;
      }
      this.#wq.finish(n);
      this.#pumpWrites();
      return;
    }
    const zc = this.#zeroCopy(total);
    let op = this.#spareSend;
    if (op && op.state === OpState.Released) {
      this.#spareSend = undefined;
      op.reuse(views, zc);
    } else {
      op = new SendBatchOp(this, this.fd, views, zc);
    }
    if (op.weak !== this.#weak) op.weak = this.#weak;
    this.#sendOp = op;
    this.#sendCount = n;
    this.runtime.submit(op);
  }

  /** Whether a batch of `total` bytes goes zero-copy. */
  #zeroCopy(total: number): boolean {
    if (this.zeroCopyThreshold === undefined) {
      if (total < DEFAULT_ZERO_COPY_THRESHOLD) return false;
      const peer = this.remoteAddress;
      this.zeroCopyThreshold =
        !peer || peer.family === 'Unix' || isLoopback(peer.address) ? Infinity : DEFAULT_ZERO_COPY_THRESHOLD;
    }
    return total >= this.zeroCopyThreshold && zeroCopySupported(this.runtime);
  }

  /** @internal The batch in flight completed with `res` bytes (or -errno) (SendSink). */
  _onSent(op: SendBatchOp, res: number): void {
    if (this.#sendOp !== op) return;
    this.#sendOp = undefined;
    const n = this.#sendCount;
    if (res === -EOPNOTSUPP && op.zc) {
      // This socket type cannot send zero-copy (a Unix socket): never again.
      this.zeroCopyThreshold = Infinity;
      this.#pumpWrites();
      return;
    }
    if (res < 0) {
      this.#failWrites(res === -ECANCELED && this.#closed ? new SocketClosedError() : errnoError(res, 'write'));
      return;
    }
    this.bytesWritten += res;
    const queued = this.#wq.length;
    this.#wq.consume(n, res);
    if (this.#closed) {
      const flushed = this.#flushed;
      this.#flushed = undefined;
      // close() is waiting for this batch and it went whole: what was
      // queued behind it goes next, ahead of the close (see close()).
      if (flushed && queued - this.#wq.length === n && this.#wq.length > 0) this.#pumpWrites();
      // Otherwise closed while this batch was in flight, and it completed
      // before the cancel: the fd number may be another socket's by now, so
      // neither the rest of the batch nor the end()'s shutdown may go to it.
      else if (this.#wq.length > 0) this.#wq.finish(this.#wq.length, new SocketClosedError());
      flushed?.();
    } else if (this.#wq.length > 0) {
      if (!this.#corked) this.#pumpWrites();
    } else if (this.#ending) this.#shutdownNow();
    op.park();
    this.#spareSend = op;
  }

  /** @internal The runtime closed with the batch in flight, or before it started (SendSink). */
  _onSendAbandoned(op: SendBatchOp, err: Error): void {
    if (op.state === OpState.Settled) return; // its CQE still comes
    if (this.#sendOp !== op) return;
    this.#sendOp = undefined;
    this.#failWrites(err);
  }

  /** A write failed: it and every write queued after it fail with `err`, so does end(), and a waiting close() goes on. */
  #failWrites(err: Error): void {
    this.#writeError ??= err;
    this.#wq.finish(this.#wq.length, err);
    this.#settleEnd(err);
    this.#flushDone();
  }

  #flushDone(): void {
    const flushed = this.#flushed;
    this.#flushed = undefined;
    flushed?.();
  }

  /**
   * Half-closes: once every queued write is sent, shutdown(SHUT_WR) sends
   * FIN. Receiving goes on. Resolves when the FIN is queued.
   */
  end(): Promise<void> {
    if (this.#endDone) return this.#endDone;
    if (this.#closed) return Promise.reject(new SocketClosedError());
    this.#ending = true;
    this.#endDone = new Promise<void>((resolve, reject) => {
      this.#endResolve = resolve;
      this.#endReject = reject;
    });
    this.uncork(); // the FIN follows what was held back
    if (this.#writeError) this.#settleEnd(this.#writeError);
    else if (!this.#sendOp && this.#wq.length === 0) this.#shutdownNow();
    return this.#endDone;
  }

  #shutdownNow(): void {
    const op = new ShutdownOp(this.fd, SHUT_WR);
    this.runtime.submit(op);
    // Settles, never rejects (end()'s promise gets the error).
    this.#shutdownOp = op.promise.then(
      () => this.#settleEnd(),
      (err: Error & { errno?: number }) =>
        this.#settleEnd(err.errno !== undefined ? errnoError(err.errno, 'shutdown') : err),
    );
  }

  #settleEnd(err?: Error): void {
    const resolve = this.#endResolve;
    const reject = this.#endReject;
    if (!resolve || !reject) return;
    this.#endResolve = this.#endReject = undefined;
    if (err) reject(err);
    else resolve();
  }

  // ------------------------------------------------------------ closing

  /**
   * Closes with an RST instead of a FIN (SO_LINGER on, 0 s: the kernel
   * drops what is unsent): the peer's next read or write fails with
   * ECONNRESET. node:net's resetAndDestroy(). @internal: not public yet
   * (the API fuzz saw the next dial fail after it; see the netconf report).
   */
  _reset(): Promise<void> {
    if (!this.#closed) native().setsockopt(this.fd, C.SOL_SOCKET, C.SO_LINGER, 0);
    this.#noFlush = true; // the kernel drops what is unsent anyway
    return this.close();
  }

  /**
   * Closes the socket: queued writes fail with ERR_SOCKET_CLOSED, every op
   * on it is cancelled, then the fd is closed (the peer sees FIN, or RST if
   * unread data was pending here). Idempotent.
   *
   * Writes queued behind a batch in flight are sent first if the kernel
   * takes that batch whole without waiting: node:net's writes are
   * synchronous, so `write(a); write(b); destroy()` hands both to the
   * kernel when its buffer has room (Fastify's clientError handler writes
   * its 400 so, behind a response still in flight here). The batch in
   * flight is cancelled if it waits for room (a peer that does not read),
   * and then the rest fails, as node:net drops what it could not write.
   */
  close(): Promise<void> {
    if (this.#closePromise) return this.#closePromise;
    this.#closed = true;
    this.runtime.letGo(this);
    this.#wantRead = false;
    const err = new SocketClosedError();
    let flush: Promise<void> | undefined;
    if (this.#sendOp && this.#wq.length > this.#sendCount && !this.#writeError && !this.#noFlush) {
      flush = new Promise((resolve) => (this.#flushed = resolve));
      // A batch waiting for room is cancelled now; one already done is not.
      const cancel = new CancelFdOp(this.fd);
      this.runtime.submit(cancel);
      cancel.promise.catch(() => {});
    } else if (this.#sendOp) {
      // Writes not yet handed to the kernel fail now; the batch in flight is
      // cancelled below and fails when its CQE arrives.
      this.#wq.failAfter(this.#sendCount, err);
    } else this.#wq.finish(this.#wq.length, err);
    this.#settleEnd(err);
    this.#queue?.close();
    // The kernel always runs a SHUTDOWN in a worker thread, which looks the fd
    // number up only when it starts: the cancel below does not see it, and if
    // the CLOSE ran first it could half-close whatever socket took the number
    // next (an accept's, node's own). So the close waits for it.
    const shutdown = this.#shutdownOp;
    const before = flush ?? shutdown;
    this.#closePromise = before ? before.then(() => this.#closeFd()) : this.#closeFd();
    return this.#closePromise;
  }

  /**
   * @internal Its runtime closed (Runtime.close): a read waiting, or the
   * next one, fails with `err` rather than look like the peer's FIN; so do
   * the writes not yet sent; then the socket closes.
   */
  closeWithRuntime(err: Error): void {
    if (this.#closed) return;
    const r = this.#receiver;
    if (!this.#rxEnded) {
      this.#rxEnded = true;
      if (r) guarded(() => r.error(err));
    }
    this.#failWrites(err);
    this.close().catch(() => {});
  }

  #closeFd(): Promise<void> {
    if (this.runtime.closed) {
      native().closeFd(this.fd);
      return Promise.resolve();
    }
    const close = new CancelCloseOp(this.fd);
    // Before the CLOSE can run: from then on the number may be another thread's.
    native().disownFd(this.fd);
    this.runtime.submit(close);
    return close.promise.catch((e: Error & { errno?: number }) => {
      if (e.errno !== undefined) throw errnoError(e.errno, 'close');
      if ((e as { code?: string }).code === 'ERR_URING_CLOSED') native().closeFd(this.fd);
      else throw e;
    });
  }

  // ------------------------------------------------------------ options & addresses

  /** TCP_NODELAY: send small writes at once instead of coalescing them (Nagle). */
  setNoDelay(noDelay = true): this {
    noDelay = Boolean(noDelay); // as node:net
    if (!this.#closed) native().setsockopt(this.fd, C.IPPROTO_TCP, C.TCP_NODELAY, noDelay ? 1 : 0);
    return this;
  }

  /** SO_KEEPALIVE, and TCP_KEEPIDLE from `initialDelay` milliseconds when given (> 0). */
  setKeepAlive(enable = false, initialDelay = 0): this {
    enable = Boolean(enable); // as node:net
    initialDelay = keepAliveDelay(initialDelay);
    if (this.#closed) return this;
    native().setsockopt(this.fd, C.SOL_SOCKET, C.SO_KEEPALIVE, enable ? 1 : 0);
    if (enable && initialDelay > 0)
      native().setsockopt(this.fd, C.IPPROTO_TCP, C.TCP_KEEPIDLE, Math.max(1, Math.floor(initialDelay / 1000)));
    return this;
  }

  /** The socket's own address (getsockname). */
  get localAddress(): SocketAddress | null {
    if (this.#local === undefined && !this.#closed) this.#local = socketAddress(this.fd, false);
    return this.#local ?? null;
  }

  /** The peer's address (getpeername); null once the peer is gone and it was never asked. */
  get remoteAddress(): SocketAddress | null {
    if (this.#remote === undefined && !this.#closed) this.#remote = socketAddress(this.fd, true);
    return this.#remote ?? null;
  }

  /** Whether this socket's pending I/O keeps the process alive (default: yes). */
  ref(): this {
    this.#setWeak(false);
    return this;
  }
  unref(): this {
    this.#setWeak(true);
    return this;
  }
  #setWeak(weak: boolean): void {
    this.#weak = weak;
    if (this.#recvOp) this.runtime.setWeak(this.#recvOp, weak);
    if (this.#sendOp) this.runtime.setWeak(this.#sendOp, weak);
  }
}

function toBytes(data: ArrayBufferView | string, encoding?: BufferEncoding): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, encoding);
  validateBuffer(data, 'data');
  return data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.');
}

/**
 * setKeepAlive's initialDelay as node:net reads it: a number of ms, anything
 * else as Number() makes it (NaN: 0); bigints and Symbols, on which node
 * throws a bare TypeError, are ERR_INVALID_ARG_TYPE.
 */
export function keepAliveDelay(v: unknown): number {
  if (typeof v === 'number') return v > 0 ? v : 0;
  if (typeof v === 'bigint') throw new InvalidArgTypeError('initialDelay', 'of type number', v);
  let n: number;
  try {
    n = Number(v);
  } catch {
    // A bigint, a Symbol, an object without a primitive value.
    throw new InvalidArgTypeError('initialDelay', 'of type number', v);
  }
  return n > 0 ? n : 0;
}
