// uring/https's client side: an https.Agent whose TLS connections run over
// uring/net sockets, and request/get that default to it. node's https.Agent
// keeps everything TLS (session caching and reuse, servername, the pool's
// key of TLS options); only the TCP connection under tls.connect is a uring
// socket (its `socket` option), which tls.TLSSocket drives through a JS
// stream wrapper.
import http from 'node:http';
import https from 'node:https';
import type { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect, type NetConnectOptions } from '../net/node.js';
import { nodeInstead } from '../net/node-common.js';
import { withDefaultAgent } from '../http/agent.js';
import type { Runtime } from '../runtime/runtime.js';

export interface AgentOptions extends https.AgentOptions {
  /** The ring its connections run on (default: this thread's). */
  runtime?: Runtime;
}

/** An https.Agent (instanceof https.Agent and http.Agent) whose TLS sockets run over uring/net sockets. */
export class Agent extends https.Agent {
  constructor(options?: AgentOptions) {
    super(options);
  }

  /**
   * node's https.Agent makes its TLS socket with tls.connect(options); here
   * the TCP connection under it is made first, through io_uring, and given
   * as `options.socket`. The idle `timeout` is the TLS socket's (node's
   * ClientRequest and Agent set it there), so the uring socket gets none.
   */
  override createConnection(
    options: http.ClientRequestArgs,
    cb?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const base = https.Agent.prototype.createConnection as (this: Agent, ...a: unknown[]) => Duplex;
    // Where io_uring is opted out or unavailable with the fallback on: node's own, all of it.
    if (nodeInstead()) return base.call(this, options, cb);
    const socket = connect({ ...options, timeout: undefined } as NetConnectOptions);
    return base.call(this, { ...options, socket }, cb);
  }

  /**
   * As node's, but a request that finds no free socket while one is about
   * to be freed (see finishing()) waits for it: the keep-alive reuse node's
   * own https.Agent gets, where TLS writes complete at once.
   */
  addRequest(req: http.ClientRequest, options: http.ClientRequestArgs): void {
    const add = https.Agent.prototype as unknown as {
      addRequest: (this: Agent, req: http.ClientRequest, options: http.ClientRequestArgs) => void;
    };
    const socket = (this as unknown as { keepAlive: boolean }).keepAlive ? finishing(this, req, options) : undefined;
    if (!socket) return add.addRequest.call(this, req, options);
    const s = socket as unknown as EventEmitter;
    // 'free' after node's own listener has put it back in the pool; 'close' if it went instead.
    const go = (): void => {
      s.off('free', go);
      s.off('close', go);
      add.addRequest.call(this, req, options);
    };
    s.on('free', go);
    s.on('close', go);
  }
}

/** What addRequest reads of a busy socket's request (node:http's ClientRequest fields). */
interface Busy {
  destroyed: boolean;
  _httpMessage?: { shouldKeepAlive: boolean; _ended?: boolean; writableFinished: boolean } | null;
}

/**
 * A socket of `agent`'s pool for `options` whose response has ended but
 * whose request's last write has not called back yet: node's ClientRequest
 * frees it only then. TLS over a JS stream (tls.TLSSocket over a uring
 * socket) completes each write a turn of the event loop after the bytes
 * left, so a caller that sends its next request from the response's 'end'
 * would find no free socket and pay a new connection and handshake.
 */
function finishing(agent: Agent, req: http.ClientRequest, options: http.ClientRequestArgs): Busy | undefined {
  // The pool's key as node's addRequest makes it: the agent's options over
  // the request's, and the servername from the Host header (none for an IP).
  const o = { ...options, ...(agent as unknown as { options: object }).options } as Record<string, unknown>;
  if (o.socketPath) o.path = o.socketPath;
  if (!o.servername && o.servername !== '') {
    const header = req.getHeader('host');
    let name = typeof header === 'string' ? header : String(o.host ?? 'localhost');
    name = name.startsWith('[') ? name.slice(1, name.indexOf(']')) : name.split(':')[0]!;
    o.servername = isIP(name) ? '' : name;
  }
  const name = agent.getName(o as http.ClientRequestArgs);
  if (agent.freeSockets[name]?.length) return undefined;
  for (const s of (agent.sockets[name] ?? []) as unknown as Busy[]) {
    const m = s._httpMessage;
    if (m && m.shouldKeepAlive && m._ended && !m.writableFinished && !s.destroyed) return s;
  }
  return undefined;
}

/**
 * The Agent request/get use by default: a uring one with node's own
 * https.globalAgent's options as this Node line has them.
 */
export const globalAgent = new Agent({ ...(https.globalAgent as unknown as { options: AgentOptions }).options });

type Callback = (res: http.IncomingMessage) => void;

// node:https's request would put its own globalAgent in as the default;
// node:http's takes ours, and with it 'https:' as the expected protocol and
// 443 as the default port (the agent's), which is what node:https's does.
const make = http.request as (...a: unknown[]) => http.ClientRequest;

/** https.request through uring/https's globalAgent (or the agent in the options), as node:https's. */
export function request(options: https.RequestOptions | string | URL, callback?: Callback): http.ClientRequest;
export function request(url: string | URL, options: https.RequestOptions, callback?: Callback): http.ClientRequest;
export function request(...args: unknown[]): http.ClientRequest {
  return withDefaultAgent(make, globalAgent, args);
}

/** https.get through uring/https's globalAgent: request(), ended. */
export function get(options: https.RequestOptions | string | URL, callback?: Callback): http.ClientRequest;
export function get(url: string | URL, options: https.RequestOptions, callback?: Callback): http.ClientRequest;
export function get(...args: unknown[]): http.ClientRequest {
  const req = withDefaultAgent(make, globalAgent, args);
  req.end();
  return req;
}
