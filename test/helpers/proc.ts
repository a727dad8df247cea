// What /proc says about this process.
import { readdirSync, readFileSync } from 'node:fs';

/** The kernel threads (SQPOLL) of this process's io_uring rings. */
export function sqpollThreads(): number {
  let n = 0;
  for (const task of readdirSync('/proc/self/task')) {
    try {
      if (readFileSync(`/proc/self/task/${task}/comm`, 'utf8').startsWith('iou-sqp')) n++;
    } catch {
      // the thread just exited
    }
  }
  return n;
}
