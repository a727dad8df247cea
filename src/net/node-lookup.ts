// node:net's connect() for TCP, from the options to the connect(2) calls:
// the argument checks node makes before anything happens, the lookup of a
// host name through `options.lookup` (default dns.lookup, read at each
// connect, so a program's or test's replacement is used), the 'lookup'
// events, and, with autoSelectFamily (node's default from 20 on), the
// attempts at each address in turn, families alternating, each but the last
// cut short after autoSelectFamilyAttemptTimeout (node's "happy eyeballs",
// one attempt at a time as node makes them). An IP literal is not looked up:
// the connect starts on the next tick with no DNS on the way.
//
// node-socket.ts's Socket is the one caller; what it does with a connected
// socket (or an error) is the Connector's. Nothing here runs per byte.
import dns from 'node:dns';
import * as nodeNet from 'node:net';
import { isIP } from 'node:net';
import {
  InvalidAddressFamilyError,
  InvalidArgTypeError,
  InvalidIpAddressError,
  IpBlockedError,
  OutOfRangeError,
  type UringSystemError,
} from '../errors.js';
import { validateBoolean, validateFunction } from '../validate.js';
import { validatePort } from './connect.js';
import { CONNECT_CHECKS_HOST } from '../node-version.js';

/**
 * The BlockList options (a connect's, a server's) where the running node has
 * them (22.13, 23.4 and later, with BlockList.isBlockList); undefined
 * elsewhere, where node ignores the option.
 */
export const isBlockList = (nodeNet.BlockList as unknown as { isBlockList?: (v: unknown) => boolean }).isBlockList;

/** What lookupAndConnect drives: node-socket.ts's Socket. */
export interface Connector {
  /** False once the socket is destroyed (or connected): a late lookup result is dropped. */
  readonly connecting: boolean;
  emit(event: string | symbol, ...args: unknown[]): boolean;
  autoSelectFamilyAttemptedAddresses?: string[];
  /** Addresses not to connect to (node:net's blockList option). */
  readonly blockList?: nodeNet.BlockList | undefined;
  /**
   * Connects to one address (bound first to localAddress / localPort when
   * given); `timeout` > 0 cuts the attempt short with ETIMEDOUT. Resolves
   * once connected and handed to the socket (or dropped, if the socket was
   * destroyed meanwhile); rejects with the attempt's error.
   */
  _attempt(
    address: string,
    port: number,
    family: 4 | 6,
    localAddress: string | undefined,
    localPort: number | undefined,
    timeout: number,
  ): Promise<void>;
  /** Fails the connect: destroys the socket with `err`. */
  _connectFailed(err: Error): void;
}

export interface TcpOptions {
  host?: unknown;
  port?: unknown;
  family?: unknown;
  hints?: unknown;
  lookup?: unknown;
  localAddress?: unknown;
  localPort?: unknown;
  autoSelectFamily?: unknown;
  autoSelectFamilyAttemptTimeout?: unknown;
}

type LookupOne = (err: Error | null, address?: unknown, family?: unknown) => void;
type LookupAll = (err: Error | null, addresses?: { address?: unknown; family?: unknown }[]) => void;
type LookupFn = (host: string, options: DnsOptions, cb: LookupOne | LookupAll) => void;
interface DnsOptions {
  family: unknown;
  hints: number;
  all?: boolean;
}

/**
 * Checks `options` as node:net does, synchronously (throwing), then
 * connects: the connect itself is asynchronous, and its failures destroy
 * the socket.
 */
export function lookupAndConnect(c: Connector, options: TcpOptions): void {
  const host = (options.host || 'localhost') as string;
  if (CONNECT_CHECKS_HOST && typeof host !== 'string')
    throw new InvalidArgTypeError('options.host', 'of type string', host);
  const localAddress = options.localAddress as string | undefined;
  const localPort = options.localPort as number | undefined;
  if (localAddress && !isIP(String(localAddress))) throw new InvalidIpAddressError(localAddress);
  if (localPort && typeof localPort !== 'number')
    throw new InvalidArgTypeError('options.localPort', 'of type number', localPort);
  const p = options.port;
  if (p !== undefined) {
    if (typeof p !== 'number' && typeof p !== 'string')
      throw new InvalidArgTypeError('options.port', 'one of type number or string', p);
    validatePort(p);
  }
  const port = validatePortValue(p);
  let autoSelectFamily = options.autoSelectFamily;
  if (autoSelectFamily !== undefined && autoSelectFamily !== null)
    validateBoolean(autoSelectFamily, 'options.autoSelectFamily');
  else autoSelectFamily = nodeNet.getDefaultAutoSelectFamily();
  let attemptTimeout = options.autoSelectFamilyAttemptTimeout;
  if (attemptTimeout !== undefined && attemptTimeout !== null) {
    validateInt32(attemptTimeout, 'options.autoSelectFamilyAttemptTimeout', 1);
    if (attemptTimeout < 10) attemptTimeout = 10; // node's floor
  } else attemptTimeout = nodeNet.getDefaultAutoSelectFamilyAttemptTimeout();

  const literal = isIP(host);
  if (literal === 4 || literal === 6) {
    process.nextTick(() => {
      if (c.connecting) single(c, host, port, literal, localAddress, localPort);
    });
    return;
  }

  if (options.lookup !== undefined && options.lookup !== null) validateFunction(options.lookup, 'options.lookup');
  const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
  const dnsopts: DnsOptions = { family, hints: (options.hints as number) || 0 };
  if (family !== 4 && family !== 6 && dnsopts.hints === 0) dnsopts.hints = dns.ADDRCONFIG;
  const lookup = (options.lookup ?? dns.lookup) as LookupFn;

  if (family !== 4 && family !== 6 && !localAddress && autoSelectFamily) {
    dnsopts.all = true;
    lookup(host, dnsopts, ((err, addresses) => {
      if (!c.connecting) return;
      if (err) {
        c.emit('lookup', err, undefined, undefined, host);
        process.nextTick(() => c._connectFailed(err));
        return;
      }
      multiple(c, host, options, addresses ?? [], port, localPort, attemptTimeout as number);
    }) as LookupAll);
    return;
  }

  lookup(host, dnsopts, ((err, ip, addressType) => {
    c.emit('lookup', err, ip, addressType, host);
    if (!c.connecting) return;
    let fail: Error | undefined;
    if (err) fail = err;
    else if (typeof ip !== 'string' || !isIP(ip)) fail = new InvalidIpAddressError(ip);
    else if (addressType !== 4 && addressType !== 6)
      fail = new InvalidAddressFamilyError(addressType, options.host, options.port);
    if (fail) {
      const e = fail;
      process.nextTick(() => c._connectFailed(e));
      return;
    }
    single(c, ip as string, port, addressType as 4 | 6, localAddress, localPort);
  }) as LookupOne);
}

/** One address: the socket's one attempt, no attempt timeout. */
function single(
  c: Connector,
  address: string,
  port: number,
  family: 4 | 6,
  localAddress: string | undefined,
  localPort: number | undefined,
): void {
  if (c.blockList?.check(address, `ipv${family}`)) {
    c._connectFailed(new IpBlockedError(address));
    return;
  }
  c.emit('connectionAttempt', address, port, family);
  c._attempt(address, port, family, localAddress, localPort || undefined, 0).catch((err: Error) => {
    c.emit('connectionAttemptFailed', address, port, family, err);
    c._connectFailed(err);
  });
}

/** The addresses of a lookup with `all`: the 'lookup' events, then the attempts, families alternating. */
function multiple(
  c: Connector,
  host: string,
  options: TcpOptions,
  addresses: { address?: unknown; family?: unknown }[],
  port: number,
  localPort: number | undefined,
  timeout: number,
): void {
  // Two groups: the first valid address's family first, then the other.
  const groups: { address: string; family: 4 | 6 }[][] = [[], []];
  let first: 4 | 6 | undefined;
  for (const a of addresses) {
    const { address: ip, family } = a;
    c.emit('lookup', null, ip, family, host);
    if (!c.connecting) return;
    if (typeof ip === 'string' && isIP(ip) && (family === 4 || family === 6)) {
      first ??= family;
      const g = groups[family === first ? 0 : 1]!;
      if (!g.some((x) => x.address === ip)) g.push({ address: ip, family });
    }
  }
  if (groups[0]!.length === 0) {
    const a = addresses[0];
    const err =
      a === undefined || typeof a.address !== 'string' || !isIP(a.address)
        ? new InvalidIpAddressError(a?.address)
        : new InvalidAddressFamilyError(a.family, options.host, options.port);
    process.nextTick(() => c._connectFailed(err));
    return;
  }
  const toAttempt: { address: string; family: 4 | 6 }[] = [];
  for (let i = 0; i < Math.max(groups[0]!.length, groups[1]!.length); i++) {
    if (i < groups[0]!.length) toAttempt.push(groups[0]![i]!);
    if (i < groups[1]!.length) toAttempt.push(groups[1]![i]!);
  }
  if (toAttempt.length === 1) {
    single(c, toAttempt[0]!.address, port, toAttempt[0]!.family, undefined, localPort);
    return;
  }
  c.autoSelectFamilyAttemptedAddresses = [];
  void attemptEach(c, toAttempt, port, localPort || undefined, timeout);
}

async function attemptEach(
  c: Connector,
  toAttempt: { address: string; family: 4 | 6 }[],
  port: number,
  localPort: number | undefined,
  timeout: number,
): Promise<void> {
  const errors: Error[] = [];
  for (let i = 0; i < toAttempt.length; i++) {
    if (!c.connecting) return;
    const { address, family } = toAttempt[i]!;
    // As node's: with a localPort, each attempt binds the family's any-address.
    const local = localPort ? (family === 6 ? '::' : '0.0.0.0') : undefined;
    c.autoSelectFamilyAttemptedAddresses?.push(`${address}:${port}`);
    const last = i === toAttempt.length - 1;
    if (c.blockList?.check(address, `ipv${family}`)) {
      errors.push(new IpBlockedError(address));
      continue;
    }
    c.emit('connectionAttempt', address, port, family);
    try {
      // Connected, or the socket was destroyed meanwhile: either way, done.
      await c._attempt(address, port, family, local, localPort, last ? 0 : timeout);
      return;
    } catch (err) {
      errors.push(err as Error);
      if ((err as UringSystemError).code === 'ETIMEDOUT' && !last)
        c.emit('connectionAttemptTimeout', address, port, family);
      else c.emit('connectionAttemptFailed', address, port, family, err);
    }
  }
  if (!c.connecting) return;
  // node's NodeAggregateError: an AggregateError with the first error's code.
  const agg = new AggregateError(errors) as AggregateError & { code?: string };
  agg.code = (errors[0] as { code?: string } | undefined)?.code;
  c._connectFailed(agg);
}

/** The port as a number (node's `port |= 0` once validated). */
function validatePortValue(p: unknown): number {
  if (p === undefined) return 0;
  return Number(p) | 0;
}

/** node's validateInt32. */
function validateInt32(v: unknown, name: string, min = -2147483648, max = 2147483647): asserts v is number {
  if (typeof v !== 'number') throw new InvalidArgTypeError(name, 'of type number', v);
  if (!Number.isInteger(v)) throw new OutOfRangeError(name, 'an integer', v);
  if (v < min || v > max) throw new OutOfRangeError(name, `>= ${min} && <= ${max}`, v);
}
