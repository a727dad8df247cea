// Errno values by name, as the kernel reports them negated (-errno) in CQEs
// and through the native shim. Taken from the running system
// (os.constants.errno) rather than written out, so no file keeps its own
// copy of a number. The named exports are the values uring compares against;
// `errno` has all of them.
import { constants } from 'node:os';

/** Every errno value by name (frozen; names the platform lacks are undefined, e.g. Windows' WSA*). */
export const errno: Readonly<typeof constants.errno> = Object.freeze({ ...constants.errno });

export const {
  EACCES,
  EAFNOSUPPORT,
  EAGAIN,
  EALREADY,
  EBADF,
  EBUSY,
  ECANCELED,
  ECONNRESET,
  EEXIST,
  EINTR,
  EINVAL,
  EMFILE,
  ENFILE,
  ENOBUFS,
  ENOENT,
  ENOMEM,
  ENOSPC,
  ENOSYS,
  ENOTCONN,
  ENOTDIR,
  EOPNOTSUPP,
  EPERM,
  EPIPE,
  ETIME,
  ETIMEDOUT,
} = errno;
