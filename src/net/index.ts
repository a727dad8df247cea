// uring/net, the native API: sockets whose I/O goes through io_uring.
//
//   const server = await listen({ port: 8080 });
//   for await (const socket of server) {
//     (async () => { for await (const chunk of socket) await socket.write(chunk); })();
//   }
//
// The node:net-compatible layer (createServer, connect, Socket as a
// stream.Duplex, for node:http) is in ./node.ts.
export { Socket, connect, DEFAULT_ZERO_COPY_THRESHOLD, type ConnectOptions, type SocketOptions, type Receiver, type WriteCallback } from './socket.js';
export { Server, listen, type ListenOptions, type AddressInfo } from './server.js';
export { UdpSocket, bindUdp, type UdpOptions, type Message } from './udp.js';
export { configureRecvPool, recvPool, type RecvPoolOptions } from './recv-pool.js';
export type { SocketAddress } from './address.js';
export * from './node.js';
