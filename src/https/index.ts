// uring/https: node:https with its servers and clients on io_uring sockets,
// TLS by node's own tls.TLSSocket over them.
//
//   import { createServer } from 'uring/https';
//   createServer({ key, cert }, app).listen(3443);
//
// createServer, Server, Agent, globalAgent, request and get are this
// module's (server.ts, agent.ts); everything else is node:https's own,
// re-exported, so `import https from 'uring/https'` drops in for
// `import https from 'node:https'`.
import https from 'node:https';
import { Server, createServer } from './server.js';
import { Agent, globalAgent, request, get } from './agent.js';

// The names declared here shadow node:https's of the same name.
export * from 'node:https';
export { Server, createServer, Agent, globalAgent, request, get };
export type { ServerOptions } from './server.js';
export type { AgentOptions } from './agent.js';

export default { ...https, Server, createServer, Agent, globalAgent, request, get };
