// The receiver behind a Socket's async iterator and read(): chunks queue
// here until asked for; past a high-water mark the socket's recv is paused
// (the kernel buffers, then TCP pushes back on the peer), and below half of
// it resumed.
import { capture, capturedReject, capturedResolve } from '../runtime/op.js';
import type { Receiver, Socket } from './socket.js';

/** The iterator's receiver: a queue of chunks, paused past a high-water mark. */
export class ChunkQueue implements Receiver, AsyncIterableIterator<Buffer> {
  readonly #socket: Socket;
  readonly #hwm: number;
  readonly #chunks: Buffer[] = [];
  #head = 0;
  #bytes = 0;
  #ended = false;
  #error: Error | undefined;
  /** A next() waiting for a chunk: its promise's resolve and reject. */
  #waitResolve: ((r: IteratorResult<Buffer>) => void) | undefined;
  #waitReject: ((e: unknown) => void) | undefined;

  constructor(socket: Socket, hwm: number) {
    this.#socket = socket;
    this.#hwm = hwm;
  }

  data(chunk: Buffer): boolean {
    const resolve = this.#waitResolve;
    if (resolve) {
      this.#waitResolve = this.#waitReject = undefined;
      resolve({ value: chunk, done: false });
      return true;
    }
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    return this.#bytes < this.#hwm;
  }

  end(): void {
    this.#ended = true;
    this.#wake();
  }

  error(err: Error): void {
    this.#error = err;
    this.#wake();
  }

  close(): void {
    this.#ended = true;
    this.#wake();
  }

  #wake(): void {
    const resolve = this.#waitResolve;
    const reject = this.#waitReject;
    if (!resolve || !reject || this.#head < this.#chunks.length) return;
    if (this.#error) {
      const e = this.#error;
      this.#error = undefined;
      this.#ended = true;
      this.#waitResolve = this.#waitReject = undefined;
      reject(e);
    } else if (this.#ended) {
      this.#waitResolve = this.#waitReject = undefined;
      resolve({ value: undefined, done: true });
    }
  }

  #shift(): Buffer {
    const c = this.#chunks[this.#head]!;
    this.#chunks[this.#head++] = undefined as unknown as Buffer;
    if (this.#head === this.#chunks.length) {
      this.#chunks.length = 0;
      this.#head = 0;
    }
    this.#bytes -= c.length;
    // Below half the mark: receive again (pauseReading cancelled the recv).
    if (this.#bytes < this.#hwm / 2 && !this.#ended) this.#socket.resumeReading();
    return c;
  }

  next(): Promise<IteratorResult<Buffer>> {
    if (this.#head < this.#chunks.length) return Promise.resolve({ value: this.#shift(), done: false });
    if (this.#error) {
      const e = this.#error;
      this.#error = undefined;
      this.#ended = true;
      return Promise.reject(e);
    }
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    this.#socket.resumeReading();
    const promise = new Promise<IteratorResult<Buffer>>(capture);
    this.#waitResolve = capturedResolve;
    this.#waitReject = capturedReject;
    return promise;
  }

  /** read(buffer): copies from the queued chunks, waiting for one if none. */
  async readInto(out: Uint8Array): Promise<number> {
    if (out.byteLength === 0) return 0;
    if (this.#head === this.#chunks.length) {
      const r = await this.next();
      if (r.done) return 0;
      this.#chunks.splice(this.#head, 0, r.value);
      this.#bytes += r.value.length;
    }
    const c = this.#chunks[this.#head]!;
    const n = Math.min(c.length, out.byteLength);
    out.set(n === c.length ? c : c.subarray(0, n));
    if (n === c.length) this.#shift();
    else {
      this.#chunks[this.#head] = c.subarray(n);
      this.#bytes -= n;
    }
    return n;
  }

  /** Breaking out of `for await` stops receiving (the socket stays open). */
  return(): Promise<IteratorResult<Buffer>> {
    this.#socket.pauseReading();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
