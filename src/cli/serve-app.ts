// What one `uring serve` thread runs: a uring/http server answering GET and
// HEAD from the files under a root, with the files stat'ed, opened and read
// on the ring. serve.ts runs one in the main thread and, with --workers, one
// per worker thread (serve-worker.ts), all on one port through SO_REUSEPORT.
//
// Safe by default: a path is taken apart into segments by hand (not by the
// URL parser, which would turn '\' into '/' and hide what was asked); '.' and
// '..' segments, NUL and backslashes are refused; dotfiles answer 404; and no
// file or directory is served unless openat2 with RESOLVE_BENEATH, from the
// root's descriptor, reaches it, so a symlink leading out of the root answers
// 404 (as does an absolute symlink, which RESOLVE_BENEATH refuses even when it
// points back inside).
import type http from 'node:http';
import { constants as fsc } from 'node:fs';
import { readdir, realpath } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import { Readable, pipeline } from 'node:stream';
import zlib from 'node:zlib';
import { open, stat } from '../fs/index.js';
import { FileHandle } from '../fs/file-handle.js';
import { createServer } from '../http/index.js';
import { nodeFallbackReason } from '../fs/fallback.js';
import { close as closeFd } from '../ops/open.js';
import { openat2, RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS } from '../ops/openat2.js';
import { givePipe, spliceSupported, SpliceChainOp, takePipe, type SplicePipe } from '../ops/splice.js';
import { registerIowqMaxWorkers } from '../ring/register.js';
import { uringSocketOf } from '../net/node-socket.js';
import type { Socket as NativeSocket } from '../net/socket.js';
import { getRuntime } from '../runtime/runtime.js';
import { OpState } from '../runtime/op.js';
import { native } from '../native.js';
import { EAGAIN, ECANCELED } from '../errno.js';
import { systemError } from '../errors.js';

export interface ServeOptions {
  root: string;
  port: number;
  host: string;
  quiet: boolean;
  dotfiles: boolean;
  followSymlinks: boolean;
  cors: boolean;
  compress: boolean;
  workers: number;
  /**
   * Milliseconds a connection may go without activity while a request is
   * answered before it is closed (node's server.timeout); 0: never.
   */
  timeout: number;
}

/** Where a thread writes its access log. */
export interface LogSink {
  write(s: string): unknown;
}

/** O_PATH (Linux, every architecture node runs on): node's fs.constants lacks it. */
const O_PATH = 0o10000000;

/** Files up to this size are read in one go and sent with their headers; larger ones stream. */
const WHOLE_FILE_MAX = 256 * 1024;
/** Smaller bodies are sent as they are: compressing them saves less than it costs. */
const COMPRESS_MIN = 1024;
/** More ranges than this in one request get the whole file (as a 200). */
const MAX_RANGES = 32;
/** Compressed small files kept, keyed by path and ETag, up to this many bytes in all. */
const CACHE_MAX_BYTES = 16 * 1024 * 1024;

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

/** Types worth compressing: text, and the text formats with other names. */
function compressible(type: string): boolean {
  return (
    type.startsWith('text/') ||
    type.startsWith('application/json') ||
    type.startsWith('application/xml') ||
    type === 'image/svg+xml' ||
    type === 'application/wasm'
  );
}

type Encoding = 'br' | 'gzip';

/** The coding to send, from Accept-Encoding's q-values: brotli over gzip at equal q; none if neither is acceptable. */
function negotiate(header: string | undefined): Encoding | undefined {
  if (!header) return undefined;
  let br = -1;
  let gzip = -1;
  let star = -1;
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    let q = 1;
    for (const p of params) {
      const m = /^\s*q=([0-9.]+)\s*$/.exec(p);
      if (m) q = Number(m[1]);
    }
    if (!(q >= 0 && q <= 1)) continue;
    if (name === 'br') br = q;
    else if (name === 'gzip' || name === 'x-gzip') gzip = q;
    else if (name === '*') star = q;
  }
  if (br < 0) br = star;
  if (gzip < 0) gzip = star;
  if (br > 0 && br >= gzip) return 'br';
  if (gzip > 0) return 'gzip';
  return undefined;
}

function compressor(enc: Encoding): zlib.Gzip | zlib.BrotliCompress {
  // Brotli's default quality (11) is for compressing ahead of time; 4 gets
  // most of its gain at gzip's speed.
  return enc === 'br'
    ? zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } })
    : zlib.createGzip();
}

function compressBuffer(enc: Encoding, buf: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const cb = (err: Error | null, out: Buffer) => (err ? reject(err) : resolve(out));
    if (enc === 'br') zlib.brotliCompress(buf, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } }, cb);
    else zlib.gzip(buf, cb);
  });
}

/** What a thread needs to answer requests: options, the root's descriptor, the compressed-file cache. */
interface Site {
  opts: ServeOptions;
  /** The root's O_PATH descriptor, every lookup's starting point (-1: resolve and check instead). */
  rootFd: number;
  /** The root with its symlinks resolved, for the check without openat2. */
  realRoot: string;
  cache: Map<string, Buffer>;
  cacheBytes: number;
}

/** An error whose status is what the client gets. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const NOT_FOUND = (): HttpError => new HttpError(404, 'Not Found');

/**
 * Creates (not yet listening) the server for `opts`. `tag` ends each
 * access-log line (which worker answered), empty with one thread.
 */
export async function createSite(
  opts: ServeOptions,
  log: LogSink,
  tag: string,
): Promise<{ server: http.Server; dispose(): Promise<void> }> {
  const ring = nodeFallbackReason() === undefined;
  const site: Site = {
    opts,
    rootFd: ring && !opts.followSymlinks ? await openat2(opts.root, { flags: O_PATH | fsc.O_DIRECTORY }) : -1,
    realRoot: await realpath(opts.root),
    cache: new Map(),
    cacheBytes: 0,
  };
  if (ring) capSpliceWorkers();
  const logger = opts.quiet ? undefined : new AccessLog(log, tag);
  const server = createServer((req, res) => {
    const t0 = logger ? performance.now() : 0;
    handle(site, req, res).catch((err: Error) => {
      const status = err instanceof HttpError ? err.status : errnoStatus(err);
      if (status === 0) {
        if (!res.headersSent) send(site, res, 500, 'Internal Server Error\n');
        else res.destroy(err);
      } else if (!res.headersSent) send(site, res, status, `${STATUS_TEXT[status] ?? err.message}\n`);
      else res.destroy(err);
    });
    if (logger) res.once('finish', () => logger.line(req, res, t0));
  });
  // node's own inactivity timeout: a client that stops reading (or sending)
  // for this long while its request is answered is cut off, as node:http
  // does with server.timeout (which is 0, never, unless set).
  server.timeout = opts.timeout;
  return {
    server,
    dispose: async () => {
      if (site.rootFd >= 0) await closeFd(site.rootFd).catch(() => {});
    },
  };
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found' };

/** The status a file-system error becomes: 404, 403, or 0 (a server error). */
function errnoStatus(err: Error): number {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT':
    case 'ENOTDIR':
    case 'ENAMETOOLONG':
    case 'EXDEV': // RESOLVE_BENEATH: the path leads out of the root
    case 'ELOOP':
      return 404;
    case 'EACCES':
    case 'EPERM':
      return 403;
    default:
      return 0;
  }
}

/**
 * One line per response, written in batches: the lines of one turn of the
 * event loop go out in one write.
 */
class AccessLog {
  #lines = '';
  #scheduled = false;
  constructor(
    readonly out: LogSink,
    readonly tag: string,
  ) {}
  line(req: http.IncomingMessage, res: http.ServerResponse, t0: number): void {
    const ms = (performance.now() - t0).toFixed(1);
    // The URL as sent, with anything that could fake a line or a field escaped.
    const url = (req.url ?? '').replace(/[^!-~]|["\\]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
    this.#lines += `${req.socket.remoteAddress ?? '-'} "${req.method} ${url}" ${res.statusCode} ${ms}ms${this.tag}\n`;
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  }
  readonly #flush = (): void => {
    this.#scheduled = false;
    const s = this.#lines;
    this.#lines = '';
    this.out.write(s);
  };
}

function send(
  site: Site,
  res: http.ServerResponse,
  status: number,
  body: string,
  headers: http.OutgoingHttpHeaders = {},
): void {
  if (site.opts.cors) headers['Access-Control-Allow-Origin'] = '*';
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/**
 * The path's segments, decoded, or an HttpError: 400 for what no file name
 * holds (NUL, a backslash, bad percent-encoding), 403 for '.' and '..'
 * (however encoded), 404 for a dotfile unless they are allowed.
 */
function segmentsOf(pathname: string, dotfiles: boolean): string[] {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    throw new HttpError(400, 'Bad Request');
  }
  if (decoded.includes('\0') || decoded.includes('\\')) throw new HttpError(400, 'Bad Request');
  const out: string[] = [];
  for (const s of decoded.split('/')) {
    if (s === '') continue; // '//' and a leading or trailing '/'
    if (s === '.' || s === '..') throw new HttpError(403, 'Forbidden');
    if (s.charCodeAt(0) === 0x2e /* . */ && !dotfiles) throw NOT_FOUND();
    out.push(s);
  }
  return out;
}

/** The stats a response needs. */
interface FileStat {
  size: number;
  mtimeMs: number;
  mtime: Date;
  isFile(): boolean;
  isDirectory(): boolean;
}

/**
 * Stats `rel` and makes sure it lies under the root: through openat2 with
 * RESOLVE_BENEATH from the root's descriptor (a regular file comes back open,
 * for reading; a directory is opened O_PATH and closed), or, without the
 * ring, by resolving its symlinks and checking the result.
 */
async function lookup(site: Site, rel: string): Promise<{ st: FileStat; fh: FileHandle | undefined }> {
  const path = rel === '' ? site.opts.root : join(site.opts.root, rel);
  // The stat first: a FIFO must never be opened (its open would wait for a writer).
  const st = await stat(path);
  const isFile = st.isFile();
  if (!isFile && !st.isDirectory()) throw new HttpError(403, 'Forbidden');
  if (site.rootFd >= 0) {
    const fd = await openat2(rel === '' ? '.' : rel, {
      dirfd: site.rootFd,
      flags: isFile ? fsc.O_RDONLY : O_PATH | fsc.O_DIRECTORY,
      resolve: RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    });
    if (isFile) return { st, fh: new FileHandle(fd) };
    await closeFd(fd);
    return { st, fh: undefined };
  }
  if (!site.opts.followSymlinks) {
    const real = await realpath(path);
    if (real !== site.realRoot && !real.startsWith(site.realRoot.endsWith(sep) ? site.realRoot : site.realRoot + sep))
      throw NOT_FOUND();
  }
  return { st, fh: isFile ? ((await open(path, 'r')) as unknown as FileHandle) : undefined };
}

async function handle(site: Site, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const { opts } = site;
  if (req.method === 'OPTIONS' && opts.cors) {
    res.writeHead(204, {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
      'Access-Control-Allow-Headers': req.headers['access-control-request-headers'] ?? '*',
      'Access-Control-Max-Age': '86400',
    });
    res.end();
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(site, res, 405, 'Method Not Allowed\n', { Allow: opts.cors ? 'GET, HEAD, OPTIONS' : 'GET, HEAD' });
    return;
  }
  const url = req.url ?? '/';
  if (url.charCodeAt(0) !== 0x2f /* / */) throw new HttpError(400, 'Bad Request');
  const q = url.indexOf('?');
  const pathname = q < 0 ? url : url.slice(0, q);
  const segments = segmentsOf(pathname, opts.dotfiles);
  const rel = segments.join('/');
  const { st, fh } = await lookup(site, rel);
  if (fh) {
    await sendFile(site, req, res, fh, st, TYPES[extname(rel).toLowerCase()] ?? 'application/octet-stream', rel);
    return;
  }
  if (!pathname.endsWith('/')) {
    // Rebuilt from the segments, so always one '/' then a segment: never
    // '//host' (which a browser reads as another site), whatever was asked.
    const location = `/${segments.map(encodeURIComponent).join('/')}${rel === '' ? '' : '/'}${q < 0 ? '' : url.slice(q)}`;
    send(site, res, 301, '', { Location: location });
    return;
  }
  const indexRel = rel === '' ? 'index.html' : `${rel}/index.html`;
  const index = await lookup(site, indexRel).catch(() => undefined);
  if (index?.fh) {
    await sendFile(site, req, res, index.fh, index.st, TYPES['.html']!, indexRel);
    return;
  }
  await sendListing(site, req, res, rel === '' ? opts.root : join(opts.root, rel), segments);
}

async function sendListing(
  site: Site,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  dir: string,
  segments: string[],
): Promise<void> {
  const entries = (await readdir(dir, { withFileTypes: true })).filter(
    (e) => site.opts.dotfiles || !e.name.startsWith('.'),
  );
  entries.sort((a, b) => a.name.localeCompare(b.name));
  const items = entries.map((e) => {
    const slash = e.isDirectory() ? '/' : '';
    return `<li><a href="${escapeHtml(encodeURIComponent(e.name))}${slash}">${escapeHtml(e.name + slash)}</a></li>`;
  });
  if (segments.length > 0) items.unshift('<li><a href="../">../</a></li>');
  const title = `Index of ${escapeHtml(`/${segments.map((s) => `${s}/`).join('')}`)}`;
  const body = `<!doctype html>\n<meta charset="utf-8">\n<title>${title}</title>\n<h1>${title}</h1>\n<ul>\n${items.join('\n')}\n</ul>\n`;
  const headers: http.OutgoingHttpHeaders = {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-cache',
  };
  if (site.opts.cors) headers['Access-Control-Allow-Origin'] = '*';
  let buf: Buffer = Buffer.from(body);
  const enc = site.opts.compress && buf.length >= COMPRESS_MIN ? negotiate(req.headers['accept-encoding']) : undefined;
  if (site.opts.compress) headers.Vary = 'Accept-Encoding';
  if (enc) {
    buf = await compressBuffer(enc, buf);
    headers['Content-Encoding'] = enc;
  }
  headers['Content-Length'] = buf.length;
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : buf);
}

/**
 * The byte ranges of a Range header against a file of `size` bytes, in the
 * order asked; 'bad' when none can be served (416); null to ignore the header
 * and send the whole file: a form not understood (as RFC 9110 allows), more
 * than MAX_RANGES ranges, or ranges that overlap (which could ask for the
 * file many times over).
 */
function parseRanges(header: string, size: number): { start: number; end: number }[] | 'bad' | null {
  if (!header.startsWith('bytes=')) return null;
  const ranges: { start: number; end: number }[] = [];
  const specs = header.slice(6).split(',');
  if (specs.length > MAX_RANGES) return null;
  for (const spec of specs) {
    const m = /^\s*(\d*)-(\d*)\s*$/.exec(spec);
    if (!m || (m[1] === '' && m[2] === '')) return null;
    let start: number;
    let end: number;
    if (m[1] === '') {
      if (Number(m[2]) === 0) continue; // an empty suffix: unsatisfiable
      start = Math.max(0, size - Number(m[2]));
      end = size - 1;
    } else {
      start = Number(m[1]);
      if (m[2] !== '' && Number(m[2]) < start) return null; // invalid: ignore the header
      end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    }
    if (start >= size) continue;
    ranges.push({ start, end });
  }
  if (ranges.length === 0) return 'bad';
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) if (sorted[i]!.start <= sorted[i - 1]!.end) return null;
  return ranges;
}

/** Weak comparison (RFC 9110 8.8.3.2) of an If-None-Match list with our ETag. */
function noneMatch(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  const ours = etag.startsWith('W/') ? etag.slice(2) : etag;
  for (const t of header.split(',')) {
    const s = t.trim();
    if ((s.startsWith('W/') ? s.slice(2) : s) === ours) return true;
  }
  return false;
}

async function readAll(fh: FileHandle, length: number, position: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break; // the file shrank since the stat
    done += bytesRead;
  }
  return done === length ? buf : buf.subarray(0, done);
}

async function sendFile(
  site: Site,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  fh: FileHandle,
  st: FileStat,
  type: string,
  rel: string,
): Promise<void> {
  let streaming = false;
  try {
    streaming = await respond(site, req, res, fh, st, type, rel);
  } finally {
    // A stream closes the handle itself when it ends or fails.
    if (!streaming) await fh.close();
  }
}

/** Answers with the file; true when a stream now owns (and will close) `fh`. */
async function respond(
  site: Site,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  fh: FileHandle,
  st: FileStat,
  type: string,
  rel: string,
): Promise<boolean> {
  const lastModified = st.mtime.toUTCString();
  // Size and modification time (to the microsecond): a strong validator for
  // files that are replaced rather than rewritten in place within a tick.
  let etag = `"${st.size.toString(16)}-${Math.round(st.mtimeMs * 1000).toString(16)}"`;
  const headers: http.OutgoingHttpHeaders = {
    'Content-Type': type,
    'Last-Modified': lastModified,
    'Accept-Ranges': 'bytes',
  };
  if (site.opts.cors) {
    headers['Access-Control-Allow-Origin'] = '*';
    headers['Access-Control-Expose-Headers'] = 'Content-Length, Content-Range, Accept-Ranges, ETag';
  }
  const canCompress = site.opts.compress && compressible(type);
  if (canCompress) headers.Vary = 'Accept-Encoding';
  const rangeHeader = req.headers.range;
  const enc =
    canCompress && st.size >= COMPRESS_MIN && !rangeHeader ? negotiate(req.headers['accept-encoding']) : undefined;
  // Each coding is its own representation: its own strong ETag.
  if (enc) etag = `${etag.slice(0, -1)}-${enc}"`;
  headers.ETag = etag;

  const inm = req.headers['if-none-match'];
  const ims = req.headers['if-modified-since'];
  if (
    inm !== undefined
      ? noneMatch(inm, etag)
      : ims !== undefined && Math.floor(st.mtimeMs / 1000) <= Math.floor(Date.parse(ims) / 1000)
  ) {
    delete headers['Content-Type'];
    delete headers['Accept-Ranges'];
    res.writeHead(304, headers);
    res.end();
    return false;
  }

  let ranges: { start: number; end: number }[] | 'bad' | null = null;
  if (rangeHeader) {
    // If-Range: the ranges only if the file is still the one the client has.
    const ifRange = req.headers['if-range'] as string | undefined;
    const current =
      ifRange === undefined ||
      (ifRange.startsWith('"') ? ifRange === etag : !ifRange.startsWith('W/') && ifRange === lastModified);
    if (current) ranges = parseRanges(rangeHeader, st.size);
  }
  if (ranges === 'bad') {
    send(site, res, 416, 'Range Not Satisfiable\n', { 'Content-Range': `bytes */${st.size}` });
    return false;
  }
  const head = req.method === 'HEAD';

  if (ranges && ranges.length > 1) {
    const boundary = `uring-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
    const partHeads = ranges.map((r) =>
      Buffer.from(
        `\r\n--${boundary}\r\nContent-Type: ${type}\r\nContent-Range: bytes ${r.start}-${r.end}/${st.size}\r\n\r\n`,
      ),
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    let length = tail.length;
    for (let i = 0; i < ranges.length; i++) length += partHeads[i]!.length + ranges[i]!.end - ranges[i]!.start + 1;
    headers['Content-Type'] = `multipart/byteranges; boundary=${boundary}`;
    headers['Content-Length'] = length;
    res.writeHead(206, headers);
    if (head) {
      res.end();
      return false;
    }
    const parts = ranges;
    async function* body(): AsyncGenerator<Buffer> {
      for (let i = 0; i < parts.length; i++) {
        yield partHeads[i]!;
        const { start, end } = parts[i]!;
        for (let pos = start; pos <= end;) {
          const n = Math.min(WHOLE_FILE_MAX, end + 1 - pos);
          const chunk = await readAll(fh, n, pos);
          if (chunk.length < n) throw new Error('the file shrank while it was being sent');
          yield chunk;
          pos += n;
        }
      }
      yield tail;
    }
    await new Promise<void>((resolve) => pipeline(Readable.from(body(), { objectMode: false }), res, () => resolve()));
    return false;
  }

  let start = 0;
  let end = st.size - 1;
  let status = 200;
  if (ranges) {
    ({ start, end } = ranges[0]!);
    status = 206;
    headers['Content-Range'] = `bytes ${start}-${end}/${st.size}`;
  }
  const length = end - start + 1;
  if (length <= WHOLE_FILE_MAX) {
    let body: Buffer | undefined;
    if (enc) {
      // HEAD too: its Content-Length is the compressed body's.
      const key = `${rel}\0${etag}`;
      body = site.cache.get(key);
      if (!body) {
        body = await compressBuffer(enc, await readAll(fh, length, start));
        if (site.cacheBytes + body.length > CACHE_MAX_BYTES) {
          site.cache.clear();
          site.cacheBytes = 0;
        }
        site.cache.set(key, body);
        site.cacheBytes += body.length;
      }
      headers['Content-Encoding'] = enc;
    } else if (!head && length > 0) {
      // One read on the ring and one write to the socket, headers included.
      body = await readAll(fh, length, start);
    }
    headers['Content-Length'] = body ? body.length : length;
    res.writeHead(status, headers);
    res.end(head ? undefined : body);
    return false;
  }
  if (head) {
    // A compressed stream's length is not known before it is made: none is sent.
    if (enc) headers['Content-Encoding'] = enc;
    else headers['Content-Length'] = length;
    res.writeHead(status, headers);
    res.end();
    return false;
  }
  if (enc) {
    headers['Content-Encoding'] = enc;
    res.writeHead(status, headers);
    pipeline(fh.createReadStream({ start, end }), compressor(enc), res, () => {});
    return true;
  }
  headers['Content-Length'] = length;
  res.writeHead(status, headers);
  if (await sendSpliced(res, fh, start, length)) return false;
  // The stream closes the handle when it ends or fails; pipeline destroys it if the client goes away.
  pipeline(fh.createReadStream({ start, end }), res, () => {});
  return true;
}

// ---------------------------------------------------------------- splice
//
// A large file goes from the page cache to the socket by splice(2), file ->
// pipe -> socket, in chains of soft-linked splices on the ring: no byte is
// copied into JavaScript or back out, and one trip through JavaScript moves
// CHAIN_PAIRS pipefuls. Streaming it instead (a ReadStream piped into the
// response) copies every byte twice on the event loop's thread, 64 KiB at a
// time, with one read and one send per chunk and (node:stream's
// backpressure) never more than one of each in flight: on a busy machine
// that thread, preempted between each step, is what the download waits on.
//
// The socket's descriptor is dup'ed for the splices: ours to close once the
// last CQE is in, so the number can never be another connection's by the
// time a linked splice (which looks its descriptors up only when it starts)
// runs. Pipes left empty are kept for the next file.
//
// A client that does not read: a splice into a blocking socket whose buffer
// is full waits in the io-wq worker running it until the peer reads or
// leaves, and io-wq starts another worker for each such splice (splices into
// pipes and sockets are its unbounded class). Measured so: 200 connections
// asking for 100 MB and never reading held 200 kernel threads in one `uring
// serve -w 1` for as long as they stayed (other clients were still served,
// on yet more threads). So the socket is made non-blocking (O_NONBLOCK, on
// the file description the dup shares: io_uring's own sends and receives
// take their blocking from their flags, not from it): a splice into it moves
// what the socket buffer takes and returns, short or -EAGAIN, and the chain
// stops there; the next chain starts with a poll for room linked ahead of
// its splices, which waits in the kernel on no thread (linked, not awaited
// on its own: one trip through JavaScript per full socket buffer, not two;
// 27.6 against 30.1 ms of CPU per 100 MB, 25.4 with blocking splices). A
// client that stalls for good holds its pipe and one poll, no worker, until
// the server's inactivity timeout (--timeout: node's server.timeout) closes
// it; each chain's progress refreshes that timeout, as the bytes pass by the
// socket's stream, which alone would see an idle connection during a long
// download. Each thread's ring also caps io-wq's unbounded workers
// (IORING_REGISTER_IOWQ_MAX_WORKERS) at SPLICE_WORKERS, so no number of
// clients makes threads without end.

/** F_GETFL, F_SETFL, F_DUPFD_CLOEXEC, O_NONBLOCK (Linux). */
const F_GETFL = 3;
const F_SETFL = 4;
const F_DUPFD_CLOEXEC = 1030;
const O_NONBLOCK = 0o4000;
/** What the pipes are grown to (the default /proc/sys/fs/pipe-max-size). */
const PIPE_SIZE = 1024 * 1024;
/** file -> pipe -> socket pairs in one chain. */
const CHAIN_PAIRS = 4;
const PAGE = 4096;
/** io-wq's unbounded workers per thread (its splices: one worker each while it runs). */
const SPLICE_WORKERS = 16;

/** Caps this thread's io-wq unbounded workers; a kernel without the knob (before 5.15) keeps its own. */
function capSpliceWorkers(): void {
  try {
    registerIowqMaxWorkers(getRuntime().ring, 0, SPLICE_WORKERS);
  } catch {
    // An old kernel: the non-blocking splices still hold a worker only while they run
  }
}

/**
 * Waits until every byte written to `sock` so far (the headers) is the
 * kernel's; false if the socket failed. Two steps: the node-shaped socket's
 * write callback says the bytes reached the uring socket under it (with
 * write-behind, not that they were sent); an empty write on that socket
 * then completes after everything queued before it has been sent.
 */
function flushed(sock: NodeJS.WritableStream & { destroyed: boolean }, handle: NativeSocket): Promise<boolean> {
  return new Promise((resolve) => {
    if (sock.destroyed) resolve(false);
    else
      sock.write(Buffer.alloc(0), (err) => {
        if (err || handle.closed) resolve(false);
        else handle.writeCb(Buffer.alloc(0), (err2) => resolve(!err2));
      });
  });
}

/**
 * Sends `length` bytes of `fh` from `start` as the body of `res` (whose
 * headers are written, not yet sent) by splice; ends or destroys `res`.
 * False, having sent nothing, where splicing is not possible (no ring
 * socket under `res`, a pipelined response waiting for its turn, a kernel
 * without IORING_OP_PIPE): the caller streams instead.
 */
async function sendSpliced(res: http.ServerResponse, fh: FileHandle, start: number, length: number): Promise<boolean> {
  const sock = res.socket;
  const handle = uringSocketOf(sock);
  if (!sock || !handle || handle.closed || !spliceSupported(getRuntime())) return false;
  // A pipelined response whose turn has not come has no socket of its own yet.
  if ((sock as unknown as { _httpMessage?: unknown })._httpMessage !== res) return false;
  res.flushHeaders();
  if (!(await flushed(sock, handle)) || handle.closed) {
    res.destroy();
    return true;
  }
  let p: SplicePipe;
  try {
    p = await takePipe(PIPE_SIZE);
  } catch {
    return false; // nothing but the headers sent: the stream sends the body
  }
  const out = handle.closed ? -1 : native().fcntl(handle.fd, F_DUPFD_CLOEXEC, 0);
  if (out >= 0) native().ownFd(out);
  const fl = out >= 0 ? native().fcntl(out, F_GETFL, 0) : -1;
  if (fl < 0 || ((fl & O_NONBLOCK) === 0 && native().fcntl(out, F_SETFL, fl | O_NONBLOCK) < 0)) {
    if (out >= 0) native().closeFd(out);
    givePipe(p, true);
    res.destroy();
    return true;
  }
  let op: SpliceChainOp | undefined;
  let gone = false;
  const onClose = () => {
    gone = true;
    // Cancel what runs (a splice, or the poll waiting for room); the CQEs still come.
    if (op) getRuntime().cancel(op);
  };
  sock.once('close', onClose);
  let pos = start;
  let left = length; // bytes not yet in the pipe
  let inPipe = 0; // bytes in the pipe, not yet in the socket
  let full = false; // the socket took less than it was given
  let err: Error | undefined;
  try {
    while ((left > 0 || inPipe > 0) && !gone) {
      const fdIn: number[] = [];
      const offIn: number[] = [];
      const fdOut: number[] = [];
      const len: number[] = [];
      if (inPipe > 0) {
        // What a short send left in the pipe goes first.
        fdIn.push(p.r);
        offIn.push(-1);
        fdOut.push(out);
        len.push(inPipe);
      }
      let at = pos;
      let planned = 0;
      for (let i = 0; i < CHAIN_PAIRS && planned < left; i++) {
        // Ending on a page boundary: a pipe of N pages holds N pages' worth
        // of an aligned range, and one page less of a misaligned one.
        const n = Math.min(left - planned, p.size - (at % PAGE));
        fdIn.push(fh.fd, p.r);
        offIn.push(at, -1);
        fdOut.push(p.w, out);
        len.push(n, n);
        at += n;
        planned += n;
      }
      const first = full ? 1 : 0;
      const results = await new Promise<Int32Array>((resolve, reject) => {
        // The socket's buffer was full: the chain waits (a poll, on no thread) until it has room.
        op = new SpliceChainOp(fdIn, offIn, fdOut, len, (o, e) => (e ? reject(e) : resolve(o.res)), full ? out : -1);
        getRuntime().submit(op);
        if (gone) onClose();
        // Withdrawn before the kernel saw it (a cancel right after submit): no CQE will come.
        if (op.state === OpState.Idle) resolve(new Int32Array(len.length + first).fill(-ECANCELED));
      });
      op = undefined;
      if (first && results[0]! < 0 && results[0] !== -ECANCELED) {
        err = systemError(results[0]!, 'poll');
        break;
      }
      full = false;
      let progress = false;
      for (let i = 0; i < len.length; i++) {
        const r = results[i + first]!;
        if (r === -ECANCELED) continue;
        if (r === -EAGAIN && fdOut[i] === out) {
          full = true; // not a byte taken: the chain stopped here
          continue;
        }
        if (r < 0) {
          err = systemError(r, 'splice');
          break;
        }
        if (fdOut[i] === p.w) {
          if (r === 0) {
            err = new Error('the file shrank while it was being sent');
            break;
          }
          pos += r;
          left -= r;
          inPipe += r;
        } else {
          inPipe -= r;
          if (r < len[i]!) full = true;
        }
        if (r > 0) progress = true;
      }
      if (err) break;
      if (progress) {
        // Bytes went out that the socket's stream did not see: activity all the same.
        const t = sock.timeout;
        if (t) sock.setTimeout(t);
      } else if (!full && !gone) {
        err = new Error('splice made no progress');
        break;
      }
    }
  } catch (e) {
    if (!gone) err = e as Error;
  } finally {
    sock.off('close', onClose);
    native().closeFd(out);
    givePipe(p, inPipe === 0 && !err && !gone);
  }
  // A file system that cannot splice (EINVAL) before a byte of the body went: the stream sends it.
  if (err && !gone && pos === start && inPipe === 0 && (err as NodeJS.ErrnoException).code === 'EINVAL') return false;
  if (err || gone) res.destroy();
  else res.end();
  return true;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
