// Byte accounting under aborts: a producer writes, a consumer reads with an
// AbortSignal that fires at every moment of an op's life, and at the end
// every byte written must have reached the consumer (a resolved read) or
// still be readable from the pipe or socket. Shared by the test suite (a
// few thousand rounds) and test/stress/abort-bytes.ts (10^5).
//
// Moments of the abort, relative to the read:
//   before      the signal is aborted before read() is called
//   same-turn   read(), then abort in the same turn: the SQE is written, not yet published
//   data-turn   data already waiting, read(), abort in the same turn
//   in-flight   read() submitted and waiting (nothing to read), abort, then data
//               in that same turn (before the cancel reaches the kernel)
//   cancelled   read() waiting, abort, the cancel submitted, then data
//   unreaped    read() waiting, data written, abort in that same turn: the kernel
//               has (or is about to have) completed the read, its CQE not reaped
//   settled     data waiting, read() completes during the submit, abort after
//   immediate   read() waiting, data written, abort one event-loop turn later
import { closeSync, constants, openSync, readSync, writeSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { connect as nodeConnect, createServer as nodeCreateServer, type Socket as NodeSocket } from 'node:net';
import { read, type Runtime } from '../../src/index.js';
import { connect as uringConnect, listen, type UringSocket } from '../../src/net/index.js';
import { tick, turn } from './wait.js';

export const MOMENTS = [
  'before',
  'same-turn',
  'data-turn',
  'in-flight',
  'cancelled',
  'unreaped',
  'settled',
  'immediate',
] as const;
export type Moment = (typeof MOMENTS)[number];

export interface Tally {
  rounds: number;
  written: number;
  /** Bytes resolved to the consumer. */
  received: number;
  /** Bytes read from the pipe or socket after the last round (never taken by an op). */
  leftover: number;
  resolved: number;
  aborted: number;
  /** written - received - leftover: what an abort dropped. */
  lost: number;
  /** Rounds whose read settled with something else than a value or an AbortError. */
  odd: string[];
  /** Per moment: rounds, resolved, aborted, and (with a per-round drain) rounds that lost bytes. */
  byMoment: Record<string, { rounds: number; resolved: number; aborted: number; lossyRounds: number }>;
  /** Rounds that lost bytes (known only for channels drained every round). */
  lossyRounds: number;
}

function newTally(): Tally {
  const byMoment: Tally['byMoment'] = {};
  for (const m of MOMENTS) byMoment[m] = { rounds: 0, resolved: 0, aborted: 0, lossyRounds: 0 };
  return {
    rounds: 0,
    written: 0,
    received: 0,
    leftover: 0,
    resolved: 0,
    aborted: 0,
    lost: 0,
    odd: [],
    byMoment,
    lossyRounds: 0,
  };
}

/** Where bytes come from and go to, for one kind of descriptor. */
export interface Channel {
  /** The descriptor the ring reads. */
  readonly fd: number;
  /** Writes `n` bytes now (synchronously, so they are in the kernel when it returns). */
  produce(n: number): void;
  /** Reads what is left (after the last round); returns the byte count. */
  drain(): number | Promise<number>;
  /** Where draining is cheap and synchronous: done after every round, so a loss is pinned to its round. */
  readonly drainEachRound?: boolean;
  close(): Promise<void> | void;
}

/** A FIFO: the ring reads a blocking read-write fd; a non-blocking one drains what is left. */
export function fifoChannel(path: string): Channel {
  execFileSync('mkfifo', [path]);
  const fd = openSync(path, constants.O_RDWR);
  const nb = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const bytes = Buffer.alloc(256, 0x5a);
  const scratch = Buffer.alloc(65536);
  return {
    fd,
    drainEachRound: true,
    produce(n) {
      let off = 0;
      while (off < n) off += writeSync(fd, bytes, off, n - off);
    },
    drain() {
      let total = 0;
      for (;;) {
        try {
          const got = readSync(nb, scratch);
          if (got === 0) return total;
          total += got;
        } catch (err) {
          if ((err as { code?: string }).code === 'EAGAIN') return total;
          throw err;
        }
      }
    },
    close() {
      closeSync(nb);
      closeSync(fd);
    },
  };
}

export interface RoundsOptions {
  runtime: Runtime;
  rounds: number;
  /** Also give every other read a linked timeout (a second CQE to settle from). */
  timed?: boolean;
  /** Bytes per round: 1 .. maxChunk (the read buffer is 128 bytes). */
  maxChunk?: number;
  /** Stop early after this many ms (the tally says how many rounds ran). */
  budgetMs?: number;
}

/**
 * Rounds of read(channel.fd, buf, { signal }) with an abort at each moment
 * in turn, the producer writing a few bytes every round (at most two
 * writes of 100 bytes: what an aborted read leaves is read by the next
 * one, or drained, so a pipe never fills and the producer never blocks).
 */
export async function abortedReads(ch: Channel, o: RoundsOptions): Promise<Tally> {
  const t = newTally();
  const rt = o.runtime;
  const maxChunk = o.maxChunk ?? 100;
  const buf = new Uint8Array(128);
  const deadline = performance.now() + (o.budgetMs ?? Infinity);
  // What the channel itself keeps in flight (a listener's multishot accept):
  // not ours to wait for.
  const base = rt.inflight;
  let seed = 12345;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const produce = () => {
    const n = 1 + rand(maxChunk);
    ch.produce(n);
    t.written += n;
  };
  for (let i = 0; i < o.rounds && performance.now() < deadline; i++) {
    const moment = MOMENTS[i % MOMENTS.length]!;
    const ac = new AbortController();
    const reason = { round: i };
    const opts: { runtime: Runtime; signal: AbortSignal; timeout?: number } = { runtime: rt, signal: ac.signal };
    if (o.timed && (i >> 3) % 2 === 1) opts.timeout = 60_000;
    const before = t.written - t.received - t.leftover;
    let p: Promise<number>;
    switch (moment) {
      case 'before':
        ac.abort(reason);
        p = read(ch.fd, buf, opts);
        produce();
        break;
      case 'same-turn':
        p = read(ch.fd, buf, opts);
        ac.abort(reason);
        produce();
        break;
      case 'data-turn':
        produce();
        p = read(ch.fd, buf, opts);
        ac.abort(reason);
        break;
      case 'in-flight':
        p = read(ch.fd, buf, opts);
        await tick();
        ac.abort(reason);
        produce();
        break;
      case 'cancelled':
        p = read(ch.fd, buf, opts);
        await tick();
        ac.abort(reason);
        await tick();
        produce();
        break;
      case 'unreaped':
        p = read(ch.fd, buf, opts);
        await tick();
        produce();
        ac.abort(reason);
        break;
      case 'settled':
        produce();
        p = read(ch.fd, buf, opts);
        await tick();
        ac.abort(reason);
        break;
      case 'immediate':
        p = read(ch.fd, buf, opts);
        await tick();
        produce();
        await turn();
        ac.abort(reason);
        break;
    }
    const m = t.byMoment[moment]!;
    m.rounds++;
    t.rounds++;
    try {
      const n = await p;
      t.received += n;
      t.resolved++;
      m.resolved++;
    } catch (e) {
      const err = e as { name?: string; cause?: unknown; code?: string; message?: string };
      if (err.name === 'AbortError' && err.cause === reason) {
        t.aborted++;
        m.aborted++;
      } else if (t.odd.length < 20) {
        t.odd.push(`${moment} #${i}: ${err.name} ${err.code} ${err.message}`);
      }
    }
    if (ch.drainEachRound) {
      // Once nothing is in flight, whatever the pipe holds is all that is
      // left of this round's bytes. (Reads settle from their CQE, so this
      // waits only where an op outlives its promise.)
      for (let k = 0; (rt.inflight > base || rt.backlog > 0) && k < 1000; k++) await turn();
      t.leftover += await ch.drain();
      const after = t.written - t.received - t.leftover;
      if (after !== before) {
        t.lossyRounds++;
        m.lossyRounds++;
      }
    }
  }
  // Nothing may still be in flight to take bytes after the count.
  const end = performance.now() + 5000;
  while ((rt.inflight > base || rt.backlog > 0) && performance.now() < end) await turn();
  t.leftover += await ch.drain();
  t.lost = t.written - t.received - t.leftover;
  return t;
}

export function summary(name: string, t: Tally): string {
  const per = Object.entries(t.byMoment)
    .map(([k, v]) => `${k} ${v.resolved}/${v.aborted}${v.lossyRounds ? ` lossy ${v.lossyRounds}` : ''}`)
    .join(', ');
  return `${name}: ${t.rounds} rounds, written ${t.written}, received ${t.received}, left readable ${t.leftover}, LOST ${t.lost} bytes${t.lossyRounds ? ` in ${t.lossyRounds} rounds` : ''}; resolved ${t.resolved}, aborted ${t.aborted} (resolved/aborted per moment: ${per})${t.odd.length ? `; odd: ${t.odd.join('; ')}` : ''}`;
}

/**
 * TCP over loopback: a uring server accepts (the native API), a node:net
 * client produces (its write() goes to the kernel synchronously when the
 * socket buffer has room), and the ring reads the accepted socket's fd.
 * What is left is read after the client's FIN.
 */
export async function tcpChannel(rt: Runtime): Promise<Channel> {
  const server = await listen({ host: '127.0.0.1', port: 0, runtime: rt });
  const accepted = server[Symbol.asyncIterator]().next();
  const client = nodeConnect({ host: '127.0.0.1', port: (server.address() as { port: number }).port });
  await once(client, 'connect');
  const sock = (await accepted).value as UringSocket;
  const bytes = Buffer.alloc(256, 0x6b);
  return {
    fd: sock.fd,
    produce(n) {
      client.write(bytes.subarray(0, n));
    },
    async drain() {
      client.end();
      const b = new Uint8Array(65536);
      let total = 0;
      for (;;) {
        const got = await read(sock.fd, b, { runtime: rt });
        if (got === 0) return total;
        total += got;
      }
    },
    async close() {
      client.destroy();
      await sock.close();
      await server.close();
    },
  };
}

/** A tally line for a stream scenario. */
export interface StreamResult {
  text: string;
  lost: number;
}

/** Producer side of a stream scenario: a node:net socket connected to `port`. */
async function producer(port: number) {
  const client = nodeConnect({ host: '127.0.0.1', port });
  await once(client, 'connect');
  const bytes = Buffer.alloc(4096, 0x71);
  let written = 0;
  let seed = 777;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  return {
    rand,
    get written() {
      return written;
    },
    produce(max = 4096) {
      const n = 1 + rand(max);
      client.write(bytes.subarray(0, n));
      written += n;
    },
    end: () => new Promise<void>((r) => client.end(r)),
    destroy: () => client.destroy(),
  };
}

/**
 * Multishot recv cancelled while bytes arrive: a native socket read
 * through its iterator with `break` (pauseReading) and re-entered, through
 * read(), through pause/resume of a receiver and with the receiver taken
 * away (setReceiver(undefined)); and node:net's Socket from uring/net,
 * paused and resumed. Bytes written == bytes received.
 */
export async function streamScenarios(rt: Runtime, rounds: number, budgetMs = Infinity): Promise<StreamResult[]> {
  const out: StreamResult[] = [];
  const server = await listen({ host: '127.0.0.1', port: 0, runtime: rt });
  const port = (server.address() as { port: number }).port;
  const conns = server[Symbol.asyncIterator]();
  const deadline = performance.now() + budgetMs;

  {
    // The iterator, broken out of and re-entered; read() in between.
    const p = await producer(port);
    const s = (await conns.next()).value as UringSocket;
    let got = 0;
    let cycles = 0;
    const b = new Uint8Array(512);
    for (; cycles < rounds && performance.now() < deadline; cycles++) {
      p.produce();
      if (p.rand(2) === 0) p.produce();
      // A byte lost would leave the loop waiting for data that never comes:
      // the watchdog writes more so the count (not a hang) shows the loss.
      const watchdog = setTimeout(() => p.produce(1), 200);
      if (cycles % 3 === 2) {
        got += await s.read(b);
      } else {
        for await (const c of s) {
          got += c.length;
          if (got >= p.written || p.rand(3) === 0) break;
        }
      }
      clearTimeout(watchdog);
      if (cycles % 5 === 0) await tick();
    }
    await p.end();
    for await (const c of s) got += c.length;
    out.push({
      text: `native socket iterator break/re-enter + read(): ${cycles} cycles, written ${p.written}, received ${got}, LOST ${p.written - got}`,
      lost: p.written - got,
    });
    await s.close();
  }

  {
    // A receiver paused, resumed, and taken away (setReceiver(undefined)).
    const p = await producer(port);
    const s = (await conns.next()).value as UringSocket;
    let got = 0;
    let ended = false;
    let onData: (() => void) | undefined;
    const receiver = {
      data(c: Buffer) {
        got += c.length;
        onData?.();
        return true;
      },
      end() {
        ended = true;
        onData?.();
      },
      error() {},
    };
    const waitData = (target: number) =>
      new Promise<void>((resolve) => {
        if (got >= target || ended) return resolve();
        const watchdog = setTimeout(() => {
          onData = undefined;
          resolve();
        }, 200);
        onData = () => {
          if (got < target && !ended) return;
          clearTimeout(watchdog);
          onData = undefined;
          resolve();
        };
      });
    let cycles = 0;
    for (; cycles < rounds && performance.now() < deadline; cycles++) {
      s.setReceiver(receiver);
      p.produce();
      const k = cycles % 4;
      if (k === 0) {
        // Taken away in the same turn as the data arrives.
        s.setReceiver(undefined);
        await tick();
      } else if (k === 1) {
        await tick();
        s.setReceiver(undefined);
        p.produce();
        await tick();
      } else if (k === 2) {
        s.pauseReading();
        p.produce();
        await turn();
        s.resumeReading();
        await waitData(p.written);
      } else {
        await waitData(p.written);
      }
    }
    s.setReceiver(receiver);
    await p.end();
    await waitData(Infinity);
    out.push({
      text: `native socket receiver pause/resume/removed: ${cycles} cycles, written ${p.written}, received ${got}, LOST ${p.written - got}`,
      lost: p.written - got,
    });
    await s.close();
  }

  {
    // node:net's Socket from uring/net, paused and resumed at random.
    const nodeServer = nodeCreateServer();
    nodeServer.listen(0, '127.0.0.1');
    await once(nodeServer, 'listening');
    const accepted = once(nodeServer, 'connection') as Promise<[NodeSocket]>;
    const sock = uringConnect({
      host: '127.0.0.1',
      port: (nodeServer.address() as { port: number }).port,
      runtime: rt,
    });
    await once(sock, 'connect');
    const [peer] = await accepted;
    const bytes = Buffer.alloc(4096, 0x33);
    let written = 0;
    let got = 0;
    sock.on('data', (c: Buffer) => {
      got += c.length;
    });
    const ended = once(sock, 'end');
    let seed = 99;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    let cycles = 0;
    for (; cycles < rounds && performance.now() < deadline; cycles++) {
      const n = 1 + rand(4096);
      peer.write(bytes.subarray(0, n));
      written += n;
      const k = cycles % 3;
      if (k === 0) {
        sock.pause();
        await tick();
        sock.resume();
      } else if (k === 1) {
        await tick();
        sock.pause();
        await turn();
        sock.resume();
      } else {
        await turn();
      }
    }
    peer.end();
    await ended;
    out.push({
      text: `uring/net Socket (node-shaped) pause/resume: ${cycles} cycles, written ${written}, received ${got}, LOST ${written - got}`,
      lost: written - got,
    });
    sock.destroy();
    await new Promise<void>((r) => nodeServer.close(() => r()));
  }
  await server.close();
  return out;
}
