// `uring serve`, run as users run it, answering node's fetch and raw requests
// through io_uring sockets with files read through the ring.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdirSync, openSync, statSync, symlinkSync, truncateSync, writeSync } from 'node:fs';
import { gunzipSync, brotliDecompressSync } from 'node:zlib';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { tempDir, type TempDir } from '../helpers/tmp.js';

const bin = fileURLToPath(new URL('../../../bin/uring.js', import.meta.url));

let dir: TempDir;
let child: ChildProcess;
let base: string;
let port: number;
let log = '';
let threads = 1;
const big = randomBytes(5 * 1024 * 1024 + 3);
const text = Array.from({ length: 20000 }, (_, i) => `line ${i}\n`).join('');

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
  dir.write('list/.hidden', 'x');
  dir.write('text.txt', text);
  mkdirSync(dir.file('.git'));
  dir.write('.git/config', 'secret');
  mkdirSync(dir.file('evil.example'));
  symlinkSync('/etc', dir.file('etc-link'));
  symlinkSync('/etc/passwd', dir.file('passwd-link'));
  symlinkSync('hello.txt', dir.file('inside-link'));
  child = spawn(process.execPath, [bin, 'serve', dir.path, '--port', '0', '--workers', '2', '--cors'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => (log += d));
  const [line] = (await Promise.race([
    once(child.stdout!, 'data'),
    new Promise((_, reject) => setTimeout(() => reject(new Error('uring serve printed nothing in 10 s')), 10_000)),
  ])) as [string];
  // One thread where node's modules serve (URING_DISABLE=1 and the fallback: node:net on Node 20 has no reusePort).
  const m = /^serving .* at (http:\/\/127\.0\.0\.1:(\d+)\/)( \(2 threads\))?$/m.exec(line);
  assert.ok(m, line);
  base = m[1]!;
  port = Number(m[2]);
  threads = m[3] ? 2 : 1;
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

test('a 100 MB file comes back whole (sha256), also after a client gave up on one', async () => {
  // 100 MiB + an odd tail, so the last page is a partial one.
  const piece = randomBytes(1 << 20);
  const want = createHash('sha256');
  const fd = openSync(dir.file('large.bin'), 'w');
  for (let i = 0; i < 100; i++) {
    writeSync(fd, piece);
    want.update(piece);
  }
  writeSync(fd, piece, 0, 12345);
  want.update(piece.subarray(0, 12345));
  closeSync(fd);
  const size = 100 * (1 << 20) + 12345;
  // A client that leaves after the first bytes: its splices are cancelled, nothing leaks into later answers.
  const quitter = net.connect(port, '127.0.0.1');
  quitter.write('GET /large.bin HTTP/1.1\r\nHost: x\r\n\r\n');
  await once(quitter, 'data');
  quitter.destroy();
  const t0 = Date.now();
  const { length, sha256 } = await new Promise<{ length: number; sha256: string }>((resolve, reject) => {
    http
      .get(`${base}large.bin`, (res) => {
        assert.equal(res.statusCode, 200);
        assert.equal(Number(res.headers['content-length']), size);
        const h = createHash('sha256');
        let n = 0;
        res.on('data', (d: Buffer) => ((n += d.length), h.update(d)));
        res.on('end', () => resolve({ length: n, sha256: h.digest('hex') }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
  assert.equal(length, size);
  assert.equal(sha256, want.digest('hex'));
  // Generous: a loaded 2-core machine moves this in well under a second when idle.
  assert.ok(Date.now() - t0 < 60_000, `${Date.now() - t0} ms`);
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
  assert.equal(post.headers.get('allow'), 'GET, HEAD, OPTIONS'); // OPTIONS: --cors
  for (const path of [
    '/../../../../etc/passwd',
    '/..%2f..%2f..%2f..%2fetc%2fpasswd',
    '/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/hello.txt%00',
    '/..%5c..%5c..%5cetc%5cpasswd',
    '/docs\\..\\..\\..\\etc\\passwd',
    '/./hello.txt/..',
  ]) {
    const res = await raw(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    const status = statusOf(res);
    assert.ok([400, 403, 404].includes(status), `${path}: ${res.split('\r\n')[0]}`);
    assert.doesNotMatch(res, /root:/, path);
  }
});

/** The status line's code of a raw response. */
function statusOf(res: string): number {
  return Number(/^HTTP\/1\.1 (\d+)/.exec(res)?.[1]);
}

/** Waits (bounded) until `cond` holds, checking every 20 ms. */
async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('symlinks: none leading out of the root is followed; one inside is', async () => {
  for (const path of ['/etc-link/passwd', '/passwd-link', '/etc-link/', '/etc-link']) {
    const res = await raw(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.equal(statusOf(res), 404, `${path}: ${res.split('\r\n')[0]}`);
    assert.doesNotMatch(res, /root:/, path);
  }
  assert.equal(await (await fetch(`${base}inside-link`)).text(), 'hello\n');
  assert.doesNotMatch(await (await fetch(base)).text(), /\.git/, 'no dotfiles in the listing');
});

test('dotfiles answer 404, however the path is spelled, and are left out of listings', async () => {
  for (const path of ['/.git/config', '/.git/', '/%2egit/config', '/list/.hidden', '/list//.hidden']) {
    const res = await raw(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.equal(statusOf(res), 404, `${path}: ${res.split('\r\n')[0]}`);
    assert.doesNotMatch(res, /secret/, path);
  }
  assert.doesNotMatch(await (await fetch(`${base}list/`)).text(), /hidden/);
});

test('no open redirect: a directory redirect is always one slash then the path', async () => {
  for (const path of ['/%2Fevil.example', '//evil.example', '/%2F%2Fevil.example', '/%5Cevil.example']) {
    const res = await raw(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    const location = /\r\nLocation: (.*)\r\n/i.exec(res)?.[1];
    if (location !== undefined) {
      assert.equal(location, '/evil.example/', path);
      assert.ok(!location.startsWith('//') && !location.startsWith('/\\'), path);
    } else assert.ok([400, 403, 404].includes(statusOf(res)), `${path}: ${res.split('\r\n')[0]}`);
  }
  const q = await raw(`GET /evil.example?a=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  assert.match(q, /\r\nLocation: \/evil\.example\/\?a=1\r\n/i);
});

test('multi-range: multipart/byteranges whose parts are the ranges asked', async () => {
  const r = await fetch(`${base}big.bin`, { headers: { range: 'bytes=0-99,1000-1999,-50' } });
  assert.equal(r.status, 206);
  const m = /^multipart\/byteranges; boundary=(.+)$/.exec(r.headers.get('content-type')!);
  assert.ok(m, r.headers.get('content-type')!);
  const body = Buffer.from(await r.arrayBuffer());
  assert.equal(Number(r.headers.get('content-length')), body.length);
  const want: [number, number][] = [
    [0, 99],
    [1000, 1999],
    [big.length - 50, big.length - 1],
  ];
  let at = 0;
  for (const [start, end] of want) {
    const head: string = `\r\n--${m[1]}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${start}-${end}/${big.length}\r\n\r\n`;
    assert.equal(body.subarray(at, at + head.length).toString('latin1'), head);
    at += head.length;
    assert.ok(body.subarray(at, at + end - start + 1).equals(big.subarray(start, end + 1)), `${start}-${end}`);
    at += end - start + 1;
  }
  assert.equal(body.subarray(at).toString(), `\r\n--${m[1]}--\r\n`);
  // Overlapping ranges could ask for the file many times over: the whole file instead.
  const overlap = await fetch(`${base}hello.txt`, { headers: { range: 'bytes=0-3,1-4' } });
  assert.equal(overlap.status, 200);
  assert.equal(await overlap.text(), 'hello\n');
});

test('If-Range: the range while the validator matches, the whole file once it does not', async () => {
  const h = await fetch(`${base}hello.txt`, { method: 'HEAD' });
  const etag = h.headers.get('etag')!;
  assert.match(etag, /^"[0-9a-f]+-[0-9a-f]+"$/);
  const hit = await fetch(`${base}hello.txt`, { headers: { range: 'bytes=1-2', 'if-range': etag } });
  assert.equal(hit.status, 206);
  assert.equal(await hit.text(), 'el');
  const byDate = await fetch(`${base}hello.txt`, {
    headers: { range: 'bytes=1-2', 'if-range': h.headers.get('last-modified')! },
  });
  assert.equal(byDate.status, 206);
  await byDate.arrayBuffer();
  const miss = await fetch(`${base}hello.txt`, { headers: { range: 'bytes=1-2', 'if-range': '"other"' } });
  assert.equal(miss.status, 200);
  assert.equal(await miss.text(), 'hello\n');
});

test('ETag and If-None-Match: 304; a changed tag gets the file', async () => {
  const r = await fetch(`${base}big.bin`, { method: 'HEAD' });
  const etag = r.headers.get('etag')!;
  const c = await fetch(`${base}big.bin`, { headers: { 'if-none-match': `"x", W/${etag}` } });
  assert.equal(c.status, 304);
  assert.equal(c.headers.get('etag'), etag);
  const miss = await fetch(`${base}hello.txt`, { headers: { 'if-none-match': '"nope"' } });
  assert.equal(miss.status, 200);
  assert.equal(await miss.text(), 'hello\n');
});

test('gzip and brotli for text, by Accept-Encoding, decoding to the file; not for binaries', async () => {
  const get = (enc: string, path = 'text.txt') =>
    new Promise<{ headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      s.on('data', (d: Buffer) => chunks.push(d))
        .on('end', () => {
          const all = Buffer.concat(chunks);
          const split = all.indexOf('\r\n\r\n');
          const headers: Record<string, string> = {};
          for (const line of all.subarray(0, split).toString('latin1').split('\r\n').slice(1)) {
            const c = line.indexOf(':');
            headers[line.slice(0, c).toLowerCase()] = line.slice(c + 1).trim();
          }
          resolve({ headers, body: all.subarray(split + 4) });
        })
        .on('error', reject);
      s.write(`GET /${path} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: ${enc}\r\nConnection: close\r\n\r\n`);
    });
  for (const [accept, want] of [
    ['gzip, deflate', 'gzip'],
    ['gzip;q=0.5, br', 'br'],
    ['br;q=0.1, gzip', 'gzip'],
    ['*', 'br'],
  ] as const) {
    for (let i = 0; i < 2; i++) {
      // Twice: the second answer comes from the compressed-file cache.
      const r = await get(accept);
      assert.equal(r.headers['content-encoding'], want, accept);
      assert.equal(r.headers.vary, 'Accept-Encoding');
      assert.equal(Number(r.headers['content-length']), r.body.length);
      const plain = want === 'gzip' ? gunzipSync(r.body) : brotliDecompressSync(r.body);
      assert.equal(plain.toString(), text, accept);
    }
  }
  const none = await get('identity');
  assert.equal(none.headers['content-encoding'], undefined);
  assert.equal(none.body.toString(), text);
  const bin = await get('gzip', 'big.bin');
  assert.equal(bin.headers['content-encoding'], undefined);
  assert.equal(bin.body.length, big.length);
  // A compressed answer has its own ETag (it is another representation).
  const g = await fetch(`${base}text.txt`, { headers: { 'accept-encoding': 'gzip' } });
  const i = await fetch(`${base}text.txt`, { headers: { 'accept-encoding': 'identity' } });
  assert.notEqual(g.headers.get('etag'), i.headers.get('etag'));
  await g.arrayBuffer();
  await i.arrayBuffer();
});

test('--cors: Access-Control-Allow-Origin on answers, 204 to a preflight', async () => {
  const r = await fetch(`${base}hello.txt`, { headers: { origin: 'http://elsewhere.example' } });
  assert.equal(r.headers.get('access-control-allow-origin'), '*');
  await r.arrayBuffer();
  const nf = await fetch(`${base}nope`);
  assert.equal(nf.headers.get('access-control-allow-origin'), '*');
  await nf.arrayBuffer();
  const pre = await fetch(`${base}hello.txt`, {
    method: 'OPTIONS',
    headers: { origin: 'http://elsewhere.example', 'access-control-request-method': 'GET' },
  });
  assert.equal(pre.status, 204);
  assert.match(pre.headers.get('access-control-allow-methods')!, /GET/);
});

test('curl: compressed, multi-range and a listing as a command-line client sees them', async (t) => {
  const curl = (args: string[]) =>
    new Promise<{ err: Error | null; out: Buffer }>((resolve) =>
      execFile('curl', ['-s', ...args], { encoding: 'buffer', maxBuffer: 64 << 20 }, (err, out) =>
        resolve({ err, out }),
      ),
    );
  const probe = await curl(['--version']);
  if (probe.err) {
    t.skip(`curl is not installed (${probe.err.message.split('\n')[0]})`);
    return;
  }
  assert.equal((await curl(['--compressed', `${base}text.txt`])).out.toString(), text);
  assert.match(
    (await curl(['-r', '0-1,3-4', `${base}hello.txt`])).out.toString(),
    /\r\nhe\r\n--.*\r\n.*\r\n.*\r\n\r\nlo\r\n/,
  );
  assert.match((await curl([`${base}list/`])).out.toString(), /a\.json/);
});

test('--workers 2: both threads answer, and requests are logged, one line each', async (t) => {
  if (threads === 1) {
    t.skip('one thread: node:net serves (no reusePort on Node 20)');
    return;
  }
  await Promise.all(
    Array.from({ length: 40 }, () => raw('GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')),
  );
  await until(() => /^127\.0\.0\.1 "GET \/hello\.txt" 200 [\d.]+ms w0$/m.test(log), 'a line from w0');
  await until(() => /^127\.0\.0\.1 "GET \/hello\.txt" 200 [\d.]+ms w1$/m.test(log), 'a line from w1');
  await until(() => /^127\.0\.0\.1 "GET \/nope" 404 [\d.]+ms w\d$/m.test(log), 'the 404 logged');
});

test('SIGTERM: no new connections, the request in flight finishes whole, then exit 0', async () => {
  // Bigger than what loopback's socket buffers hold, so the answer is still being sent.
  dir.write('huge.bin', '');
  truncateSync(dir.file('huge.bin'), 64 << 20);
  const s = net.connect(port, '127.0.0.1');
  let received = 0;
  let ended = false;
  s.on('data', (d: Buffer) => (received += d.length)).on('end', () => (ended = true));
  s.write('GET /huge.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  await once(s, 'data');
  s.pause();
  child.kill('SIGTERM');
  // Stopped listening (every thread): connections are refused...
  let refused = false;
  const probe = async (): Promise<void> => {
    while (!refused) {
      const c = net.connect(port, '127.0.0.1');
      // (events.once would reject on 'error': plain listeners.)
      const ok = await new Promise<boolean>((resolve) =>
        c.once('connect', () => resolve(true)).once('error', () => resolve(false)),
      );
      c.destroy();
      if (!ok) refused = true;
      else await new Promise((r) => setTimeout(r, 20));
    }
  };
  await Promise.race([
    probe(),
    new Promise((_, reject) => setTimeout(() => reject(new Error('still accepting 10 s after SIGTERM')), 10_000)),
  ]);
  // ...while the request in flight keeps the process up, and ends whole.
  assert.equal(child.exitCode, null);
  s.resume();
  const exited = once(child, 'exit');
  await until(() => ended, 'the in-flight response to end', 20_000);
  assert.ok(received > 64 << 20, `${received} bytes`);
  const [code] = (await Promise.race([
    exited,
    new Promise((_, reject) => setTimeout(() => reject(new Error('no exit 10 s after the last response')), 10_000)),
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
  assert.match((await run(['--timeout', '-1'])).stderr, /--timeout takes seconds from 0 to 86400, not '-1'/);
  const missing = await run([dir.file('missing'), '--port', '0']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /ENOENT: no such file or directory/);
});
