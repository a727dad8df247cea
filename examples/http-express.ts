// Express (and any node:http app) served over io_uring sockets.
//
//   node dist/examples/http-express.js [port]
//
// Two lines do it: a plain node:http server, and a uring/net server that
// hands it each connection it accepts. Everything above the socket (HTTP
// parsing, Express routing) is unchanged; accept, recv and send go through
// io_uring. In an application: `import { createServer } from 'uring/net'`.
import http from 'node:http';
import express from 'express';
import { createServer } from '../src/net/index.js';

const port = Number(process.argv[2] ?? 3000);
const host = '127.0.0.1';

const app = express();
app.use(express.json());
app.get('/', (_req, res) => {
  res.send('hello from Express over io_uring\n');
});
app.post('/echo', (req, res) => {
  res.json({ youSent: req.body, bytes: Number(req.headers['content-length'] ?? 0) });
});

const server = http.createServer(app); // 1. node:http, as always
const listener = createServer((socket) => server.emit('connection', socket)); // 2. fed by io_uring sockets
listener.listen(port, host, () => {
  const { port: actual } = listener.address() as { port: number };
  console.log(`listening on http://${host}:${actual}/`);
});

// Ctrl-C / SIGTERM: stop accepting, end idle keep-alive connections, exit.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    listener.close();
    server.closeAllConnections();
  });
}
