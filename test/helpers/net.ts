// A connected TCP pair on 127.0.0.1 whose raw fds the ring can use.
//
// Node's own epoll also knows these fds. Neither side ever starts reading in
// Node (the server pauses on connect, the client is paused before it
// connects), so every byte stays in the kernel for the ring to receive.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';

export interface SocketPair {
  /** The server's end of the connection. */
  readonly server: Socket;
  readonly client: Socket;
  readonly serverFd: number;
  readonly clientFd: number;
  close(): Promise<void>;
}

export function rawFd(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('no raw fd on this socket');
  return fd;
}

export async function socketPair(): Promise<SocketPair> {
  const listener: Server = createServer({ pauseOnConnect: true });
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const { port } = listener.address() as { port: number };
  const accepted = once(listener, 'connection') as Promise<[Socket]>;
  const client = connect({ port, host: '127.0.0.1' });
  client.pause();
  await once(client, 'connect');
  const [server] = await accepted;
  server.pause();
  // Stop accepting; 'close' comes once this connection is gone too.
  const listenerClosed = new Promise<void>((resolve) => listener.close(() => resolve()));
  return {
    server,
    client,
    serverFd: rawFd(server),
    clientFd: rawFd(client),
    async close() {
      server.destroy();
      client.destroy();
      await listenerClosed;
    },
  };
}
