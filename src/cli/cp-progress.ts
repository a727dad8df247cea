// `uring cp`'s progress line: on a terminal only (stderr a TTY), once a copy
// has run for a second, redrawn four times a second; files and bytes done,
// the rate, and the time left once the walk has found everything. Nothing
// at all when stderr is a pipe or a file, so scripts and logs see only
// errors (like rsync --info=progress2, which is also silent there).
import type { Io } from './main.js';

interface Counts {
  files: number;
  bytes: number;
  foundFiles: number;
  foundBytes: number;
  readonly walked: boolean;
}

const FIRST_MS = 1000;
const EVERY_MS = 250;

export interface Progress {
  stop(): void;
}

export function startProgress(c: Counts, io: Io, force = false): Progress | undefined {
  const err = io.err as { write(s: string): unknown; isTTY?: boolean; columns?: number };
  if (!force && err.isTTY !== true) return undefined;
  const started = performance.now();
  let shown = false;
  const draw = () => {
    shown = true;
    const s = (performance.now() - started) / 1000;
    const rate = s > 0 ? c.bytes / s : 0;
    let eta = '';
    if (c.walked && rate > 0) eta = `, ${formatSeconds((c.foundBytes - c.bytes) / rate)} left`;
    else if (!c.walked) eta = ', still walking';
    const line = `${c.files}/${c.foundFiles} files, ${mib(c.bytes)}/${mib(c.foundBytes)} MiB, ${mib(rate)} MiB/s${eta}`;
    const width = (err.columns ?? 80) - 1;
    err.write(`\r${line.slice(0, width).padEnd(Math.min(width, line.length + 2))}`);
  };
  let timer: NodeJS.Timeout | undefined;
  const first = setTimeout(() => {
    draw();
    timer = setInterval(draw, EVERY_MS);
    timer.unref();
  }, FIRST_MS);
  first.unref();
  return {
    stop() {
      clearTimeout(first);
      if (timer) clearInterval(timer);
      if (shown) {
        draw();
        err.write('\n');
      }
    },
  };
}

function mib(n: number): string {
  return (n / (1024 * 1024)).toFixed(1);
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s < 60) return `${Math.ceil(s)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.ceil(s - m * 60)} s`;
}
