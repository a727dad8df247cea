// Temporary files and directories for tests, removed when the test ends.
import { mkdtempSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempDir {
  readonly path: string;
  /** A path inside the directory. */
  file(name: string): string;
  /** Writes `data` to `name` and returns its path. */
  write(name: string, data: string | Uint8Array): string;
  /** Opens `name` (flags as fs.openSync) and remembers the fd, closed by remove(). */
  open(name: string, flags?: string | number, mode?: number): number;
  /** Closes the fds opened through open() and deletes the directory. */
  remove(): void;
}

export function tempDir(prefix = 'uring-test-'): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  const fds: number[] = [];
  return {
    path,
    file: (name) => join(path, name),
    write(name, data) {
      const p = join(path, name);
      writeFileSync(p, data);
      return p;
    },
    open(name, flags = 'r', mode = 0o644) {
      const fd = openSync(join(path, name), flags, mode);
      fds.push(fd);
      return fd;
    },
    remove() {
      for (const fd of fds.splice(0)) {
        try {
          closeSync(fd);
        } catch {
          // already closed by the test
        }
      }
      rmSync(path, { recursive: true, force: true });
    },
  };
}
