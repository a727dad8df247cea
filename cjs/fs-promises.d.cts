// Types of uring/fs/promises for CommonJS code (`require`, `import x =
// require()`, or imports in a .cts file): the same module, which Node.js
// (20.19+, 22.12+) loads with require(). TypeScript under `module: node16`
// refuses to type a require() of an ES module (TS1471), so this file
// describes the ES module to it as a CommonJS one. test/types.test.ts checks
// that it names everything the ES module's types do.
import type * as M from '../dist/src/fs/promises.js' with { 'resolution-mode': 'import' };

export declare const open: typeof M.open;
export declare const readFile: typeof M.readFile;
export declare const writeFile: typeof M.writeFile;
export declare const appendFile: typeof M.appendFile;
export declare const stat: typeof M.stat;
export declare const lstat: typeof M.lstat;
export declare const unlink: typeof M.unlink;
export declare const rmdir: typeof M.rmdir;
export declare const rename: typeof M.rename;
export declare const mkdir: typeof M.mkdir;
export declare const symlink: typeof M.symlink;
export declare const link: typeof M.link;
export declare const truncate: typeof M.truncate;
export declare const access: typeof M.access;
export declare const copyFile: typeof M.copyFile;
export declare const chmod: typeof M.chmod;
export declare const chown: typeof M.chown;
export declare const cp: typeof M.cp;
export declare const lchmod: typeof M.lchmod;
export declare const lchown: typeof M.lchown;
export declare const lutimes: typeof M.lutimes;
export declare const mkdtemp: typeof M.mkdtemp;
export declare const mkdtempDisposable: typeof M.mkdtempDisposable;
export declare const glob: typeof M.glob;
export declare const opendir: typeof M.opendir;
export declare const readdir: typeof M.readdir;
export declare const readlink: typeof M.readlink;
export declare const realpath: typeof M.realpath;
export declare const rm: typeof M.rm;
export declare const statfs: typeof M.statfs;
export declare const utimes: typeof M.utimes;
export declare const watch: typeof M.watch;
export declare const constants: typeof M.constants;
export declare const setNodeFallback: typeof M.setNodeFallback;
export declare const setUringDisabled: typeof M.setUringDisabled;
export declare const FileHandle: typeof M.FileHandle;
export type FileHandle = M.FileHandle;
export type {
  CreateReadStreamOptions,
  CreateWriteStreamOptions,
  FileChangeInfo,
  FileReadOptions,
  FileReadResult,
  FlagAndOpenMode,
  ReadableWebStreamOptions,
} from 'node:fs/promises';
declare const _default: typeof M.default;
export default _default;
