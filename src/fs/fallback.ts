// Where io_uring cannot be had (an old kernel, kernel.io_uring_disabled, a
// container's seccomp profile — Docker's default one refuses io_uring), the
// ring-backed functions of uring/fs/promises can hand every call to
// node:fs/promises instead of rejecting with ERR_URING_UNAVAILABLE. Only
// when asked: URING_FALLBACK=node in the environment, or setNodeFallback(true).
// A silent fallback would hide that the program is not getting io_uring.
import { getRuntime } from '../runtime/runtime.js';
import { validateBoolean } from '../validate.js';

let enabled = process.env.URING_FALLBACK === 'node';
/** Whether this thread's runtime could not be created: learnt once, on the first call that needs it. */
let unavailable: boolean | undefined;

/**
 * Turns the fallback to node:fs/promises on or off for this thread (the
 * default comes from URING_FALLBACK=node). With it on, calls go to node's
 * functions only if io_uring turns out to be unavailable here.
 */
export function setNodeFallback(on: boolean): void {
  validateBoolean(on, 'on');
  enabled = on;
}

/** True when this call should go to node:fs/promises. */
export function useNode(): boolean {
  if (!enabled) return false;
  if (unavailable === undefined) {
    try {
      getRuntime();
      unavailable = false;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ERR_URING_UNAVAILABLE') throw err;
      unavailable = true;
    }
  }
  return unavailable;
}

/**
 * `ours`, or `theirs` when useNode() says so. With the fallback off (the
 * default) the cost is one flag check per call.
 */
export function withFallback<F extends (...args: never[]) => Promise<unknown>>(ours: F, theirs: (...args: never[]) => Promise<unknown>): F {
  const f = (...args: Parameters<F>): Promise<unknown> => {
    if (!enabled) return ours(...args);
    let node: boolean;
    try {
      node = useNode();
    } catch (err) {
      return Promise.reject(err);
    }
    return node ? theirs(...args) : ours(...args);
  };
  Object.defineProperty(f, 'name', { value: ours.name });
  Object.defineProperty(f, 'length', { value: ours.length });
  return f as unknown as F;
}
