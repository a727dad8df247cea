// `uring serve`: a static file server whose every socket and file operation
// goes through io_uring — node:http (uring/http: set up as node's own, so
// no-delay sockets and slow-client timeouts) parsing requests that arrive on
// uring/net sockets, answered with files opened, stat'ed and read on the ring.
// The site itself is serve-app.ts; this file reads the options and runs one
// site per thread (--workers), all listening on one port with SO_REUSEPORT.
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { stat } from '../fs/index.js';
import { nodeFallbackReason } from '../fs/fallback.js';
import { createSite, type ServeOptions } from './serve-app.js';
import { stopGracefully } from './serve-stop.js';
import type { Command, Io } from './main.js';

const USAGE = [
  'Usage: uring serve [DIR] [options]',
  '',
  'Serves the files under DIR (default: the current directory) over HTTP.',
  'node:http parses the requests; the connections are uring/net sockets and the',
  "files are opened, stat'ed and read through io_uring. GET and HEAD; byte ranges",
  '(several: multipart/byteranges) and If-Range; ETag, If-None-Match and',
  'If-Modified-Since; gzip or brotli for text types; index.html or a listing for',
  'directories. Nothing outside DIR is served: no symlink leading out of it, no',
  "'..', and no dotfiles unless asked.",
  '',
  'Options:',
  '  -p, --port N        port to listen on (default 8080; 0 picks a free one)',
  '  -H, --host H        address to listen on (default 127.0.0.1)',
  '  -w, --workers N     threads, each with its own ring and listening socket on',
  '                      the port (SO_REUSEPORT) (default: the number of cores)',
  '      --dotfiles      serve files and directories whose names start with "."',
  '      --follow-symlinks  follow symlinks wherever they lead',
  '      --cors          Access-Control-Allow-Origin: * and answers to preflights',
  '      --no-compression  never gzip or brotli',
  '  -t, --timeout S     close a connection that stays idle S seconds while its',
  '                      request is answered (a client that stopped reading):',
  "                      node's server.timeout (default 120; 0: never)",
  "  -q, --quiet         don't log requests (one line each to stdout)",
  '',
  'Stops on SIGINT or SIGTERM: no new connections, requests in flight answered',
  '(10 s at most; a second signal cuts them), then exit code 0. Exit code 2 on a',
  'usage error, 1 when it cannot listen.',
  '',
].join('\n');

export const serveCommand: Command = {
  summary: 'serve a directory over HTTP, sockets and files through io_uring',
  usage: USAGE,
  run: (args, io) => {
    const opts = parseArgs(args, io);
    return typeof opts === 'number' ? opts : serve(opts, io);
  },
};

function parseArgs(args: string[], io: Io): ServeOptions | number {
  const opts: ServeOptions = {
    root: '.',
    port: 8080,
    host: '127.0.0.1',
    quiet: false,
    dotfiles: false,
    followSymlinks: false,
    cors: false,
    compress: true,
    workers: availableParallelism(),
    // http-server's default (and node's server.timeout before node 13).
    timeout: 120_000,
  };
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
    } else if (a === '-w' || a === '--workers') {
      const v = args[++i];
      const n = Number(v);
      if (v === undefined || !/^\d+$/.test(v) || n < 1 || n > 256)
        return bad(`${a} takes a number of threads from 1 to 256${v === undefined ? '' : `, not '${v}'`}`);
      opts.workers = n;
    } else if (a === '-t' || a === '--timeout') {
      const v = args[++i];
      const n = Number(v);
      if (v === undefined || !/^\d+(\.\d+)?$/.test(v) || n > 86400)
        return bad(`${a} takes seconds from 0 to 86400${v === undefined ? '' : `, not '${v}'`}`);
      opts.timeout = Math.round(n * 1000);
    } else if (a === '-q' || a === '--quiet') {
      opts.quiet = true;
    } else if (a === '--dotfiles') {
      opts.dotfiles = true;
    } else if (a === '--follow-symlinks') {
      opts.followSymlinks = true;
    } else if (a === '--cors') {
      opts.cors = true;
    } else if (a === '--no-compression') {
      opts.compress = false;
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
  // Opted out (URING_DISABLE=1) or fallen back: say that node:fs and node:net
  // serve; node:net on Node 20 has no reusePort, so one thread.
  const instead = nodeFallbackReason();
  if (instead !== undefined) {
    io.err.write(`uring serve: ${instead}: serving through node:fs and node:net, one thread\n`);
    opts.workers = 1;
  }
  let site;
  try {
    site = await createSite(opts, io.out, opts.workers > 1 ? ' w0' : '');
  } catch (err) {
    io.err.write(`uring serve: ${(err as Error).message}\n`);
    return 1;
  }
  const { server, dispose } = site;
  const listening = await new Promise<boolean>((done) => {
    server.once('error', (err: Error) => {
      io.err.write(`uring serve: ${err.message}\n`);
      done(false);
    });
    // The first socket binds the port (a free one for --port 0); the workers' then share it.
    server.listen({ port: opts.port, host: opts.host, reusePort: opts.workers > 1 }, () => done(true));
  });
  if (!listening) {
    await dispose();
    return 1;
  }
  const a = server.address() as { address: string; port: number; family: string };
  const workers: Worker[] = [];
  const stopped: Promise<void>[] = [];
  let failed: string | undefined;
  await Promise.all(
    Array.from({ length: opts.workers - 1 }, (_, i) => {
      const w = new Worker(new URL('./serve-worker.js', import.meta.url), {
        workerData: { opts, port: a.port, index: i + 1 },
      });
      workers.push(w);
      stopped.push(new Promise((done) => w.once('exit', () => done())));
      return new Promise<void>((ready) => {
        w.on('message', (m: { type: string; message?: string }) => {
          if (m.type === 'listening') ready();
          else if (m.type === 'error') failed ??= m.message;
        });
        w.once('error', (err) => (failed ??= err.message));
        w.once('exit', () => ready());
      });
    }),
  );
  if (failed !== undefined) {
    io.err.write(`uring serve: a worker failed: ${failed}\n`);
    for (const w of workers) void w.terminate();
    await stopGracefully(server, true);
    await dispose();
    return 1;
  }
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  const threads = opts.workers > 1 ? ` (${opts.workers} threads)` : '';
  io.out.write(`serving ${opts.root} at http://${host}:${a.port}/${threads}\n`);
  await new Promise<void>((done) => {
    let signals = 0;
    const stop = () => {
      // The first signal stops gracefully; a second cuts the connections left.
      const force = ++signals > 1;
      if (force) process.off('SIGINT', stop).off('SIGTERM', stop);
      for (const w of workers) w.postMessage({ type: force ? 'force' : 'stop' });
      if (force) server.closeAllConnections();
      else
        void Promise.all([stopGracefully(server), ...stopped]).then(async () => {
          process.off('SIGINT', stop).off('SIGTERM', stop);
          await dispose();
          done();
        });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}
