// The file position after a write at the current position that came back
// short.
//
// On a regular file or block device io_uring does not return a short write
// at once: it goes on with the rest itself (io-wq). When that fails (ENOSPC,
// EDQUOT, EFBIG), the op completes with the bytes the first part wrote, but
// the kernel moves the file position only when the op's last attempt
// succeeded (Linux 6.18 measured), so it stays where the write began. write(2)
// moves it past the bytes written, and so does node. Left alone, the next
// write at the current position lands over the bytes just written, and can
// succeed where node's fails (ENOSPC again).
//
// io_uring has no seek, so the position is put right with lseek(2), once we
// know this kernel leaves it behind: a probe, run once on first need, makes
// such a short write on a sealed memfd and looks where the position is.
import { Buffer } from 'node:buffer';
import { constants, ftruncateSync } from 'node:fs';
import { native, type NativeBinding } from '../native.js';
import { MAX_RW, write } from './rw.js';
import { fstatx } from './statx.js';
import type { RunOptions } from './common.js';

const SEEK_CUR = 1;
const SEEK_END = 2;
const F_GETFL = 3;
const F_ADD_SEALS = 1033;
const F_SEAL_GROW = 0x0004;
const MFD_CLOEXEC = 0x0001;
const MFD_ALLOW_SEALING = 0x0002;
const STATX_TYPE = 0x0001;

/**
 * True when a write at the current position (`position` -1) moved some but
 * not all of `requested` bytes (as one op moves them: at most MAX_RW).
 */
export function shortAtCurrentPosition(position: number | bigint, written: number, requested: number): boolean {
  return position === -1 && written > 0 && written < Math.min(requested, MAX_RW);
}

let leftBehind: Promise<boolean> | undefined;

/**
 * Whether this kernel leaves the file position where a short write at the
 * current position began (see the top of this file). Probed once: a memfd
 * sealed against growing takes the part of a write that fits and refuses
 * the rest (EPERM), the same path as a full filesystem. 2 MiB, because the
 * kernel copies a write a folio at a time and a tmpfs folio can be that
 * large: with a smaller file the whole write could be refused at once.
 * When the probe cannot tell, the answer is yes, what every kernel measured
 * does.
 */
function positionLeftBehind(options: RunOptions | undefined): Promise<boolean> {
  return (leftBehind ??= probe({ runtime: options?.runtime }).catch(() => true));
}

async function probe(options: RunOptions): Promise<boolean> {
  const n = native();
  if (typeof n.memfdCreate !== 'function') return true;
  const fd = n.memfdCreate(MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return true;
  try {
    const size = 2 << 20;
    ftruncateSync(fd, size);
    if (n.fcntl(fd, F_ADD_SEALS, F_SEAL_GROW) < 0) return true;
    const written = await write(fd, Buffer.alloc(size + 4096), { ...options, position: -1 });
    if (written !== size) return true;
    return n.lseek(fd, 0, SEEK_CUR) !== written;
  } finally {
    n.closeFd(fd);
  }
}

/**
 * After `written` bytes of a write at the current position on `fd` that
 * came back short (shortAtCurrentPosition): moves the file position to
 * where write(2) would have left it, past the bytes written, or to the end
 * of the file with O_APPEND (where they went). Only regular files and block
 * devices: the kernel finishes short writes itself only for those, and
 * moves the position as it should for anything else.
 */
export async function restorePosition(fd: number, written: number, options?: RunOptions): Promise<void> {
  const st = await fstatx(fd, { runtime: options?.runtime, mask: STATX_TYPE });
  const type = st.mode & constants.S_IFMT;
  if (type !== constants.S_IFREG && type !== constants.S_IFBLK) return;
  if (!(await positionLeftBehind(options))) return;
  const n: NativeBinding = native();
  const flags = n.fcntl(fd, F_GETFL, 0);
  // Failing here would lose the write's result; the position then stays
  // where the kernel left it, as it did before this existed.
  if (flags < 0) return;
  n.lseek(
    fd,
    (flags & constants.O_APPEND) !== 0 ? 0 : written,
    (flags & constants.O_APPEND) !== 0 ? SEEK_END : SEEK_CUR,
  );
}
