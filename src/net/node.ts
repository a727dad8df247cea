// uring/net's node:net-compatible layer: Socket is a stream.Duplex over a
// uring socket, Server an EventEmitter over a uring listener, with node:net's
// argument forms, events and properties. node:http serves through it:
//
//   const app = http.createServer(handler);
//   createServer((socket) => app.emit('connection', socket)).listen(8080);
//
// and http.request takes { createConnection } from here.
//
// Where the drop-ins are node's (the user opted out of io_uring with
// URING_DISABLE=1, or io_uring is unavailable and URING_FALLBACK=node asks for
// it: runtime/fallback.ts), createServer, connect and createConnection are
// node:net's own, and `new Socket()` / `new Server()` return node:net's
// objects (so `instanceof` this module's classes is false for them).
//
// The two drop-ins are node-socket.ts and node-server.ts; this module is
// their public face (uring/net re-exports it), with the names node:net
// offers that uring takes from node as they are.
import * as nodeNet from 'node:net';
import { isIP as nodeIsIP, isIPv4, isIPv6 } from 'node:net';
import type { NetSocket } from './node-socket.js';
import type { NetServer } from './node-server.js';

export {
  Socket,
  Stream,
  connect,
  createConnection,
  type SocketConstructorOptions,
  type TcpConnectOptions,
  type IpcConnectOptions,
  type NetConnectOptions,
  type ConnectArgs,
} from './node-socket.js';
export { Server, createServer, type ServerOptions, type NodeListenOptions, type ListenArgs } from './node-server.js';

export { isIPv4, isIPv6 };
export const isIP = nodeIsIP;

// node:net's own where what they do is process-wide or needs no socket:
// the autoSelectFamily defaults (test harnesses and programs set them at
// startup; uring's connect does not race families, so they change nothing
// here), BlockList and SocketAddress (plain value classes), and the two
// underscored helpers programs still call (_normalizeArgs parses connect()'s
// arguments; _setSimultaneousAccepts is a deprecated no-op outside Windows).
export const {
  getDefaultAutoSelectFamily,
  setDefaultAutoSelectFamily,
  getDefaultAutoSelectFamilyAttemptTimeout,
  setDefaultAutoSelectFamilyAttemptTimeout,
  BlockList,
  SocketAddress,
} = nodeNet;
const nodeNetInternals = nodeNet as unknown as {
  _normalizeArgs: (args: unknown[]) => unknown[];
  _setSimultaneousAccepts: (handle: unknown) => void;
};
// As types too, as node:net's classes are.
export type BlockList = nodeNet.BlockList;
export type SocketAddress = nodeNet.SocketAddress;
export const _normalizeArgs = nodeNetInternals._normalizeArgs;
export const _setSimultaneousAccepts = nodeNetInternals._setSimultaneousAccepts;
// Node 24.22 adds BoundSocket (and the class a worker receives it as): node's
// own here, undefined on the lines that lack them, so an import of the name
// from uring/net links on every line.
const nodeNetNewer = nodeNet as unknown as { BoundSocket?: unknown; _TransferredBoundSocket?: unknown };
export const BoundSocket = nodeNetNewer.BoundSocket;
export const _TransferredBoundSocket = nodeNetNewer._TransferredBoundSocket;

// The classes behind the callable Socket and Server, as types only: the
// declarations of this module's exports name them.
export type { NetSocket, NetServer };
