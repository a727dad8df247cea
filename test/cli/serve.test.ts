// `uring serve`, run as users run it, answering node's fetch and raw requests
// through io_uring sockets with files read through the ring.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { tempDir, type TempDir } from '../helpers/tmp.js';

const bin = fileURLToPath(new URL('../../../bin/uring.js', import.meta.url));

let dir: TempDir;
let child: ChildProcess;
let base: string;
let port: number;
let log = '';
const big = randomBytes(5 * 1024 * 1024 + 3);

before(async () => {
  dir = tempDir();
  dir.write('hello.txt', 'hello\n');
  dir.write('big.bin', big);
  dir.write('page.html', '<p>hi</p>');
  mkdirSync(dir.file('docs'));
  dir.write('docs/index.html', '<h1>docs</h1>');
  mkdirSync(dir.file('list'));
  dir.write('list/b & <c>.txt', 'x');
  dir.write('list/a.json', '{}');
  child = spawn(process.execPath, [bin, 'serve', dir.path, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => (log += d));
  const [line] = (await Promise.race([
    once(child.stdout!, 'data'),
    new Promise((_, reject) => setTimeout(() => reject(new Error('uring serve printed nothing in 10 s')), 10_000)),
  ])) as [string];
  const m = /^serving .* at (http:\/\/127\.0\.0\.1:(\d+)\/)$/m.exec(line);
  assert.ok(m, line);
  base = m[1]!;
  port = Number(m[2]);
});

after(async () => {
  if (child.exitCode === null) {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  dir.remove();
});

/** One request written by hand (fetch would normalise the path first). */
function raw(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    s.setEncoding('utf8')
      .on('data', (d) => (out += d))
      .on('end', () => resolve(out))
      .on('error', reject);
    s.write(request); // not end(): node:http answers a half-closed connection with nothing (httpAllowHalfOpen is off)
  });
}

test('GET a small and a 5 MiB file: the bytes, the length and the type', async () => {
  const small = await fetch(`${base}hello.txt`);
  assert.equal(small.status, 200);
  assert.equal(small.headers.get('content-type'), 'text/plain; charset=utf-8');
  assert.equal(small.headers.get('content-length'), '6');
  assert.equal(await small.text(), 'hello\n');
  const b = await fetch(`${base}big.bin`);
  assert.equal(b.headers.get('content-type'), 'application/octet-stream');
  assert.equal(Number(b.headers.get('content-length')), big.length);
  assert.ok(Buffer.from(await b.arrayBuffer()).equals(big));
  const html = await fetch(`${base}page.html`);
  assert.equal(html.headers.get('content-type'), 'text/html; charset=utf-8');
});

test('50 concurrent GETs of the big file all come back whole', async () => {
  const bodies = await Promise.all(
    Array.from({ length: 50 }, () => fetch(`${base}big.bin`).then((r) => r.arrayBuffer())),
  );
  for (const body of bodies) assert.ok(Buffer.from(body).equals(big));
});

test('byte ranges: 206 with Content-Range; suffix and open ranges; 416 past the end', async () => {
  const r = await fetch(`${base}big.bin`, { headers: { range: 'bytes=1000-1999' } });
  assert.equal(r.status, 206);
  assert.equal(r.headers.get('content-range'), `bytes 1000-1999/${big.length}`);
  assert.ok(Buffer.from(await r.arrayBuffer()).equals(big.subarray(1000, 2000)));
  const tail = await fetch(`${base}big.bin`, { headers: { range: 'bytes=-10' } });
  assert.ok(Buffer.from(await tail.arrayBuffer()).equals(big.subarray(big.length - 10)));
  const open = await fetch(`${base}big.bin`, { headers: { range: `bytes=${big.length - 300000}-` } });
  assert.ok(Buffer.from(await open.arrayBuffer()).equals(big.subarray(big.length - 300000)));
  const past = await fetch(`${base}hello.txt`, { headers: { range: 'bytes=10-20' } });
  assert.equal(past.status, 416);
  assert.equal(past.headers.get('content-range'), 'bytes */6');
  await past.arrayBuffer();
});

test('HEAD has the headers and no body; If-Modified-Since gives 304', async () => {
  const h = await fetch(`${base}big.bin`, { method: 'HEAD' });
  assert.equal(h.status, 200);
  assert.equal(Number(h.headers.get('content-length')), big.length);
  assert.equal((await h.arrayBuffer()).byteLength, 0);
  const lm = h.headers.get('last-modified')!;
  assert.equal(lm, statSync(dir.file('big.bin')).mtime.toUTCString());
  const c = await fetch(`${base}big.bin`, { headers: { 'if-modified-since': lm } });
  assert.equal(c.status, 304);
});

test('directories: a redirect to the slash, index.html, else an escaped listing', async () => {
  const r = await fetch(`${base}docs`, { redirect: 'manual' });
  assert.equal(r.status, 301);
  assert.equal(r.headers.get('location'), '/docs/');
  assert.equal(await (await fetch(`${base}docs/`)).text(), '<h1>docs</h1>');
  const list = await (await fetch(`${base}list/`)).text();
  assert.match(list, /<a href="a\.json">a\.json<\/a>/);
  assert.match(list, /<a href="b%20%26%20%3Cc%3E\.txt">b &#38; &#60;c&#62;\.txt<\/a>/);
  assert.ok(list.indexOf('a.json') < list.indexOf('b &#38;'), 'sorted');
  assert.equal(await (await fetch(`${base}list/b%20%26%20%3Cc%3E.txt`)).text(), 'x');
});

test('404, 405, and nothing outside the root however the path is spelled', async () => {
  assert.equal((await fetch(`${base}nope`)).status, 404);
  assert.equal((await fetch(`${base}hello.txt/x`)).status, 404);
  const post = await fetch(`${base}hello.txt`, { method: 'POST', body: 'x' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
  for (const path of [
    '/../../../../etc/passwd',
    '/..%2f..%2f..%2f..%2fetc%2fpasswd',
    '/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/hello.txt%00',
  ]) {
    const res = await raw(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    const status = Number(/^HTTP\/1\.1 (\d+)/.exec(res)?.[1]);
    assert.ok(status === 403 || status === 404, `${path}: ${res.split('\r\n')[0]}`);
    assert.doesNotMatch(res, /root:/, path);
  }
});

test('requests are logged; SIGTERM stops the server and it exits 0', async () => {
  assert.match(log, /^GET \/hello\.txt 200$/m);
  assert.match(log, /^GET \/nope 404$/m);
  child.kill('SIGTERM');
  const [code] = (await Promise.race([
    once(child, 'exit'),
    new Promise((_, reject) => setTimeout(() => reject(new Error('no exit 5 s after SIGTERM')), 5000)),
  ])) as [number];
  assert.equal(code, 0);
});

test('usage errors exit 2; a directory that is not there exits 1', async () => {
  const run = (args: string[]) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const c = spawn(process.execPath, [bin, 'serve', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      c.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      c.on('exit', (code) => resolve({ code, stderr }));
    });
  assert.equal((await run(['--port', 'x'])).code, 2);
  assert.equal((await run(['--bogus'])).code, 2);
  const missing = await run([dir.file('missing'), '--port', '0']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /ENOENT: no such file or directory/);
});
