// The callbacks of writes and end() around destroy(), side by side with
// node:net: a write handed to the kernel and cut short by destroy() calls
// back without an error (node's handle reports completion to a destroyed
// stream as success), and what the stream still buffered then fails with
// ERR_STREAM_DESTROYED, in that order. Here the close's ERR_SOCKET_CLOSED
// reached the stream as the write's error, and so every later callback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as nodeNet from 'node:net';
import * as uringNet from '../../src/net/index.js';
import { listening, closeServer, portOf } from './util.js';
import { within } from '../helpers/wait.js';

type Scenario = (c: nodeNet.Socket, log: string[]) => Promise<void> | void;

/** What `scenario` logs with `net`'s client, against a node:net peer that reads (or never does). */
async function trace(net: typeof nodeNet, scenario: Scenario, peerReads = true): Promise<string[]> {
  let peer: nodeNet.Socket | undefined;
  const server = await listening(
    nodeNet.createServer((p) => {
      peer = p;
      if (!peerReads) p.pause();
      p.on('error', () => {});
    }),
    0,
    '127.0.0.1',
  );
  const log: string[] = [];
  try {
    const c = net.connect(portOf(server), '127.0.0.1');
    c.on('error', (e: Error & { code?: string }) => log.push(`error ${e.code ?? e.message}`));
    c.on('finish', () => log.push('finish'));
    const closed = new Promise<void>((resolve) =>
      c.on('close', (hadError: boolean) => resolve(void log.push(`close ${hadError}`))),
    );
    await once(c, 'connect');
    await scenario(c, log);
    await within(closed, 5_000, "the client's close");
    log.push(`bytesWritten ${c.bytesWritten}`);
    return log;
  } finally {
    peer?.destroy();
    await closeServer(server);
  }
}

const cb = (log: string[], tag: string) => (e?: Error | null) =>
  log.push(`${tag} ${e ? ((e as { code?: string }).code ?? e.message) : 'ok'}`);

async function sameAsNode(scenario: Scenario, peerReads = true): Promise<void> {
  const expected = await trace(nodeNet, scenario, peerReads);
  assert.deepEqual(await trace(uringNet as unknown as typeof nodeNet, scenario, peerReads), expected);
}

test('write(big) to a peer that does not read, then destroy(): no hang, callbacks as node:net', async () => {
  await sameAsNode((c, log) => {
    c.write(Buffer.alloc(32 << 20), cb(log, 'big'));
    c.write('x', cb(log, 'x'));
    c.destroy();
  }, false);
});

test('write(big) to a peer that does not read, destroy() a turn later: as node:net', async () => {
  await sameAsNode(async (c, log) => {
    c.write(Buffer.alloc(32 << 20), cb(log, 'big'));
    c.write('x', cb(log, 'x'));
    await new Promise((r) => setImmediate(r));
    c.destroy();
  }, false);
});

test('end(x); destroy(): the end callback gets ERR_STREAM_DESTROYED, as node:net', async () => {
  await sameAsNode((c, log) => {
    c.end('x', cb(log, 'end'));
    c.destroy();
  });
});

test('write(a); end(x); destroy(): callbacks in node:net order', async () => {
  await sameAsNode((c, log) => {
    c.write('a'.repeat(1000), cb(log, 'a'));
    c.end('x', cb(log, 'end'));
    c.destroy();
  });
});

test('end(); destroy() in one tick: as node:net', async () => {
  await sameAsNode((c, log) => {
    c.end(cb(log, 'end'));
    c.destroy();
  });
});

test('destroy(err) and resetAndDestroy() after writes: as node:net', async () => {
  await sameAsNode((c, log) => {
    c.write('a'.repeat(1000), cb(log, 'a'));
    c.write('b', cb(log, 'b'));
    c.destroy(new Error('boom'));
  });
  await sameAsNode((c, log) => {
    c.write('a'.repeat(1000), cb(log, 'a'));
    c.write('b', cb(log, 'b'));
    c.resetAndDestroy();
  });
});

test('destroy() while end() shuts down: as node:net (no error reaches the stream)', async () => {
  // destroy() from inside _final: the shutdown is under way in both.
  await sameAsNode((c, log) => {
    const h = c as unknown as { _final(cb: (e?: Error | null) => void): void };
    const final = h._final.bind(c);
    h._final = (done) => {
      final(done);
      c.destroy();
    };
    c.write('a', cb(log, 'a'));
    c.end(cb(log, 'end'));
  });
});
