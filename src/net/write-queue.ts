// A stream socket's queue of writes not yet taken by the kernel, in order,
// each with what to call once it is: a callback (writeCb), or the resolve
// and reject of write()'s promise (no closure per write). The socket sends
// the head of the queue a batch at a time (socket.ts) and reports back here
// how many bytes went out.
//
// The queue is three parallel arrays, live in [head, tail). They keep their
// length when the queue empties (truncating and growing them again per
// write showed in profiles); slots are cleared as entries finish, so no
// buffer outlives its write. A socket that never writes has none of its
// own (they start as shared empty arrays, replaced at the first push: an
// idle connection costs 96 bytes less), and one that drains after a burst
// of more than KEEP writes gives its long arrays back.

export type WriteCallback = (err?: Error | null) => void;

/** callGuarded(cb, err) runs a write's callback as a completion runs user code: an exception surfaces as uncaught (as in node:net), without a closure per call. */
function callGuarded(cb: WriteCallback, err: Error | null): void {
  try {
    cb(err);
  } catch (e) {
    process.nextTick(() => {
      throw e;
    });
  }
}

/** Shared by every queue that has not had a write: never written to (push replaces them first). */
const NO_DATA: Uint8Array[] = [];
const NO_CB: (WriteCallback | (() => void) | undefined)[] = [];
const NO_REJECT: (((e: Error) => void) | undefined)[] = [];
/** Slots a drained queue keeps (more came from a burst, and are given back). */
const KEEP = 64;

export class WriteQueue {
  #data: Uint8Array[] = NO_DATA;
  /** A write's callback, or the resolve of write()'s promise (then #reject has its reject). */
  #cb: (WriteCallback | (() => void) | undefined)[] = NO_CB;
  #reject: (((e: Error) => void) | undefined)[] = NO_REJECT;
  #head = 0;
  #tail = 0;
  /** Bytes in [head, tail), kept as writes come and go (a writer checks it per write). */
  #bytes = 0;

  /** Writes queued. */
  get length(): number {
    return this.#tail - this.#head;
  }

  /** Bytes queued. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Queues `data`; `cb` (or, with `reject`, a promise's resolve) runs once it is sent. */
  push(data: Uint8Array, cb: WriteCallback | (() => void) | undefined, reject: ((e: Error) => void) | undefined): void {
    const t = this.#tail++;
    this.#bytes += data.byteLength;
    if (t === this.#data.length) {
      if (t === 0) {
        // The first write (or the first since a burst's arrays went back).
        this.#data = [data];
        this.#cb = [cb];
        this.#reject = [reject];
      } else {
        this.#data.push(data);
        this.#cb.push(cb);
        this.#reject.push(reject);
      }
    } else {
      this.#data[t] = data;
      this.#cb[t] = cb;
      this.#reject[t] = reject;
    }
  }

  /** The first write's bytes (the queue is not empty). */
  first(): Uint8Array {
    return this.#data[this.#head]!;
  }

  /** The first `n` writes' bytes, a sendmsg's iovecs. */
  slice(n: number): Uint8Array[] {
    return this.#data.slice(this.#head, this.#head + n);
  }

  /**
   * `sent` bytes of the first `n` writes went out: completes the writes the
   * kernel took whole; a short send leaves the rest of the first unfinished
   * one at the head of the queue.
   */
  consume(n: number, sent: number): void {
    const h = this.#head;
    let done = 0;
    let left = sent;
    while (done < n) {
      const len = this.#data[h + done]!.byteLength;
      if (left < len) break;
      left -= len;
      done++;
    }
    if (done < n && left > 0) {
      this.#data[h + done] = this.#data[h + done]!.subarray(left);
      this.#bytes -= left;
    }
    this.finish(done);
  }

  /** Completes the first `n` writes, or fails them with `err`. */
  finish(n: number, err?: Error): void {
    // A callback may close the socket, which fails every write left (a
    // nested finish): then there is nothing left for this loop.
    for (let i = 0; i < n && this.#head < this.#tail; i++) {
      const h = this.#head++;
      const cb = this.#cb[h];
      const reject = this.#reject[h];
      this.#bytes -= this.#data[h]!.byteLength;
      this.#data[h] = undefined as unknown as Uint8Array;
      this.#cb[h] = undefined;
      this.#reject[h] = undefined;
      if (reject) {
        if (err) reject(err);
        else (cb as () => void)();
      } else if (cb) {
        callGuarded(cb, err ?? null);
      }
    }
    if (this.#head === this.#tail) {
      this.#head = this.#tail = 0;
      if (this.#data.length > KEEP) {
        this.#data = NO_DATA;
        this.#cb = NO_CB;
        this.#reject = NO_REJECT;
      }
    } else if (this.#head > 1024 && this.#head * 2 > this.#tail) {
      this.#data.splice(0, this.#head);
      this.#cb.splice(0, this.#head);
      this.#reject.splice(0, this.#head);
      this.#tail -= this.#head;
      this.#head = 0;
    }
  }

  /** Fails, with `err`, every write after the first `keep` (those the kernel was not handed). */
  failAfter(keep: number, err: Error): void {
    const end = this.#head + keep;
    for (let i = end; i < this.#tail; i++) {
      const cb = this.#cb[i];
      const reject = this.#reject[i];
      this.#bytes -= this.#data[i]!.byteLength;
      this.#data[i] = undefined as unknown as Uint8Array;
      this.#cb[i] = undefined;
      this.#reject[i] = undefined;
      if (reject) reject(err);
      else if (cb) callGuarded(cb, err);
    }
    this.#tail = end;
  }
}
