// Helpers shared by the socket tests: patterned data, readers that wait for
// an exact number of bytes, and servers (node:net and uring) to talk to.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import * as nodeNet from 'node:net';
import type { Readable } from 'node:stream';
import { native } from '../../src/native.js';
import { sockaddr } from '../../src/ring/structs.js';
import { AF_INET, SOCK_STREAM, SOCK_CLOEXEC } from '../../src/ring/uapi.js';
import { listen, type UringServer, type UringSocket, type ListenOptions } from '../../src/net/index.js';
import { getRuntime } from '../../src/runtime/index.js';
import { turn, waitFor, within } from '../helpers/wait.js';
import { tcpAcceptQueue } from '../helpers/proc.js';

/**
 * `size` bytes in which every 4-byte word depends on its index (and `seed`),
 * so a lost, repeated or reordered chunk anywhere changes the bytes.
 */
export function pattern(size: number, seed = 0): Buffer {
  const b = Buffer.allocUnsafeSlow(size);
  const words = size >>> 2;
  const u = new Uint32Array(b.buffer, b.byteOffset, words);
  for (let i = 0; i < words; i++) u[i] = (Math.imul(i + seed, 2654435761) ^ (i >>> 9)) >>> 0;
  for (let j = words * 4; j < size; j++) b[j] = (j + seed) & 255;
  return b;
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** `buf` cut into pieces of irregular sizes (the same every run), covering it exactly. */
export function pieces(
  buf: Buffer,
  sizes: readonly number[] = [1 << 20, 7, 300_001, 65_536, 1, 2_000_000, 4_093],
): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0, i = 0; off < buf.length; i++) {
    const n = Math.min(sizes[i % sizes.length]!, buf.length - off);
    out.push(buf.subarray(off, off + n));
    off += n;
  }
  return out;
}

/** Hashes a node stream to its end: its length and sha256. */
export async function hashStream(stream: Readable): Promise<{ length: number; sha256: string }> {
  const h = createHash('sha256');
  let length = 0;
  stream.on('data', (c: Buffer) => {
    h.update(c);
    length += c.length;
  });
  await once(stream, 'end');
  return { length, sha256: h.digest('hex') };
}

/** Hashes what a uring socket receives, to its end. */
export async function hashUring(socket: UringSocket): Promise<{ length: number; sha256: string }> {
  const h = createHash('sha256');
  let length = 0;
  for await (const c of socket) {
    h.update(c);
    length += c.length;
  }
  return { length, sha256: h.digest('hex') };
}

/** Everything a uring socket receives until the peer's FIN. */
export async function drainUring(socket: UringSocket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of socket) chunks.push(c);
  return Buffer.concat(chunks);
}

/** Reads exactly `n` bytes from a uring socket (throws if it ends first). */
export async function readExactly(socket: UringSocket, n: number): Promise<Buffer> {
  const out = Buffer.alloc(n);
  let off = 0;
  while (off < n) {
    const got = await socket.read(out.subarray(off));
    if (got === 0) throw new Error(`the stream ended after ${off} of ${n} bytes`);
    off += got;
  }
  return out;
}

/** Buffers a node stream's data so a test can take exact byte counts, or the rest at its end. */
export class Reader {
  #chunks: Buffer[] = [];
  #length = 0;
  #ended = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;

  constructor(readonly stream: Readable) {
    stream.on('data', (c: Buffer) => {
      this.#chunks.push(c);
      this.#length += c.length;
      this.#notify();
    });
    stream.on('end', () => {
      this.#ended = true;
      this.#notify();
    });
    stream.on('error', (e: Error) => {
      this.#error = e;
      this.#notify();
    });
  }

  get ended(): boolean {
    return this.#ended;
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  async #wait(): Promise<void> {
    if (this.#error) throw this.#error;
    await new Promise<void>((resolve) => (this.#wake = resolve));
  }

  /** The next `n` bytes. */
  async take(n: number): Promise<Buffer> {
    while (this.#length < n) {
      if (this.#error) throw this.#error;
      if (this.#ended) throw new Error(`the stream ended after ${this.#length} of ${n} bytes`);
      await this.#wait();
    }
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    this.#chunks = n < all.length ? [all.subarray(n)] : [];
    this.#length -= n;
    return all.subarray(0, n);
  }

  /** Everything left, once the stream has ended. */
  async rest(): Promise<Buffer> {
    while (!this.#ended) await this.#wait();
    const all = Buffer.concat(this.#chunks);
    this.#chunks = [];
    this.#length = 0;
    return all;
  }
}

/** Listens (node:net or the node-shaped uring Server) and waits for 'listening' ('error' rejects). */
export async function listening<S extends { listen(...args: any[]): unknown } & NodeJS.EventEmitter>(
  server: S,
  ...args: unknown[]
): Promise<S> {
  server.listen(...args);
  await once(server, 'listening');
  return server;
}

/** Closes a node:net-style server and waits for its 'close'. */
export function closeServer(server: { close(cb?: (err?: Error) => void): unknown }): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** The TCP port a node:net-style server listens on. */
export function portOf(server: { address(): unknown }): number {
  return (server.address() as nodeNet.AddressInfo).port;
}

/** A node:net echo server; its connections are tracked so close() can end them. */
export async function nodeEchoServer(listenArgs: unknown[] = [0, '127.0.0.1'], options: nodeNet.ServerOpts = {}) {
  const sockets = new Set<nodeNet.Socket>();
  const server = nodeNet.createServer(options, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.pipe(s);
  });
  await listening(server, ...listenArgs);
  return {
    server,
    sockets,
    get port() {
      return portOf(server);
    },
    async close() {
      for (const s of sockets) s.destroy();
      await closeServer(server);
    },
  };
}

/** Echoes one uring socket until the peer's FIN, then ends and closes it. */
export async function echoUring(socket: UringSocket): Promise<void> {
  try {
    for await (const c of socket) await socket.write(c);
    await socket.end();
  } catch {
    // the client saw what it saw; the test asserts on its side
  } finally {
    await socket.close();
  }
}

/** A uring (native API) echo server; close() closes it and every accepted socket. */
export async function uringEchoServer(options: ListenOptions = { host: '127.0.0.1', port: 0 }) {
  const server: UringServer = await listen(options);
  const sockets = new Set<UringSocket>();
  const done = (async () => {
    for await (const s of server) {
      sockets.add(s);
      void echoUring(s).finally(() => sockets.delete(s));
    }
  })();
  return {
    server,
    sockets,
    get port() {
      return (server.address() as { port: number }).port;
    },
    async close() {
      await server.close();
      await done;
      await Promise.all([...sockets].map((s) => s.close()));
    },
  };
}

/** A port nothing listens on (a node:net server bound it and closed). */
export async function refusedPort(host = '127.0.0.1'): Promise<number> {
  const s = await listening(nodeNet.createServer(), 0, host);
  const port = portOf(s);
  await closeServer(s);
  return port;
}

/**
 * A loopback port where connect() hangs: a listener with a backlog of 0 that
 * never accepts, its accept queue filled, so the kernel drops further SYNs.
 */
export async function hangingPort(): Promise<{ port: number; close(): Promise<void> }> {
  const n = native();
  const fd = n.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new Error(`socket: ${fd}`);
  if (n.bind(fd, sockaddr({ host: '127.0.0.1', port: 0 })) < 0 || n.listen(fd, 0) < 0)
    throw new Error('bind/listen failed');
  const name = new Uint8Array(128);
  n.sockName(fd, name, false);
  const port = (name[2]! << 8) | name[3]!;
  // One connection fills the accept queue of a backlog of 0; once the
  // kernel counts it there, it drops SYNs and a connect waits (retransmitting).
  const filler = nodeNet.connect(port, '127.0.0.1');
  filler.on('error', () => {});
  const fillers = [filler];
  await within(once(filler, 'connect'), 5000, 'the connection that fills the accept queue');
  await waitFor(
    () => {
      const q = tcpAcceptQueue(port);
      return q !== undefined && q.queued > q.backlog;
    },
    { timeout: 5000, what: () => `the accept queue to be full (${JSON.stringify(tcpAcceptQueue(port))})` },
  );
  return {
    port,
    async close() {
      for (const s of fillers) s.destroy();
      n.closeFd(fd);
    },
  };
}

/**
 * Records which process-level failures happen while `fn` runs (unhandled
 * rejections, uncaught exceptions), on the default runtime.
 */
export async function watchProcess<T>(fn: () => Promise<T>): Promise<{ value: T; unhandled: unknown[] }> {
  const unhandled: unknown[] = [];
  const onRejection = (reason: unknown) => unhandled.push(reason);
  const onException = (err: unknown) => unhandled.push(err);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  const rt = getRuntime();
  const base = rt.inflight;
  try {
    const value = await fn();
    // A dropped promise rejects when the op under it completes: wait until
    // every op started meanwhile has (the runtime's in-flight count back to
    // where it was), then one event-loop turn: node emits
    // 'unhandledRejection' once the microtasks of the callback that rejected
    // the promise have run, before the next macrotask (this setImmediate).
    await waitFor(() => rt.inflight <= base && rt.backlog === 0, {
      timeout: 5000,
      what: () =>
        `the ops started meanwhile to complete (in flight ${rt.inflight}, before ${base}; backlog ${rt.backlog})`,
    });
    await turn();
    return { value, unhandled };
  } finally {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  }
}

/** A system error's fields, as the tests compare them between node:net and uring/net. */
export function errorShape(e: unknown): Record<string, unknown> {
  const err = e as Error & { code?: unknown; errno?: unknown; syscall?: unknown; address?: unknown; port?: unknown };
  return {
    name: err.name,
    message: err.message,
    code: err.code,
    errno: err.errno,
    syscall: err.syscall,
    address: err.address,
    port: err.port,
  };
}
