// Types of uring/net for CommonJS code: see fs-promises.d.cts.
import type * as M from '../dist/src/net/index.js' with { 'resolution-mode': 'import' };

// The node:net drop-in.
export declare const Socket: typeof M.Socket;
export type Socket = M.Socket;
export declare const Server: typeof M.Server;
export type Server = M.Server;
export declare const Stream: typeof M.Stream;
export type Stream = M.Stream;
export declare const BlockList: typeof M.BlockList;
export type BlockList = M.BlockList;
export declare const SocketAddress: typeof M.SocketAddress;
export type SocketAddress = M.SocketAddress;
export declare const connect: typeof M.connect;
export declare const createConnection: typeof M.createConnection;
export declare const createServer: typeof M.createServer;
export declare const isIP: typeof M.isIP;
export declare const isIPv4: typeof M.isIPv4;
export declare const isIPv6: typeof M.isIPv6;
export declare const getDefaultAutoSelectFamily: typeof M.getDefaultAutoSelectFamily;
export declare const setDefaultAutoSelectFamily: typeof M.setDefaultAutoSelectFamily;
export declare const getDefaultAutoSelectFamilyAttemptTimeout: typeof M.getDefaultAutoSelectFamilyAttemptTimeout;
export declare const setDefaultAutoSelectFamilyAttemptTimeout: typeof M.setDefaultAutoSelectFamilyAttemptTimeout;
export declare const _normalizeArgs: typeof M._normalizeArgs;
export declare const _setSimultaneousAccepts: typeof M._setSimultaneousAccepts;
export declare const BoundSocket: typeof M.BoundSocket;
export declare const _TransferredBoundSocket: typeof M._TransferredBoundSocket;
export type {
  SocketConstructorOptions,
  NetConnectOptions,
  TcpConnectOptions,
  IpcConnectOptions,
  ServerOptions,
  NodeListenOptions,
} from '../dist/src/net/index.js' with { 'resolution-mode': 'import' };
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

// uring's own API.
export declare const dial: typeof M.dial;
export declare const listen: typeof M.listen;
export declare const bindUdp: typeof M.bindUdp;
export declare const configureRecvPool: typeof M.configureRecvPool;
export declare const DEFAULT_ZERO_COPY_THRESHOLD: typeof M.DEFAULT_ZERO_COPY_THRESHOLD;
export declare const setNodeFallback: typeof M.setNodeFallback;
export declare const setUringDisabled: typeof M.setUringDisabled;
export declare const UringSocket: typeof M.UringSocket;
export type UringSocket = M.UringSocket;
export declare const UringServer: typeof M.UringServer;
export type UringServer = M.UringServer;
export declare const UdpSocket: typeof M.UdpSocket;
export type UdpSocket = M.UdpSocket;
export type {
  SocketOptions,
  Receiver,
  WriteCallback,
  ConnectOptions,
  UringListenOptions,
  UringAddressInfo,
  UdpOptions,
  Message,
  RecvPoolOptions,
  UringSocketAddress,
} from '../dist/src/net/index.js' with { 'resolution-mode': 'import' };

declare const _default: typeof M.default;
export default _default;
