// uring/http's server: a real node:http Server whose listening socket is a
// uring/net Server. node:http keeps parsing, timeouts, keep-alive and every
// event; what it would ask of node:net's Server (bind, accept, address, close,
// connection counts) goes to uring/net instead, and each accepted socket is
// handed over exactly as node:net's accept path hands one over (listener.ts).
import http from 'node:http';
import { mayUseNode, useNode } from '../runtime/fallback.js';
import { attachListener, onListener } from './listener.js';
import type { Runtime } from '../runtime/runtime.js';

export interface ServerOptions extends http.ServerOptions {
  /** The ring to run on (default: this thread's). */
  runtime?: Runtime;
}

type RequestListener = http.RequestListener;

/** A node:http Server (instanceof http.Server, every event) listening on io_uring. */
export class Server extends http.Server {
  constructor(options?: ServerOptions | RequestListener, requestListener?: RequestListener) {
    if ((typeof options !== 'object' || options?.runtime === undefined) && mayUseNode() && useNode()) {
      // Opted out of io_uring, or it is unavailable and the fallback is on:
      // node's own server (so `instanceof` this class is false for it).
      return new http.Server(options as http.ServerOptions, requestListener) as Server;
    }
    super(options as http.ServerOptions, requestListener as RequestListener);
    attachListener(this, typeof options === 'object' ? options?.runtime : undefined);
  }
}
// listen, address, close, getConnections, ref, unref, listening and
// maxConnections: the uring listener's.
onListener(Server);

/** http.createServer([options][, requestListener]) listening on io_uring sockets. */
export function createServer(options?: ServerOptions | RequestListener, requestListener?: RequestListener): Server {
  return new Server(options, requestListener);
}
