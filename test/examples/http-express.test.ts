// The Express example runs as users run it (`node dist/examples/http-express.js 0`)
// and answers node's HTTP client through io_uring sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const example = fileURLToPath(new URL('../../examples/http-express.js', import.meta.url));

async function request(url: string, init?: RequestInit): Promise<{ status: number; headers: Headers; body: string }> {
  const res = await fetch(url, init);
  return { status: res.status, headers: res.headers, body: await res.text() };
}

test('http-express: Express answers GET and a JSON POST over uring/net, and exits on SIGTERM', async () => {
  const child = spawn(process.execPath, [example, '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  try {
    child.stdout.setEncoding('utf8');
    const [line] = (await Promise.race([
      once(child.stdout, 'data'),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`no "listening" line in 10 s; stderr: ${stderr}`)), 10_000),
      ),
    ])) as [string];
    const m = /^listening on (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(line);
    assert.ok(m, `first line: ${line}`);
    const base = m[1]!;

    const get = await request(base);
    assert.equal(get.status, 200);
    assert.equal(get.body, 'hello from Express over io_uring\n');
    assert.equal(get.headers.get('x-powered-by'), 'Express');

    const payload = { n: 42, list: Array.from({ length: 1000 }, (_, i) => i), text: 'ü'.repeat(5000) };
    const sent = JSON.stringify(payload);
    const post = await request(new URL('echo', base).href, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: sent,
    });
    assert.equal(post.status, 200);
    assert.deepEqual(JSON.parse(post.body), { youSent: payload, bytes: Buffer.byteLength(sent) });

    const missing = await request(new URL('nope', base).href);
    assert.equal(missing.status, 404);

    child.kill('SIGTERM');
    const [code] = (await Promise.race([
      once(child, 'exit'),
      new Promise((_, reject) => setTimeout(() => reject(new Error('did not exit within 5 s of SIGTERM')), 5000)),
    ])) as [number | null];
    assert.equal(code, 0, `exit code; stderr: ${stderr}`);
  } finally {
    child.kill('SIGKILL');
  }
});
