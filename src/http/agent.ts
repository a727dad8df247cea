// uring/http's client side: an http.Agent whose connections are uring/net
// sockets, and request/get that default to it. node:http does the rest
// (ClientRequest, parsing, the keep-alive pool with its 'free' sockets,
// timeouts, abort signals): the Agent only says how a connection is made,
// the one thing node:http asks of node:net on the client side.
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { connect, type ConnectArgs } from '../net/node.js';
import type { Runtime } from '../runtime/runtime.js';

export interface AgentOptions extends http.AgentOptions {
  /** The ring its connections run on (default: this thread's). */
  runtime?: Runtime;
}

/**
 * An http.Agent (instanceof http.Agent; same pool, same options, same
 * events) whose sockets are uring/net sockets. Where io_uring is opted out
 * or unavailable with the fallback on, uring/net's connect gives node:net's
 * sockets, so the Agent works unchanged.
 */
export class Agent extends http.Agent {
  constructor(options?: AgentOptions) {
    super(options);
  }

  /**
   * node:http's Agent calls this as createConnection(options, oncreate) and
   * takes the socket it returns (node:net's createConnection takes the
   * second argument as a 'connect' listener; node's Agent ignores the
   * second call): the same here, on io_uring. The agent's own options,
   * `runtime` among them, are merged into `options` by node's Agent.
   */
  override createConnection(
    options: http.ClientRequestArgs,
    cb?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    // ClientRequestArgs carries net's connect options (host, port, path, …).
    const args = (cb ? [options, cb] : [options]) as unknown as ConnectArgs;
    return connect(...args) as unknown as Duplex;
  }
}

/**
 * The Agent request/get use by default: a uring one with node's own
 * globalAgent's options as this Node line has them (keep-alive, lifo
 * scheduling, a 5 s idle timeout on Node 20+).
 */
export const globalAgent = new Agent({ ...(http.globalAgent as unknown as { options: AgentOptions }).options });

/** The options field node:http's ClientRequest takes its default agent from (https.request sets it too). */
interface DefaultAgentOption {
  _defaultAgent?: http.Agent;
}

type Callback = (res: http.IncomingMessage) => void;

/**
 * Splits request()'s (url[, options][, cb]) | (options[, cb]) and hands
 * them to `make` with `defaultAgent` as the agent when none is given, as
 * node:https does for its own globalAgent.
 */
export function withDefaultAgent(
  make: (...args: unknown[]) => http.ClientRequest,
  defaultAgent: http.Agent,
  args: unknown[],
): http.ClientRequest {
  let i = 0;
  const a0 = args[0];
  const url = typeof a0 === 'string' || a0 instanceof URL ? args[i++] : undefined;
  const given = args[i] !== null && typeof args[i] === 'object' ? (args[i++] as object) : undefined;
  const cb = args[i];
  // A copy, as node's own request copies: the caller's object is not changed.
  const options = { ...given, _defaultAgent: defaultAgent } as DefaultAgentOption;
  return url !== undefined ? make(url, options, cb) : make(options, cb);
}

/** http.request through uring/http's globalAgent (or the agent in the options), as node:http's. */
export function request(options: http.RequestOptions | string | URL, callback?: Callback): http.ClientRequest;
export function request(url: string | URL, options: http.RequestOptions, callback?: Callback): http.ClientRequest;
export function request(...args: unknown[]): http.ClientRequest {
  return withDefaultAgent(http.request as (...a: unknown[]) => http.ClientRequest, globalAgent, args);
}

/** http.get through uring/http's globalAgent: request() with GET, ended. */
export function get(options: http.RequestOptions | string | URL, callback?: Callback): http.ClientRequest;
export function get(url: string | URL, options: http.RequestOptions, callback?: Callback): http.ClientRequest;
export function get(...args: unknown[]): http.ClientRequest {
  const req = withDefaultAgent(http.request as (...a: unknown[]) => http.ClientRequest, globalAgent, args);
  req.end();
  return req;
}
