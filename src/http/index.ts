// uring/http: node:http with its servers and clients on io_uring sockets.
//
//   import { createServer, request } from 'uring/http';
//   createServer(app).listen(3000);
//   request('http://127.0.0.1:3000/', (res) => ...).end();
//
// createServer and Server are this module's (server.ts): a real http.Server
// whose connections are uring/net sockets, set up as node's own. Agent,
// globalAgent, request and get are this module's too (agent.ts): node's
// client over an Agent whose connections are uring/net sockets. Everything
// else is node:http's own, re-exported, so `import http from 'uring/http'`
// drops in for `import http from 'node:http'`.
import http from 'node:http';
import { Server, createServer } from './server.js';
import { Agent, globalAgent, request, get } from './agent.js';

// The names declared here shadow node:http's of the same name.
export * from 'node:http';
export { Server, createServer, Agent, globalAgent, request, get };
export type { ServerOptions } from './server.js';
export type { AgentOptions } from './agent.js';

export default { ...http, Server, createServer, Agent, globalAgent, request, get };
