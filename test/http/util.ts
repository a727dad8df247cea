// Helpers for the uring/http tests: each behaviour is checked on uring/http's
// server and on node:http's own, side by side.
import { once } from 'node:events';
import http from 'node:http';
import * as nodeNet from 'node:net';
import { createServer as uringCreateServer } from '../../src/http/index.js';

export type Make = (
  options?: http.ServerOptions | http.RequestListener,
  listener?: http.RequestListener,
) => http.Server;

/** The two servers every behaviour is compared on. */
export const kinds: [string, Make][] = [
  ['node:http', http.createServer as Make],
  ['uring/http', uringCreateServer as Make],
];

export async function listening(server: http.Server, ...args: unknown[]): Promise<http.Server> {
  const p = once(server, 'listening');
  (server.listen as (...a: unknown[]) => void)(...(args.length ? args : [0, '127.0.0.1']));
  await p;
  return server;
}

export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

export function portOf(server: http.Server): number {
  return (server.address() as nodeNet.AddressInfo).port;
}

export interface RawReply {
  data: string;
  /** ms from the first write to the connection's close. */
  closedAfter: number;
}

/**
 * Sends `chunks` on a raw TCP connection (one write each) and collects what
 * comes back until the server closes, or until `ms` pass (then the client
 * closes and `closedAfter` is Infinity).
 */
export async function raw(port: number, chunks: (string | Buffer)[], ms = 10_000): Promise<RawReply> {
  const c = nodeNet.connect(port, '127.0.0.1');
  await once(c, 'connect');
  const t0 = performance.now();
  let data = '';
  c.setEncoding('latin1');
  c.on('data', (d: string) => (data += d));
  c.on('error', () => {});
  for (const chunk of chunks) c.write(chunk);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    c.destroy();
  }, ms);
  await once(c, 'close');
  clearTimeout(timer);
  const closedAfter = timedOut ? Infinity : performance.now() - t0;
  return { data, closedAfter };
}

/** One GET with node's client; the status, headers and body. */
export function get(
  port: number,
  path: string,
  options: http.RequestOptions = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, ...options }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}
