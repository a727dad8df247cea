// uring/fs/promises: a drop-in for node:fs/promises. What io_uring has an op
// for goes through the ring; the rest (directory listing, permissions,
// ownership, times, links' targets, watching, temp dirs, recursive copy and
// removal) is node:fs/promises' own function, re-exported unchanged.
import * as node from 'node:fs/promises';

import {
  open, readFile, writeFile, appendFile, stat, lstat, unlink, rmdir, rename, mkdir, symlink, link, truncate, access, copyFile,
} from './functions.js';
export {
  open, readFile, writeFile, appendFile, stat, lstat, unlink, rmdir, rename, mkdir, symlink, link, truncate, access, copyFile,
};
export { FileHandle } from './file-handle.js';

export const {
  chmod, chown, cp, lchmod, lchown, lutimes, mkdtemp, opendir, readdir, readlink, realpath, rm, statfs, utimes, watch,
  constants,
} = node;

/** `import fsp from 'uring/fs/promises'`, as node:fs/promises allows. */
export default {
  open, readFile, writeFile, appendFile, stat, lstat, unlink, rmdir, rename, mkdir, symlink, link, truncate, access, copyFile,
  chmod, chown, cp, lchmod, lchown, lutimes, mkdtemp, opendir, readdir, readlink, realpath, rm, statfs, utimes, watch,
  constants,
};
