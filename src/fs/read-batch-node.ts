// readFiles and forEachFile where the drop-ins are node's (URING_DISABLE=1, or
// io_uring unavailable with URING_FALLBACK=node): node:fs/promises.readFile,
// `concurrency` files at a time, with the ring version's results, order,
// errors and abort behaviour — and no io_uring anywhere.
import { Buffer } from 'node:buffer';
import { readFile } from 'node:fs/promises';
import { abortError } from '../errors.js';
import type { Each, ReadFileSettled } from './read-files.js';

type Data = Buffer | string;

/**
 * Reads `list` with node's readFile, at most `concurrency` at once. Without
 * `each`: the contents in the order of `list` (with `settle`, one settled
 * result per path; without, the first error rejects and no file not yet
 * started is read). With `each`: every file handed to `each.onFile` as it
 * completes (from a microtask, as the ring's), errors to `each.onError`.
 */
export function nodeBatch(
  list: readonly string[],
  encoding: BufferEncoding | null,
  concurrency: number,
  signal: AbortSignal | undefined,
  settle: boolean,
  each: Each | undefined,
): Promise<(Data | ReadFileSettled<Data>)[]> {
  return new Promise((resolve, reject) => {
    const results = each ? [] : new Array<Data | ReadFileSettled<Data>>(list.length);
    // Cancels node's reads still in flight once the call has its answer (first error, abort).
    const io = new AbortController();
    let next = 0;
    let running = 0;
    let over = false;
    const onAbort = () => end(abortError(signal!));
    const end = (err?: unknown) => {
      if (over) return;
      over = true;
      signal?.removeEventListener('abort', onAbort);
      io.abort();
      if (err === undefined) resolve(results);
      else reject(err);
    };
    const fail = (err: Error, i: number) => {
      if (settle) results[i] = { status: 'rejected', path: list[i]!, reason: err };
      else if (each?.onError) each.onError(err, i, list[i]!);
      else end(err);
    };
    const pump = () => {
      while (!over && running < concurrency && next < list.length) {
        const i = next++;
        running++;
        readFile(list[i]!, { encoding, signal: io.signal }).then(
          (data) => {
            running--;
            if (over) return;
            try {
              if (each) each.onFile(data, i, list[i]!);
              else results[i] = settle ? { status: 'fulfilled', path: list[i]!, value: data } : data;
            } catch (err) {
              end(err);
              return;
            }
            pump();
          },
          (err: Error) => {
            running--;
            if (over) return;
            try {
              fail(err, i);
            } catch (thrown) {
              end(thrown); // onError threw
              return;
            }
            pump();
          },
        );
      }
      if (!over && running === 0 && next === list.length) end();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    pump();
  });
}
