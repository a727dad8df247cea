// The uring/net listener behind a node:net-shaped server: shared by
// uring/http's Server (a subclass) and uring/register (which routes node's
// own http.Server and net.Server instances through it at listen()).
//
// Each accepted socket gets the server's per-connection options, read at
// accept time from the fields node:net's Server constructor stored on the
// outer server (http.Server passes allowHalfOpen: true, noDelay:
// options.noDelay ?? true, keepAlive, keepAliveInitialDelay, highWaterMark):
// TCP_NODELAY most of all, without which every response written in two parts
// waits for the peer's delayed ACK (~40 ms on a keep-alive connection). The
// listener's events are re-emitted on the outer server: 'connection' (where
// http.Server's own listener sets the connection up), 'listening' (when
// http.Server starts tracking connections for its timeouts and for
// closeIdleConnections/closeAllConnections), 'error', 'drop', 'close'.
import type { EventEmitter } from 'node:events';
import { Server as NetServer, type Socket, type ServerOptions as NetServerOptions } from '../net/node.js';
import type { Runtime } from '../runtime/runtime.js';

/** The fields node:net's Server constructor leaves on a server (read per connection, as node:net does). */
interface NetFields {
  allowHalfOpen: boolean;
  pauseOnConnect: boolean;
  noDelay: boolean;
  keepAlive: boolean;
  /** Seconds: node:net stores ~~(ms / 1000). */
  keepAliveInitialDelay: number;
  highWaterMark: number;
}

/** A uring/net Server whose connections take `outer`'s options and whose events `outer` emits. */
export function uringListener(outer: EventEmitter, runtime?: Runtime): NetServer {
  const fields = outer as unknown as NetFields;
  // Getters: node:net reads these when a connection arrives, so a change
  // after createServer (server.noDelay = false) counts, as it does there.
  const perConnection: NetServerOptions = {
    get allowHalfOpen() {
      return fields.allowHalfOpen;
    },
    get pauseOnConnect() {
      return fields.pauseOnConnect;
    },
    get noDelay() {
      return fields.noDelay;
    },
    get keepAlive() {
      return fields.keepAlive;
    },
    get keepAliveInitialDelay() {
      return fields.keepAliveInitialDelay * 1000;
    },
    get highWaterMark() {
      return fields.highWaterMark;
    },
    ...(runtime ? { runtime } : {}),
  };
  const inner = new NetServer(perConnection);
  inner.on('connection', (socket: Socket) => outer.emit('connection', socket));
  inner.on('listening', () => outer.emit('listening'));
  inner.on('error', (err: Error) => outer.emit('error', err));
  inner.on('drop', (data?: unknown) => (data === undefined ? outer.emit('drop') : outer.emit('drop', data)));
  inner.on('close', () => outer.emit('close'));
  return inner;
}
