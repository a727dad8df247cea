// uring/https's server: a real node:https Server whose connections are TLS
// over uring/net sockets. The listening socket is a uring listener, as for
// uring/http's Server (../http/listener.ts); each accepted uring socket is
// emitted as 'connection', where tls.Server's own listener wraps it in a
// tls.TLSSocket and, once the handshake is done, hands that to node:http
// ('secureConnection'). TLSSocket takes a socket that is not node:net's
// through a JS stream wrapper: encrypted bytes cross from the uring socket
// into OpenSSL and back in JavaScript, where node's own https keeps them in
// C++ (bench/README-net.md measures what that costs).
import https from 'node:https';
import type http from 'node:http';
import { mayUseNode, useNode } from '../runtime/fallback.js';
import { attachListener, onListener } from '../http/listener.js';
import type { Runtime } from '../runtime/runtime.js';

export interface ServerOptions extends https.ServerOptions {
  /** The ring to run on (default: this thread's). */
  runtime?: Runtime;
}

type RequestListener = http.RequestListener;

/** A node:https Server (instanceof https.Server and tls.Server, every event) on io_uring sockets. */
export class Server extends https.Server {
  constructor(options?: ServerOptions | RequestListener, requestListener?: RequestListener) {
    if ((typeof options !== 'object' || options?.runtime === undefined) && mayUseNode() && useNode()) {
      // Opted out of io_uring, or it is unavailable and the fallback is on:
      // node's own server (so `instanceof` this class is false for it).
      return new https.Server(options as https.ServerOptions, requestListener) as Server;
    }
    super(options as https.ServerOptions, requestListener as RequestListener);
    attachListener(this, typeof options === 'object' ? options?.runtime : undefined);
  }
}
// listen, address, close, getConnections, ref, unref, listening and
// maxConnections: the uring listener's.
onListener(Server);

/** https.createServer([options][, requestListener]) on io_uring sockets. */
export function createServer(options?: ServerOptions | RequestListener, requestListener?: RequestListener): Server {
  return new Server(options, requestListener);
}
