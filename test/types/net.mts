// Code written against node:net (and node:http's createServer), with the
// import switched to uring/net and uring/http.
import * as nodeNet from 'node:net';
import * as nodeHttp from 'node:http';
import netDefault, * as net from 'uring/net';
import {
  connect,
  createConnection,
  createServer,
  isIP,
  isIPv4,
  isIPv6,
  Server,
  Socket,
  Stream,
  BlockList,
  getDefaultAutoSelectFamily,
  setDefaultAutoSelectFamily,
  getDefaultAutoSelectFamilyAttemptTimeout,
  setDefaultAutoSelectFamilyAttemptTimeout,
  type AddressInfo,
  type ListenOptions,
  type ServerOpts,
  type SocketConstructorOpts,
  type NetConnectOpts,
  type TcpNetConnectOpts,
  type IpcNetConnectOpts,
  type SocketConnectOpts,
  type TcpSocketConnectOpts,
  type IpcSocketConnectOpts,
  type SocketReadyState,
  type LookupFunction,
} from 'uring/net';
import httpDefault, * as http from 'uring/http';
import { is } from './is.mjs';

declare const signal: AbortSignal;

export function servers(): void {
  const s1 = createServer();
  const s2 = createServer((socket) => {
    const asNode: nodeNet.Socket = socket;
    socket.setNoDelay(true).setKeepAlive(true, 1000).setTimeout(5000);
    socket.write('hi');
    socket.write(Buffer.from('hi'), (err) => void err);
    socket.write('hi', 'latin1', () => {});
    socket.end();
    void asNode;
  });
  const s3 = createServer({ allowHalfOpen: true, pauseOnConnect: false, noDelay: true, keepAlive: true }, (socket) => {
    socket.pipe(socket);
  });
  const s4: Server = new Server();
  const s5 = new net.Server({ highWaterMark: 1024 }, () => {});
  s1.listen(0);
  s1.listen(0, '127.0.0.1');
  s1.listen(0, '127.0.0.1', 511, () => {});
  s1.listen(0, () => {});
  s2.listen({ port: 0, host: '127.0.0.1', backlog: 10, exclusive: false, ipv6Only: false, signal }, () => {});
  s3.listen('/tmp/sock', () => {});
  s4.listen({ path: '/tmp/sock', readableAll: true, writableAll: true });
  const addr = s1.address();
  if (addr !== null && typeof addr === 'object') is<number>()(addr.port);
  // Listeners' arguments are not typed per event (node's types list each event): any here.
  s1.on('connection', (socket) => socket.remotePort);
  s1.on('listening', () => {});
  s1.on('error', (err) => void err);
  s1.close((err) => void err);
  s1.getConnections((err, count) => is<number>()(count));
  s1.maxConnections = 10;
  is<boolean>()(s1.listening);
  s5.ref().unref();

  // uring's servers go where node's are expected.
  const asNode: nodeNet.Server = s1;
  void asNode;
  // @ts-expect-error no listen() takes a port and then a path
  s1.listen(0, '127.0.0.1', '/tmp/sock');
}

export function clients(): void {
  const c1 = connect(80);
  const c2 = connect(80, 'localhost', () => {});
  const c3 = connect({ port: 80, host: 'localhost', family: 4, noDelay: true, keepAlive: true, timeout: 100 });
  const c4 = createConnection('/tmp/sock', () => {});
  const c5 = createConnection({ path: '/tmp/sock' }, () => {});
  const c6 = new Socket();
  const c7 = new Socket({ allowHalfOpen: true, readable: true, writable: true });
  const c8: Stream = new Stream();
  c6.connect(80, 'localhost', () => {});
  c6.connect(80);
  c6.connect({ port: 80, localAddress: '127.0.0.1' });
  c7.connect('/tmp/sock');
  is<number>()(c1.bytesRead);
  is<number>()(c1.bytesWritten);
  is<string | undefined>()(c1.remoteAddress);
  is<string | undefined>()(c1.localAddress);
  is<boolean>()(c1.connecting);
  is<boolean>()(c1.pending);
  const rs: SocketReadyState = c1.readyState;
  void rs;
  c1.on('data', (chunk: Buffer) => void chunk);
  c1.on('connect', () => {});
  c1.on('close', (hadError: boolean) => void hadError);
  c1.setEncoding('utf8');
  c1.destroySoon();
  c2.resetAndDestroy();
  c3.ref().unref();
  c1.address();
  c8.destroy();

  // uring's sockets go where node's are expected.
  const asNode: nodeNet.Socket[] = [c1, c2, c3, c4, c5, c6, c7, c8];
  void asNode;
  // @ts-expect-error connect needs a port, a path or options
  connect();
}

// Code that picks either module at run time: calls on the union type-check.
export function either(useUring: boolean): void {
  const mod = useUring ? net : nodeNet;
  const server = mod.createServer((socket: nodeNet.Socket) => socket.end());
  server.listen(0, '127.0.0.1', () => {});
  server.close();
  mod.connect(80, 'localhost').end();
  mod.createConnection({ port: 80 }).destroy();
  new mod.Socket().connect(80);
}

export function helpers(): void {
  is<number>()(isIP('::1'));
  is<boolean>()(isIPv4('127.0.0.1'));
  is<boolean>()(isIPv6('::1'));
  const bl = new BlockList();
  bl.addAddress('127.0.0.1');
  setDefaultAutoSelectFamily(getDefaultAutoSelectFamily());
  setDefaultAutoSelectFamilyAttemptTimeout(getDefaultAutoSelectFamilyAttemptTimeout());
  const sa = new net.SocketAddress({ address: '127.0.0.1', port: 80 });
  is<number>()(sa.port);
  is<number>()(netDefault.isIP('::1'));
  const s: nodeNet.Server = netDefault.createServer();
  const c: nodeNet.Socket = netDefault.connect(80);
  void s;
  void c;
}

export type Names = [
  AddressInfo,
  ListenOptions,
  ServerOpts,
  SocketConstructorOpts,
  NetConnectOpts,
  TcpNetConnectOpts,
  IpcNetConnectOpts,
  SocketConnectOpts,
  TcpSocketConnectOpts,
  IpcSocketConnectOpts,
  LookupFunction,
];

export function httpServers(): void {
  const handler = (req: nodeHttp.IncomingMessage, res: nodeHttp.ServerResponse): void => {
    res.end(req.url);
  };
  const h1 = http.createServer(handler);
  const h2 = http.createServer({ keepAliveTimeout: 1000, requestTimeout: 5000 }, handler);
  const h3 = http.createServer();
  const h4 = httpDefault.createServer((req, res) => {
    is<string | undefined>()(req.url);
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  const h5 = new http.Server(handler);
  h1.listen(0, '127.0.0.1', () => {});
  h2.listen({ port: 0 });
  h3.on('request', handler);
  h1.close();
  // uring's http servers go where node's are expected.
  const asNode: nodeHttp.Server[] = [h1, h2, h3, h4, h5];
  void asNode;
  is<number>()(http.STATUS_CODES[200] === undefined ? 0 : 1);
  void http.request;
}
