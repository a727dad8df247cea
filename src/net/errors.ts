// Errors shaped as node:net shapes them. Node builds socket errors differently
// from file errors: `connect ECONNREFUSED 127.0.0.1:80` (syscall first, no
// description), `listen EADDRINUSE: address already in use :::80` (with it),
// `read ECONNRESET`. `code`, `errno`, `syscall`, `address`, `port` as Node's.
import { errnoMessage, errnoName, type UringSystemError } from '../errors.js';

function details(address: string | undefined, port: number | undefined): string {
  if (port !== undefined && port > 0) return ` ${address}:${port}`;
  if (address) return ` ${address}`;
  return '';
}

function make(message: string, res: number, syscall: string, address?: string, port?: number): UringSystemError {
  const err = new Error(message) as UringSystemError;
  err.errno = -Math.abs(res);
  err.code = errnoName(res);
  err.syscall = syscall;
  if (address !== undefined && address !== '') err.address = address;
  if (port !== undefined && port > 0) err.port = port;
  return err;
}

/** Node's exceptionWithHostPort: `connect ECONNREFUSED 127.0.0.1:1`. */
export function hostPortError(res: number, syscall: string, address?: string, port?: number): UringSystemError {
  return make(`${syscall} ${errnoName(res)}${details(address, port)}`, res, syscall, address, port);
}

/** Node's uvExceptionWithHostPort: `listen EADDRINUSE: address already in use :::80`. */
export function uvHostPortError(res: number, syscall: string, address?: string, port?: number): UringSystemError {
  return make(
    `${syscall} ${errnoName(res)}: ${errnoMessage(res)}${details(address, port)}`,
    res,
    syscall,
    address,
    port,
  );
}

/** Node's errnoException: `read ECONNRESET`, `write EPIPE`. */
export function errnoError(res: number, syscall: string): UringSystemError {
  return make(`${syscall} ${errnoName(res)}`, res, syscall);
}
