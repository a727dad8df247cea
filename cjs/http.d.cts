// Types of uring/http for CommonJS code: see fs-promises.d.cts. node:http's
// own names, with uring's Server and createServer in place of node's.
import type * as M from '../dist/src/http/index.js' with { 'resolution-mode': 'import' };

export * from 'node:http';
export declare const Server: typeof M.Server;
export type Server = M.Server;
export declare const createServer: typeof M.createServer;
export type ServerOptions = M.ServerOptions;
declare const _default: typeof M.default;
export default _default;
