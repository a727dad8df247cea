// Socket addresses: resolving host names, encoding sockaddrs, and reading a
// socket's own and its peer's address.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { native } from '../native.js';
import { parseSockaddr, sockaddr, type SocketAddress } from '../ring/structs.js';
import { AF_INET, AF_INET6, AF_UNIX } from '../ops/net.js';

export type { SocketAddress };

/** Where to connect or bind: an IP address (resolved) and port, or a Unix path. */
export interface Endpoint {
  /** AF_INET, AF_INET6 or AF_UNIX. */
  domain: number;
  /** The encoded sockaddr. */
  sockaddr: Buffer;
  /** The address as it goes into error messages and address(): an IP, or the path. */
  address: string;
  port: number;
}

/** Resolves `host` (IP literals as they are; names through dns.lookup, as node:net does). */
export async function resolveHost(host: string, family?: number): Promise<{ address: string; family: 4 | 6 }> {
  const literal = isIP(host);
  if (literal === 4 || literal === 6) return { address: host, family: literal };
  const r = await lookup(host, { family: family === 6 ? 6 : family === 4 ? 4 : 0 });
  return { address: r.address, family: r.family === 6 ? 6 : 4 };
}

export function ipEndpoint(address: string, family: 4 | 6, port: number): Endpoint {
  return { domain: family === 6 ? AF_INET6 : AF_INET, sockaddr: sockaddr({ host: address, port }), address, port };
}

export function unixEndpoint(path: string): Endpoint {
  return { domain: AF_UNIX, sockaddr: sockaddr({ path }), address: path, port: 0 };
}

const nameBuf = new Uint8Array(128);

/** getsockname(2) (or getpeername(2) with `peer`), decoded; null when the socket has none. */
export function socketAddress(fd: number, peer: boolean): SocketAddress | null {
  const n = native().sockName(fd, nameBuf, peer);
  if (n < 0) return null;
  if (n <= 2) return nameBuf[0] === AF_UNIX && n === 2 ? { family: 'Unix', address: '', port: 0 } : null;
  return parseSockaddr(nameBuf, n);
}
