// uring/fs: files through the ring.
export { FileHandle, type ReadResult, type WriteResult } from './file-handle.js';
export {
  open, readFile, writeFile, appendFile, stat, lstat, unlink, rmdir, rename, mkdir, symlink, link, truncate, access, copyFile,
} from './functions.js';
export { parseFlags, parseMode, toPath } from './args.js';
export { toStats, toBigIntStats } from './stats.js';
export { createReadStream, createWriteStream, ReadStream, WriteStream, type ReadStreamOptions, type WriteStreamOptions } from './streams.js';
export { readFiles, forEachFile, type ReadFilesOptions, type ReadFileSettled, type ForEachFileOptions, type FileCallback } from './read-files.js';
