// The drop-ins as a user calls them — uring/fs (functions, streams,
// readFiles, forEachFile) and uring/net (createServer, connect, Socket,
// Server, node:http over them) — checked against what node:fs and node:net
// give. npm test runs this file as it is (the ring answers); 20.modes.test.ts
// runs it again in child processes where the drop-ins must be node's own:
// under URING_DISABLE=1 with io_uring_setup a trap that kills the process,
// and under URING_FALLBACK=node where io_uring is refused (ENOSYS, EPERM).
// URING_TEST_EXPECT=node tells this file which implementation must answer.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import * as nodeFs from 'node:fs';
import * as nodeNet from 'node:net';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import * as uringFs from '../../src/fs/index.js';
import * as uringNet from '../../src/net/index.js';
import * as uringHttp from '../../src/http/index.js';
import { getRuntime } from '../../src/runtime/index.js';
import { tempDir } from '../helpers/tmp.js';

const expectNode = process.env.URING_TEST_EXPECT === 'node';
const dir = tempDir('uring-dropins-');
after(() => dir.remove());

const text = 'héllo wörld\n'.repeat(5000); // multi-byte characters across chunk edges
const textFile = dir.write('text.txt', text);

async function collect(stream: Readable): Promise<(string | Buffer)[]> {
  const chunks: (string | Buffer)[] = [];
  for await (const c of stream) chunks.push(c as string | Buffer);
  return chunks;
}

test("the implementation answering is the one expected (ring, or node's own)", async () => {
  const rs = uringFs.createReadStream(textFile);
  await collect(rs);
  assert.equal(rs instanceof uringFs.ReadStream, !expectNode, 'uring ReadStream');
  assert.equal(rs instanceof nodeFs.ReadStream, expectNode, 'node ReadStream');
  const fh = await uringFs.open(textFile);
  assert.equal(fh instanceof uringFs.FileHandle, !expectNode, 'uring FileHandle');
  await fh.close();
  const s = new uringNet.Socket();
  assert.equal(s instanceof uringNet.Socket, !expectNode);
  assert.equal(s instanceof nodeNet.Socket, expectNode);
  s.destroy();
  const server = uringNet.createServer();
  assert.equal(server instanceof nodeNet.Server, expectNode);
  const httpServer = uringHttp.createServer();
  assert.ok(httpServer instanceof http.Server);
  assert.equal(httpServer instanceof uringHttp.Server, !expectNode, 'uring/http Server');
  if (expectNode) assert.throws(() => getRuntime(), { code: 'ERR_URING_UNAVAILABLE' }, 'and no ring to be had');
});

test('uring/fs createReadStream: the chunks node:fs gives (whole, start/end, encodings, highWaterMark)', async () => {
  for (const options of [
    undefined,
    { start: 3, end: 40_000 },
    { encoding: 'utf8' as const, highWaterMark: 1000 },
    'latin1' as const,
    { start: 100, end: 100 },
  ]) {
    const ours = await collect(uringFs.createReadStream(textFile, options));
    const theirs = await collect(nodeFs.createReadStream(textFile, options));
    assert.deepEqual(ours, theirs, JSON.stringify(options));
  }
  const missing = uringFs.createReadStream(dir.file('nope'));
  const [err] = (await once(missing, 'error')) as [NodeJS.ErrnoException];
  assert.deepEqual([err.code, err.syscall, err.path], ['ENOENT', 'open', dir.file('nope')]);
});

test('uring/fs createWriteStream: pipeline and appends write the file node:fs writes', async () => {
  const data = Buffer.alloc(3 << 20, 'abcdefg');
  await pipeline(
    Readable.from([data.subarray(0, 1000), data.subarray(1000)]),
    uringFs.createWriteStream(dir.file('w.bin')),
  );
  assert.ok(nodeFs.readFileSync(dir.file('w.bin')).equals(data));
  const ws = uringFs.createWriteStream(dir.file('w.bin'), { flags: 'a' });
  ws.end('tail');
  await once(ws, 'close');
  assert.equal(ws.bytesWritten, 4);
  assert.equal(nodeFs.statSync(dir.file('w.bin')).size, data.length + 4);
  const bad = uringFs.createWriteStream(dir.file('no/such/dir/f'));
  const [err] = (await once(bad, 'error')) as [NodeJS.ErrnoException];
  assert.equal(err.code, 'ENOENT');
});

test('uring/fs readFiles: contents in order, encodings, settle, and the first error', async () => {
  const paths = Array.from({ length: 150 }, (_, i) => dir.write(`rf${i}`, `file ${i} `.repeat(i)));
  const bufs = await uringFs.readFiles(paths, { concurrency: 7 });
  assert.deepEqual(
    bufs.map((b) => b.toString()),
    paths.map((p) => nodeFs.readFileSync(p, 'utf8')),
  );
  assert.ok(bufs.every((b) => Buffer.isBuffer(b)));
  assert.deepEqual(
    await uringFs.readFiles(paths.slice(0, 3), 'utf8'),
    paths.slice(0, 3).map((p) => nodeFs.readFileSync(p, 'utf8')),
  );
  assert.deepEqual(await uringFs.readFiles([]), []);
  const mixed = [paths[1]!, dir.file('missing'), dir.path];
  const settled = await uringFs.readFiles(mixed, { settle: true, encoding: 'utf8' });
  assert.deepEqual(
    settled.map((r) => [
      r.status,
      r.path,
      r.status === 'fulfilled' ? r.value : (r.reason as NodeJS.ErrnoException).code,
    ]),
    [
      ['fulfilled', paths[1], 'file 1 '],
      ['rejected', dir.file('missing'), 'ENOENT'],
      ['rejected', dir.path, 'EISDIR'],
    ],
  );
  const err = (await uringFs.readFiles(mixed).catch((e: unknown) => e)) as NodeJS.ErrnoException;
  assert.deepEqual([err.code, err.syscall, err.path], ['ENOENT', 'open', dir.file('missing')]);
  await assert.rejects(uringFs.readFiles(paths, { signal: AbortSignal.abort() }), { name: 'AbortError' });
  await assert.rejects(uringFs.readFiles(paths, { concurrency: 0 }), { code: 'ERR_OUT_OF_RANGE' });
});

test('uring/fs forEachFile: each file once with its index and path; onError; a throwing callback rejects', async () => {
  const paths = Array.from({ length: 80 }, (_, i) => dir.write(`fe${i}`, String(i).repeat(i + 1)));
  const seen = new Map<number, string>();
  await uringFs.forEachFile(
    paths,
    (data, i, path) => {
      assert.equal(path, paths[i]);
      seen.set(i, data.toString());
    },
    { concurrency: 5 },
  );
  assert.deepEqual(
    [...seen.keys()].sort((a, b) => a - b),
    paths.map((_, i) => i),
  );
  assert.ok(paths.every((p, i) => seen.get(i) === nodeFs.readFileSync(p, 'utf8')));
  const errors: [string | undefined, number][] = [];
  const texts: string[] = [];
  await uringFs.forEachFile([paths[0]!, dir.file('gone')], (s, _i) => texts.push(s), {
    encoding: 'utf8',
    onError: (e, i) => errors.push([(e as NodeJS.ErrnoException).code, i]),
  });
  assert.deepEqual([texts, errors], [['0'], [['ENOENT', 1]]]);
  await assert.rejects(
    uringFs.forEachFile([dir.file('gone')], () => {}),
    { code: 'ENOENT' },
  );
  const boom = new Error('boom');
  await assert.rejects(
    uringFs.forEachFile(paths, () => {
      throw boom;
    }),
    (e) => e === boom,
  );
});

test('uring/fs functions: writeFile, readFile, stat, open/read, copyFile, unlink as node:fs/promises', async () => {
  const p = dir.file('fn.txt');
  await uringFs.writeFile(p, 'abc');
  await uringFs.appendFile(p, 'def');
  assert.equal(await uringFs.readFile(p, 'utf8'), 'abcdef');
  assert.equal((await uringFs.stat(p)).size, 6);
  const fh = await uringFs.open(p, 'r');
  const b = Buffer.alloc(3);
  assert.equal((await fh.read(b, 0, 3, 2)).bytesRead, 3);
  assert.equal(b.toString(), 'cde');
  await fh.close();
  await uringFs.copyFile(p, dir.file('fn2.txt'));
  assert.equal(nodeFs.readFileSync(dir.file('fn2.txt'), 'utf8'), 'abcdef');
  await uringFs.unlink(dir.file('fn2.txt'));
  await assert.rejects(uringFs.stat(dir.file('fn2.txt')), { code: 'ENOENT', syscall: 'stat' });
});

test('uring/net: node:net clients echo through createServer(); connect() echoes through a node:net server', async () => {
  const server = uringNet.createServer((s) => s.pipe(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as nodeNet.AddressInfo;
  const c = nodeNet.connect(port, '127.0.0.1');
  c.end('ping through createServer');
  c.setEncoding('utf8');
  assert.equal((await collect(c)).join(''), 'ping through createServer');
  await new Promise<void>((r) => server.close(() => r()));

  const echo = nodeNet.createServer((s) => s.pipe(s)).listen(0, '127.0.0.1');
  await once(echo, 'listening');
  const ep = (echo.address() as nodeNet.AddressInfo).port;
  const u = uringNet.connect({ port: ep, host: '127.0.0.1' });
  await once(u, 'connect');
  assert.equal(u.remotePort, ep);
  u.end('ping through connect');
  u.setEncoding('utf8');
  assert.equal((await collect(u)).join(''), 'ping through connect');
  const s = new uringNet.Socket();
  s.connect(ep, '127.0.0.1');
  await once(s, 'connect');
  s.end('x');
  assert.equal(Buffer.concat((await collect(s)) as Buffer[]).toString(), 'x');
  echo.close();
});

test('uring/net: new Server() and an ECONNREFUSED connect, as node:net', async () => {
  const server = new uringNet.Server();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as nodeNet.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  const c = uringNet.createConnection(port, '127.0.0.1');
  const [err] = (await once(c, 'error')) as [NodeJS.ErrnoException];
  assert.deepEqual([err.code, err.syscall], ['ECONNREFUSED', 'connect']);
});

test('uring/net: node:http serves over createServer() and requests over createConnection', async () => {
  const app = http.createServer((req, res) => res.end(`you asked for ${req.url}`));
  const listener = uringNet.createServer({ allowHalfOpen: true }, (s) => app.emit('connection', s));
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const { port } = listener.address() as nodeNet.AddressInfo;
  const body = await new Promise<string>((resolve, reject) => {
    const req = http.request(
      {
        port,
        host: '127.0.0.1',
        path: '/x?y',
        createConnection: ((o: nodeNet.NetConnectOpts) =>
          uringNet.createConnection(o)) as unknown as http.RequestOptions['createConnection'],
      },
      (res) => {
        res.setEncoding('utf8');
        let s = '';
        res.on('data', (d: string) => (s += d));
        res.on('end', () => resolve(s));
      },
    );
    req.on('error', reject);
    req.end();
  });
  assert.equal(body, 'you asked for /x?y');
  app.closeAllConnections();
  await new Promise<void>((r) => listener.close(() => r()));
});

test('uring/http: createServer serves node:http, listens, and closes', async () => {
  const server = uringHttp.createServer((req, res) => res.end(`uring/http: ${req.url}`));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as nodeNet.AddressInfo;
  const body = await new Promise<string>((resolve, reject) => {
    http
      .get({ port, host: '127.0.0.1', path: '/z', agent: false }, (res) => {
        res.setEncoding('utf8');
        let s = '';
        res.on('data', (d: string) => (s += d));
        res.on('end', () => resolve(s));
      })
      .on('error', reject);
  });
  assert.equal(body, 'uring/http: /z');
  await new Promise<void>((r) => server.close(() => r()));
});
