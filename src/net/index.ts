// uring/net: sockets whose I/O goes through io_uring.
//
// Two APIs over the same sockets:
// - node:net's, as a drop-in: createServer, connect/createConnection,
//   Socket (a stream.Duplex), Server; node:http serves through it;
// - the native one, async/await and async iterators, with less per-chunk
//   machinery:
//
//     const server = await listen({ port: 8080 });
//     for await (const socket of server) {
//       (async () => { for await (const chunk of socket) await socket.write(chunk); })();
//     }
//
//   listen() -> UringServer, dial() -> UringSocket, bindUdp() -> UdpSocket.
import * as nodeNet from 'node:net';
import * as node from './node.js';
import { Socket as UringSocket, DEFAULT_ZERO_COPY_THRESHOLD } from './socket.js';
import { connect as dial } from './connect.js';
import { listen, Server as UringServer } from './server.js';
import { bindUdp, UdpSocket } from './udp.js';
import { configureRecvPool } from './recv-pool.js';
import { setNodeFallback } from '../runtime/fallback.js';
import { setUringDisabled } from '../opt-out.js';

export { Socket, Server, Stream, connect, createConnection, createServer, isIP, isIPv4, isIPv6 } from './node.js';
// node:net's own (see node.ts).
export {
  BlockList,
  SocketAddress,
  getDefaultAutoSelectFamily,
  setDefaultAutoSelectFamily,
  getDefaultAutoSelectFamilyAttemptTimeout,
  setDefaultAutoSelectFamilyAttemptTimeout,
  _normalizeArgs,
  _setSimultaneousAccepts,
  BoundSocket,
  _TransferredBoundSocket,
} from './node.js';
export type {
  SocketConstructorOptions,
  NetConnectOptions,
  TcpConnectOptions,
  IpcConnectOptions,
  ServerOptions,
  NodeListenOptions,
} from './node.js';
export { dial, listen, bindUdp, configureRecvPool, UringSocket, UringServer, UdpSocket, DEFAULT_ZERO_COPY_THRESHOLD };
export { setNodeFallback, setUringDisabled };
export type { SocketOptions, Receiver, WriteCallback } from './socket.js';
export type { ConnectOptions } from './connect.js';
export type { ListenOptions as UringListenOptions, AddressInfo as UringAddressInfo } from './server.js';
export type { UdpOptions, Message } from './udp.js';
export type { RecvPoolOptions } from './recv-pool.js';
export type { SocketAddress as UringSocketAddress } from './address.js';
// node:net's names for its options and results, as node's types declare
// them, so that code importing them from node:net compiles with the import
// switched (uring's own are the Uring* names above). Only names every
// supported line's @types/node has (20's ConnectOpts is gone from 24's).
export type {
  AddressInfo,
  DropArgument,
  IPVersion,
  IpcNetConnectOpts,
  IpcSocketConnectOpts,
  ListenOptions,
  LookupFunction,
  NetConnectOpts,
  OnReadOpts,
  ServerOpts,
  SocketAddressInitOptions,
  SocketConnectOpts,
  SocketConstructorOpts,
  SocketReadyState,
  TcpNetConnectOpts,
  TcpSocketConnectOpts,
} from 'node:net';

// node:net's whole module first: a name a newer node adds is node's own
// here until uring implements it, so the default export is a superset of
// the running node's.
const { default: _nodeDefault, ...nodeNetAll } = nodeNet as typeof nodeNet & { default?: unknown };
export default {
  ...nodeNetAll,
  ...node,
  dial,
  listen,
  bindUdp,
  configureRecvPool,
  UringSocket,
  UringServer,
  UdpSocket,
};
