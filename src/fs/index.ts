// uring/fs: files through the ring. Where the user opted out of io_uring
// (URING_DISABLE=1), or io_uring is unavailable and URING_FALLBACK=node asks
// for it, these are node's own: the functions node:fs/promises', the streams
// node:fs's, readFiles/forEachFile node:fs/promises.readFile in a pool.
export { FileHandle, type ReadResult, type WriteResult } from './file-handle.js';
export {
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
  setNodeFallback,
  setUringDisabled,
} from './promises.js';
export { parseFlags, parseMode, toPath } from './args.js';
export { toStats, toBigIntStats } from './stats.js';
export {
  createReadStream,
  createWriteStream,
  ReadStream,
  WriteStream,
  type ReadStreamOptions,
  type WriteStreamOptions,
} from './streams.js';
export {
  readFiles,
  forEachFile,
  type ReadFilesOptions,
  type ReadFileSettled,
  type ForEachFileOptions,
  type FileCallback,
} from './read-files.js';
