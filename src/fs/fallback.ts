// The ring-backed functions of uring/fs and uring/fs/promises, or node's own
// where the user opted out of io_uring (URING_DISABLE=1) or io_uring is
// unavailable and the fallback was asked for (URING_FALLBACK=node): see
// runtime/fallback.ts for when.
import { mayUseNode, nodeFallbackReason, setNodeFallback, useNode } from '../runtime/fallback.js';

export { mayUseNode, nodeFallbackReason, setNodeFallback, useNode };

/**
 * `ours`, or `theirs` when useNode() says so. With neither the fallback nor
 * the opt-out on (the default) the cost is two flag checks per call.
 */
export function withFallback<F extends (...args: never[]) => Promise<unknown>>(
  ours: F,
  theirs: (...args: never[]) => Promise<unknown>,
): F {
  const f = (...args: Parameters<F>): Promise<unknown> => {
    if (!mayUseNode()) return ours(...args);
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
