// What the batch-reading tests share: files of given sizes, and waiting
// until a runtime's direct slots and op table are all free again.
import { mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { directSlots } from '../../src/fs/direct.js';
import { getRuntime } from '../../src/runtime/index.js';
import type { TempDir } from '../helpers/tmp.js';
import { drained } from '../runtime/util.js';
import { waitFor } from '../helpers/wait.js';

/** Writes `n` files of the sizes `size(i)` (random bytes) under `dir`/`prefix` and returns their paths. */
export function makeFiles(dir: TempDir, prefix: string, n: number, size: (i: number) => number): string[] {
  mkdirSync(dir.file(prefix), { recursive: true });
  return Array.from({ length: n }, (_, i) => dir.write(`${prefix}/${i}`, randomBytes(size(i))));
}

/** Every direct slot of the runtime is free again (waits for chains still finishing), and nothing is in flight. */
export async function allSlotsFree(rt = getRuntime()): Promise<void> {
  const slots = directSlots(rt);
  await waitFor(() => slots.available === slots.size, {
    timeout: 5000,
    what: () => `direct slots to be released (${slots.available}/${slots.size} free)`,
  });
  await drained(rt);
}
