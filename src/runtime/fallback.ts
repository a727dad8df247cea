// Whether a drop-in (uring/fs/promises, uring/fs, uring/net, the CLI) should
// be node's own implementation in this thread instead of the ring's:
//
// - always, when the user opted out (URING_DISABLE=1, setUringDisabled(true):
//   see opt-out.ts): decided without making a ring, so no io_uring system
//   call is ever made;
// - where io_uring cannot be had (an old kernel, kernel.io_uring_disabled, a
//   container's seccomp profile that refuses io_uring_setup with EPERM), only
//   when asked: URING_FALLBACK=node in the environment, or
//   setNodeFallback(true). A silent fallback would hide that the program is
//   not getting io_uring; without it the ring-backed calls fail with
//   ERR_URING_UNAVAILABLE, which says how to enable io_uring or opt out.
import { InvalidArgTypeError } from '../errors.js';
import { disabledBy, uringDisabled } from '../opt-out.js';
import { getRuntime } from './runtime.js';

let enabled = process.env.URING_FALLBACK === 'node';
/** Why this thread's runtime could not be created (its error's message): learnt once, on the first call that needs it. */
let unavailable: string | null | undefined;

/**
 * Turns the fallback to node's own modules on or off for this thread (the
 * default comes from URING_FALLBACK=node). With it on, calls go to node's
 * functions only if io_uring turns out to be unavailable here.
 */
export function setNodeFallback(on: boolean): void {
  if (typeof on !== 'boolean') throw new InvalidArgTypeError('on', 'of type boolean', on);
  enabled = on;
}

/** True when the drop-ins may not be the ring's: cheap, no ring made. False means "the ring's, certainly". */
export function mayUseNode(): boolean {
  return enabled || uringDisabled();
}

/** True when this call should go to node's implementation. Makes this thread's runtime when the fallback has to find out. */
export function useNode(): boolean {
  if (uringDisabled()) return true;
  if (!enabled) return false;
  if (unavailable === undefined) {
    try {
      getRuntime();
      unavailable = null;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ERR_URING_UNAVAILABLE') throw err;
      unavailable = (err as Error).message;
    }
  }
  return unavailable !== null;
}

/** Why the drop-ins are node's here (for the CLI to say so), or undefined when they are the ring's. */
export function nodeFallbackReason(): string | undefined {
  if (!useNode()) return undefined;
  const off = disabledBy();
  if (off !== undefined) return `io_uring disabled by ${off}`;
  return `io_uring unavailable, URING_FALLBACK=node (${unavailable})`;
}
