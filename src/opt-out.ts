// The user's opt-out: with it, uring never calls io_uring_setup (nor any other
// io_uring system call), and every drop-in (uring/fs/promises, uring/fs,
// uring/net, the CLI) is node's own implementation. For a seccomp profile that
// kills the process on io_uring_setup (SIGSYS): there, even trying is fatal,
// so URING_FALLBACK=node, which tries first, is not enough.
//
//   URING_DISABLE=1 in the environment (any value but '', '0' or 'false'), or
//   setUringDisabled(true) from code, before the first ring is made.
//
// The environment is read once, at the first question (the first ring, or the
// first call of a drop-in), not at import: `process.env.URING_DISABLE = '1'`
// at the top of a program works too. Every thread reads its own copy (a
// worker's process.env is a copy of its parent's at spawn), and
// setUringDisabled applies to the calling thread only.
//
// This module sits below the ring so that new Ring() checks it before the
// setup system call: it is the one gate.
import { InvalidArgTypeError } from './errors.js';

let fromEnv: boolean | undefined;
/** Set by setUringDisabled; it overrides the environment. */
let fromCode: boolean | undefined;

function envDisabled(): boolean {
  if (fromEnv === undefined) {
    const v = process.env.URING_DISABLE;
    fromEnv = v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
  }
  return fromEnv;
}

/** True when this thread must not touch io_uring at all. */
export function uringDisabled(): boolean {
  return fromCode ?? envDisabled();
}

/** What disabled io_uring, for messages: 'URING_DISABLE=1' or 'setUringDisabled(true)'; undefined when it is not. */
export function disabledBy(): string | undefined {
  if (fromCode !== undefined) return fromCode ? 'setUringDisabled(true)' : undefined;
  return envDisabled() ? `URING_DISABLE=${process.env.URING_DISABLE}` : undefined;
}

/**
 * Turns the opt-out on or off for this thread, overriding URING_DISABLE.
 * Call it before anything uses a ring: rings (and sockets, FileHandles)
 * made earlier keep working; from now on no new ring is made, and the
 * drop-ins of uring/fs, uring/fs/promises and uring/net answer with node's
 * own functions and classes.
 *
 * @param on true: never call io_uring_setup; false: use io_uring (whatever URING_DISABLE says)
 * @throws {TypeError} ERR_INVALID_ARG_TYPE when `on` is not a boolean
 * @example
 * import { setUringDisabled } from 'uring';
 * if (process.env.UNDER_STRICT_SECCOMP) setUringDisabled(true);
 */
export function setUringDisabled(on: boolean): void {
  if (typeof on !== 'boolean') throw new InvalidArgTypeError('on', 'of type boolean', on);
  fromCode = on;
}
