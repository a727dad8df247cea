// node:net's `onread` option: received bytes go into the program's own
// buffer (one it gave, or one a function returns for each read) and to its
// callback, `callback(nread, buffer)`, instead of 'data' events. A callback
// returning false, or pause(), stops reading until resume().
//
// uring receives into its own pool, so each chunk is copied into the
// program's buffer, in pieces when it is smaller; what a pause leaves of a
// chunk waits for resume(), and so does the end of the stream behind it.
// Only sockets made with the option use this receiver.
import type { Duplex } from 'node:stream';
import type { Receiver, Socket as NativeSocket } from './socket.js';

export interface OnreadOption {
  buffer: Uint8Array | (() => Uint8Array);
  callback: (this: Duplex, nread: number, buf: Uint8Array) => unknown;
}

/** The option when it has node's shape (node ignores it otherwise). */
export function onreadOption(v: unknown): OnreadOption | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const { buffer, callback } = v as Partial<OnreadOption>;
  if (!(buffer instanceof Uint8Array) && typeof buffer !== 'function') return undefined;
  if (typeof callback !== 'function') return undefined;
  return { buffer, callback };
}

export class OnreadReceiver implements Receiver {
  /** Stopped by pause() or by the callback's false. */
  paused = false;
  #rest: Buffer | undefined;
  #endWaits = false;

  constructor(
    readonly socket: Duplex,
    readonly option: OnreadOption,
    readonly counted: (bytes: number) => void,
  ) {}

  data(chunk: Buffer): boolean {
    this.counted(chunk.length);
    return this.#deliver(chunk);
  }

  end(): void {
    if (this.#rest) this.#endWaits = true;
    else this.#end();
  }

  error(err: Error): void {
    this.socket.destroy(err);
  }

  pause(handle: NativeSocket | undefined): void {
    this.paused = true;
    handle?.pauseReading();
  }

  resume(handle: NativeSocket | undefined): void {
    if (!this.paused) return;
    this.paused = false;
    const rest = this.#rest;
    this.#rest = undefined;
    if (rest) this.#deliver(rest);
    if (this.paused) return;
    if (this.#endWaits) {
      this.#endWaits = false;
      this.#end();
    } else handle?.resumeReading();
  }

  #deliver(chunk: Buffer): boolean {
    const { buffer, callback } = this.option;
    let off = 0;
    while (off < chunk.length) {
      if (this.paused || this.socket.destroyed) {
        this.#rest = chunk.subarray(off);
        return false;
      }
      const buf = typeof buffer === 'function' ? buffer() : buffer;
      const n = Math.min(buf.byteLength, chunk.length - off);
      buf.set(chunk.subarray(off, off + n));
      off += n;
      if (callback.call(this.socket, n, buf) === false) this.paused = true;
    }
    return !this.paused;
  }

  #end(): void {
    // As node's: a buffer is asked for before each read, the one that finds the end too.
    if (typeof this.option.buffer === 'function') this.option.buffer();
    this.socket.push(null);
    this.socket.read(0);
  }
}
