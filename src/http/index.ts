// uring/http: node:http with its servers listening on io_uring sockets.
//
//   import { createServer } from 'uring/http';
//   createServer(app).listen(3000);
//
// createServer and Server are this module's (server.ts): a real http.Server
// whose connections are uring/net sockets, set up as node's own. Everything
// else is node:http's own, re-exported, so `import http from 'uring/http'`
// drops in for `import http from 'node:http'`.
import http from 'node:http';
import { Server, createServer } from './server.js';

export * from 'node:http';
export { Server, createServer };
export type { ServerOptions } from './server.js';

export default { ...http, Server, createServer };
