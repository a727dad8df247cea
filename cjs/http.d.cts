// Types of uring/http for CommonJS code: see fs-promises.d.cts. node:http's
// own names, with uring's Server and createServer in place of node's.
import type * as M from '../dist/src/http/index.js' with { 'resolution-mode': 'import' };

export * from 'node:http';
export declare const Server: typeof M.Server;
export type Server = M.Server;
export declare const createServer: typeof M.createServer;
export type ServerOptions = M.ServerOptions;
export declare const Agent: typeof M.Agent;
export type Agent = M.Agent;
export type AgentOptions = M.AgentOptions;
export declare const globalAgent: typeof M.globalAgent;
export declare const request: typeof M.request;
export declare const get: typeof M.get;
declare const _default: typeof M.default;
export default _default;
