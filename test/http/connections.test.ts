// uring/http's connections set up as node:http's own, each compared with
// node:http: no Nagle on a keep-alive connection (a response written in two
// parts does not wait for the peer's delayed ACK), slow clients cut off at
// headersTimeout with a 408 (node's connection checks started by
// 'listening'), pipelining, Expect: 100-continue, 'upgrade' with a raw
// exchange, Express, and curl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import * as nodeNet from 'node:net';
import express from 'express';
import { createServer } from '../../src/http/index.js';
import { Socket as USocket } from '../../src/net/index.js';
import { kinds, listening, closeServer, portOf, raw } from './util.js';
import { within, waitFor } from '../helpers/wait.js';

/** ms of each of `n` sequential GETs on one keep-alive connection. */
async function sequentialLatencies(port: number, n: number): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const sockets = new Set<unknown>();
  const times: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await new Promise<void>((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('socket', (s) => sockets.add(s));
        req.on('error', reject);
      });
      times.push(performance.now() - t0);
    }
  } finally {
    agent.destroy();
  }
  assert.equal(sockets.size, 1, 'one connection carried every request');
  return times;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

test('keep-alive: a response written in two parts is not held back by Nagle (200 requests, one connection)', async () => {
  const p50 = new Map<string, number>();
  for (const [kind, make] of kinds) {
    const server = await listening(
      make((_req, res) => {
        res.write('hello ');
        res.end('world');
      }),
    );
    p50.set(kind, median(await sequentialLatencies(portOf(server), 200)));
    await closeServer(server);
  }
  // With Nagle on, the second part waits for the client's delayed ACK (~40 ms
  // on Linux) every time; without, a request takes well under a millisecond
  // here. 10 ms leaves room for a loaded machine and none for Nagle.
  for (const [kind, ms] of p50)
    assert.ok(
      ms < 10,
      `${kind}: p50 ${ms.toFixed(2)} ms (${[...p50].map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')})`,
    );
});

test("the noDelay option is stored where node:net reads it per connection (default true), as node:http's", async () => {
  // The other side of the same option: node's http passes noDelay through to
  // its net.Server; each accepted socket is set from it.
  const server = createServer({ noDelay: false });
  assert.equal((server as unknown as { noDelay: boolean }).noDelay, false);
  const dflt = createServer();
  assert.equal((dflt as unknown as { noDelay: boolean }).noDelay, true);
  assert.equal((http.createServer() as unknown as { noDelay: boolean }).noDelay, true);
});

test("slow client: half a header is answered 408 and closed at headersTimeout, as node's", async () => {
  const results = [];
  for (const [kind, make] of kinds) {
    const server = await listening(
      make({ headersTimeout: 1000, requestTimeout: 2000, connectionsCheckingInterval: 100 }, (_req, res) =>
        res.end('ok'),
      ),
    );
    const reply = await raw(portOf(server), ['GET / HTTP/1.1\r\nHost: x\r\nX-Slow: '], 10_000);
    await closeServer(server);
    results.push({ kind, status: reply.data.split('\r\n')[0], closedAfter: reply.closedAfter });
  }
  for (const r of results) {
    assert.equal(r.status, 'HTTP/1.1 408 Request Timeout', r.kind);
    // Checked every connectionsCheckingInterval: at or a little after headersTimeout.
    assert.ok(r.closedAfter >= 900 && r.closedAfter < 5000, `${r.kind}: closed after ${r.closedAfter} ms`);
  }
});

test('pipelining: 10 requests in one write, 10 responses in order', async () => {
  for (const [kind, make] of kinds) {
    const server = await listening(make((req, res) => res.end(`r${req.url!.slice(1)}`)));
    const reqs = Array.from(
      { length: 10 },
      (_, i) => `GET /${i} HTTP/1.1\r\nHost: x\r\n${i === 9 ? 'Connection: close\r\n' : ''}\r\n`,
    ).join('');
    const reply = await raw(portOf(server), [reqs]);
    await closeServer(server);
    const got = [...reply.data.matchAll(/\r\n\r\n(r\d)/g)].map((m) => m[1]);
    assert.deepEqual(
      got,
      Array.from({ length: 10 }, (_, i) => `r${i}`),
      kind,
    );
    assert.equal(reply.data.split('HTTP/1.1 200 OK').length - 1, 10, kind);
  }
});

test('Expect: 100-continue: the client gets 100 Continue, sends its body, gets the answer', async () => {
  for (const [kind, make] of kinds) {
    const server = await listening(
      make((req, res) => {
        let n = 0;
        req.on('data', (c: Buffer) => (n += c.length));
        req.on('end', () => res.end(`got ${n}`));
      }),
    );
    const result = await within(
      new Promise<{ continued: boolean; body: string }>((resolve, reject) => {
        let continued = false;
        const req = http.request({
          host: '127.0.0.1',
          port: portOf(server),
          method: 'POST',
          path: '/',
          agent: false,
          headers: { Expect: '100-continue', 'Content-Length': 5000 },
        });
        req.on('continue', () => {
          continued = true;
          req.end(Buffer.alloc(5000, 1));
        });
        req.on('response', (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => resolve({ continued, body }));
        });
        req.on('error', reject);
        req.flushHeaders();
      }),
      5000,
      kind,
    );
    assert.deepEqual(result, { continued: true, body: 'got 5000' }, kind);
    await closeServer(server);
  }
});

test("'upgrade': a WebSocket-style handshake, then raw bytes both ways on the same socket", async () => {
  for (const [kind, make] of kinds) {
    const server = make();
    let upgradedSocket: unknown;
    server.on('upgrade', (req: http.IncomingMessage, socket: nodeNet.Socket, head: Buffer) => {
      upgradedSocket = socket;
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${req.headers.upgrade}\r\nConnection: Upgrade\r\n\r\n`,
      );
      // Bytes that came with the request after its headers, then the rest: echoed upper-cased.
      if (head.length) socket.write(head.toString('latin1').toUpperCase());
      socket.on('data', (d: Buffer) => socket.write(d.toString('latin1').toUpperCase()));
      socket.on('end', () => socket.end());
    });
    await listening(server);
    const c = nodeNet.connect(portOf(server), '127.0.0.1');
    await once(c, 'connect');
    c.setEncoding('latin1');
    let data = '';
    c.on('data', (d: string) => (data += d));
    c.write('GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nfirst;');
    const until = (s: string) =>
      waitFor(() => data.includes(s), { what: () => `${kind}: ${JSON.stringify(s)} in ${JSON.stringify(data)}` });
    await until('FIRST;');
    c.write('second');
    await until('SECOND');
    c.end();
    await within(once(c, 'close'), 5000, `${kind}: close`);
    assert.match(
      data,
      /^HTTP\/1\.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nFIRST;SECOND$/,
      kind,
    );
    if (kind === 'uring/http') assert.ok(upgradedSocket instanceof USocket);
    await closeServer(server);
  }
});

test('Express hello world through it, and curl', async () => {
  const app = express();
  app.get('/', (_req, res) => {
    res.send('Hello World!');
  });
  const server = await listening(createServer(app));
  const port = portOf(server);
  const r = await new Promise<{ status: number; body: string; type: string }>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body, type: String(res.headers['content-type']) }));
      })
      .on('error', reject);
  });
  assert.deepEqual(r, { status: 200, body: 'Hello World!', type: 'text/html; charset=utf-8' });
  // curl: two requests on one connection, the second reusing it.
  const curl = spawn(
    'curl',
    [
      '-sS',
      '--max-time',
      '10',
      '-w',
      '%{http_code} %{num_connects}\\n',
      `http://127.0.0.1:${port}/`,
      `http://127.0.0.1:${port}/nope`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  curl.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const [code] = (await within(once(curl, 'close'), 15_000, 'curl')) as [number];
  assert.equal(code, 0);
  assert.match(out, /^Hello World!200 1\n[\s\S]*Cannot GET \/nope[\s\S]*404 0\n$/);
  await closeServer(server);
});
