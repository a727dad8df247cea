// Express (and any node:http app) served over io_uring sockets.
//
//   node dist/examples/http-express.js [port]
//
// uring/http's createServer is node:http's (a real http.Server, set up as
// node sets up its own: no-delay sockets, header and request timeouts) with
// its listening socket on io_uring. Everything above the socket (HTTP
// parsing, Express routing) is unchanged; accept, recv and send go through
// io_uring. In an application: `import { createServer } from 'uring/http'`.
import express from 'express';
import { createServer } from '../src/http/index.js';

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

const server = createServer(app); // node:http's server, on io_uring sockets
server.listen(port, host, () => {
  const { port: actual } = server.address() as { port: number };
  console.log(`listening on http://${host}:${actual}/`);
});

// Ctrl-C / SIGTERM: stop accepting, end idle keep-alive connections, exit.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    server.close();
    server.closeAllConnections();
  });
}
