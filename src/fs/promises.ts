// uring/fs/promises: a drop-in for node:fs/promises. What io_uring has an op
// for goes through the ring; the rest (directory listing, permissions,
// ownership, times, links' targets, watching, temp dirs, recursive copy and
// removal) is node:fs/promises' own function, re-exported unchanged.
import * as node from 'node:fs/promises';

import * as ring from './functions.js';
import { setNodeFallback, withFallback } from './fallback.js';

// Each ring-backed function, or node's own where io_uring is unavailable and
// the fallback was asked for (see fallback.ts).
export const open = withFallback(ring.open, node.open);
export const readFile = withFallback(ring.readFile, node.readFile);
export const writeFile = withFallback(ring.writeFile, node.writeFile);
export const appendFile = withFallback(ring.appendFile, node.appendFile);
export const stat = withFallback(ring.stat, node.stat);
export const lstat = withFallback(ring.lstat, node.lstat);
export const unlink = withFallback(ring.unlink, node.unlink);
export const rmdir = withFallback(ring.rmdir, node.rmdir);
export const rename = withFallback(ring.rename, node.rename);
export const mkdir = withFallback(ring.mkdir, node.mkdir);
export const symlink = withFallback(ring.symlink, node.symlink);
export const link = withFallback(ring.link, node.link);
export const truncate = withFallback(ring.truncate, node.truncate);
export const access = withFallback(ring.access, node.access);
export const copyFile = withFallback(ring.copyFile, node.copyFile);
export { setNodeFallback };
export { setUringDisabled } from '../opt-out.js';
export { FileHandle } from './file-handle.js';
// node's names for its options and results, so that code importing them from
// node:fs/promises keeps compiling with the import switched.
export type {
  CreateReadStreamOptions,
  CreateWriteStreamOptions,
  FileChangeInfo,
  FileReadOptions,
  FileReadResult,
  FlagAndOpenMode,
  ReadableWebStreamOptions,
} from 'node:fs/promises';

export const {
  chmod,
  chown,
  cp,
  lchmod,
  lchown,
  lutimes,
  mkdtemp,
  opendir,
  readdir,
  readlink,
  realpath,
  rm,
  statfs,
  utimes,
  watch,
  constants,
} = node;

// Names of newer lines (glob: 22, mkdtempDisposable: 24), node's own where
// the running node has them: undefined before, and then left out of the
// default export, which has the names node's has.
const newer = node as { glob?: unknown; mkdtempDisposable?: unknown };
export const glob = newer.glob;
export const mkdtempDisposable = newer.mkdtempDisposable;

/** `import fsp from 'uring/fs/promises'`, as node:fs/promises allows. */
export default {
  ...(glob === undefined ? {} : { glob }),
  ...(mkdtempDisposable === undefined ? {} : { mkdtempDisposable }),
  open,
  readFile,
  writeFile,
  appendFile,
  stat,
  lstat,
  unlink,
  rmdir,
  rename,
  mkdir,
  symlink,
  link,
  truncate,
  access,
  copyFile,
  chmod,
  chown,
  cp,
  lchmod,
  lchown,
  lutimes,
  mkdtemp,
  opendir,
  readdir,
  readlink,
  realpath,
  rm,
  statfs,
  utimes,
  watch,
  constants,
};
