// `uring serve`: a static file server whose every socket and file operation
// goes through io_uring — node:http (uring/http: set up as node's own, so
// no-delay sockets and slow-client timeouts) parsing requests that arrive on
// uring/net sockets, answered with files opened, stat'ed and read on the ring.
import type http from 'node:http';
import { readdir } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream';
import { open, stat } from '../fs/index.js';
import type { FileHandle } from '../fs/file-handle.js';
import { createServer } from '../http/index.js';
import { nodeFallbackReason } from '../fs/fallback.js';
import type { Command, Io } from './main.js';

const USAGE = [
  'Usage: uring serve [DIR] [options]',
  '',
  'Serves the files under DIR (default: the current directory) over HTTP.',
  'node:http parses the requests; the connections are uring/net sockets and the',
  "files are opened, stat'ed and read through io_uring. GET and HEAD, byte",
  'ranges, If-Modified-Since, index.html or a listing for directories.',
  '',
  'Options:',
  '  -p, --port N     port to listen on (default 8080; 0 picks a free one)',
  '  -H, --host H     address to listen on (default 127.0.0.1)',
  "  -q, --quiet      don't log requests",
  '',
  'Stops on SIGINT or SIGTERM (exit code 0). Exit code 2 on a usage error, 1 when',
  'it cannot listen.',
  '',
].join('\n');

/** Files up to this size are read in one go and sent with their headers; larger ones stream. */
const WHOLE_FILE_MAX = 256 * 1024;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.xml': 'application/xml',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.mp3': 'audio/mpeg',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
};

interface ServeOptions {
  root: string;
  port: number;
  host: string;
  quiet: boolean;
}

export const serveCommand: Command = {
  summary: 'serve a directory over HTTP, sockets and files through io_uring',
  usage: USAGE,
  run: (args, io) => {
    const opts = parseArgs(args, io);
    return typeof opts === 'number' ? opts : serve(opts, io);
  },
};

function parseArgs(args: string[], io: Io): ServeOptions | number {
  const opts: ServeOptions = { root: '.', port: 8080, host: '127.0.0.1', quiet: false };
  let dir: string | undefined;
  const bad = (msg: string) => {
    io.err.write(`uring serve: ${msg}\n\n${USAGE}`);
    return 2;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-p' || a === '--port') {
      const v = args[++i];
      const n = Number(v);
      if (v === undefined || !/^\d+$/.test(v) || n > 65535)
        return bad(`${a} takes a port from 0 to 65535${v === undefined ? '' : `, not '${v}'`}`);
      opts.port = n;
    } else if (a === '-H' || a === '--host') {
      const v = args[++i];
      if (!v) return bad(`${a} takes an address`);
      opts.host = v;
    } else if (a === '-q' || a === '--quiet') {
      opts.quiet = true;
    } else if (a.startsWith('-')) {
      return bad(`unknown option '${a}'`);
    } else if (dir === undefined) {
      dir = a;
    } else {
      return bad(`one directory only (got '${dir}' and '${a}')`);
    }
  }
  opts.root = resolve(dir ?? '.');
  return opts;
}

async function serve(opts: ServeOptions, io: Io): Promise<number> {
  try {
    if (!(await stat(opts.root)).isDirectory()) {
      io.err.write(`uring serve: '${opts.root}' is not a directory\n`);
      return 1;
    }
  } catch (err) {
    io.err.write(`uring serve: ${(err as Error).message}\n`);
    return 1;
  }
  // Opted out (URING_DISABLE=1) or fallen back: say that node:fs and node:net serve.
  const instead = nodeFallbackReason();
  if (instead !== undefined) io.err.write(`uring serve: ${instead}: serving through node:fs and node:net\n`);
  const app = createServer((req, res) => {
    handle(opts.root, req, res).catch((err: Error) => {
      if (!res.headersSent) send(res, 500, `${err.message}\n`);
      else res.destroy(err);
    });
    if (!opts.quiet) {
      res.once('finish', () => io.out.write(`${req.method} ${req.url} ${res.statusCode}\n`));
    }
  });
  return new Promise<number>((done) => {
    app.once('error', (err: Error) => {
      io.err.write(`uring serve: ${err.message}\n`);
      done(1);
    });
    app.listen(opts.port, opts.host, () => {
      const a = app.address() as { address: string; port: number; family: string };
      const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
      io.out.write(`serving ${opts.root} at http://${host}:${a.port}/\n`);
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        app.close(() => done(0));
        app.closeAllConnections();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
  });
}

function send(res: http.ServerResponse, status: number, body: string, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

async function handle(root: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'Method Not Allowed\n', { Allow: 'GET, HEAD' });
    return;
  }
  let rel: string;
  try {
    rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  } catch {
    send(res, 400, 'Bad Request\n');
    return;
  }
  // The URL parser has already removed dot segments; a decoded %2e%2e or a
  // NUL could still point outside the root, so check the resolved path.
  const file = join(root, rel);
  if (rel.includes('\0') || (file !== root && !file.startsWith(root.endsWith(sep) ? root : root + sep))) {
    send(res, 403, 'Forbidden\n');
    return;
  }
  let st;
  try {
    st = await stat(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') send(res, 404, 'Not Found\n');
    else if (code === 'EACCES' || code === 'EPERM') send(res, 403, 'Forbidden\n');
    else throw err;
    return;
  }
  if (st.isDirectory()) {
    if (!rel.endsWith('/')) {
      res.writeHead(301, { Location: `${encodeURI(rel)}/`, 'Content-Length': 0 });
      res.end();
      return;
    }
    const index = join(file, 'index.html');
    const ist = await stat(index).catch(() => null);
    if (ist?.isFile()) await sendFile(req, res, index, ist);
    else await sendListing(res, file, rel);
    return;
  }
  if (!st.isFile()) {
    send(res, 403, 'Forbidden\n');
    return;
  }
  await sendFile(req, res, file, st);
}

async function sendListing(res: http.ServerResponse, dir: string, rel: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  const items = entries.map((e) => {
    const name = e.name + (e.isDirectory() ? '/' : '');
    return `<li><a href="${escapeHtml(encodeURIComponent(e.name))}${e.isDirectory() ? '/' : ''}">${escapeHtml(name)}</a></li>`;
  });
  if (rel !== '/') items.unshift('<li><a href="../">../</a></li>');
  const title = `Index of ${escapeHtml(rel)}`;
  const body = `<!doctype html>\n<meta charset="utf-8">\n<title>${title}</title>\n<h1>${title}</h1>\n<ul>\n${items.join('\n')}\n</ul>\n`;
  send(res, 200, body, { 'Content-Type': 'text/html; charset=utf-8' });
}

/** The first byte range of a Range header against a file of `size` bytes, 'bad' when none can be served. */
function parseRange(header: string, size: number): { start: number; end: number } | 'bad' | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.split(',')[0]!.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null; // not one we understand: ignore it, as RFC 9110 allows
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'bad';
  return { start, end };
}

async function sendFile(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  file: string,
  st: { size: number; mtime: Date },
): Promise<void> {
  const lastModified = st.mtime.toUTCString();
  const since = req.headers['if-modified-since'];
  if (since && Math.floor(st.mtime.getTime() / 1000) <= Math.floor(Date.parse(since) / 1000)) {
    res.writeHead(304, { 'Last-Modified': lastModified });
    res.end();
    return;
  }
  const headers: http.OutgoingHttpHeaders = {
    'Content-Type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'Last-Modified': lastModified,
    'Accept-Ranges': 'bytes',
  };
  let start = 0;
  let end = st.size - 1;
  let status = 200;
  const range = req.headers.range ? parseRange(req.headers.range, st.size) : null;
  if (range === 'bad') {
    send(res, 416, 'Range Not Satisfiable\n', { 'Content-Range': `bytes */${st.size}` });
    return;
  }
  if (range) {
    ({ start, end } = range);
    status = 206;
    headers['Content-Range'] = `bytes ${start}-${end}/${st.size}`;
  }
  const length = end - start + 1;
  headers['Content-Length'] = length;
  if (req.method === 'HEAD' || length === 0) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const fh: FileHandle = await open(file, 'r');
  if (length <= WHOLE_FILE_MAX) {
    // One read on the ring and one write to the socket, headers included.
    try {
      const buf = Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(buf, done, length - done, start + done);
        if (bytesRead === 0) break; // the file shrank since the stat
        done += bytesRead;
      }
      headers['Content-Length'] = done;
      res.writeHead(status, headers);
      res.end(done === length ? buf : buf.subarray(0, done));
    } finally {
      await fh.close();
    }
    return;
  }
  res.writeHead(status, headers);
  // The stream closes the handle when it ends or fails; pipeline destroys it if the client goes away.
  pipeline(fh.createReadStream({ start, end }), res, () => {});
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
