// Which node runs us, and what changed between the release lines uring
// supports (20, 22, 24). The drop-ins follow the node that runs them, so a
// behaviour node changed in some version is decided here, once, by version,
// under a name saying what changed; code elsewhere tests the name, never the
// version.
//
// `nodeAtLeast(24, 16)` means 24.16 or any later minor, and any later major:
// a change that landed in a minor of a line also landed in every line after
// it. A change backported to an older line gets its own entry for that line.

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);

/** The running node's major version: 20, 22, 24. */
export const NODE_MAJOR: number = major;
/** The running node's minor version. */
export const NODE_MINOR: number = minor;

/** The running node is `maj.min` or later. */
export function nodeAtLeast(maj: number, min = 0): boolean {
  return NODE_MAJOR > maj || (NODE_MAJOR === maj && NODE_MINOR >= min);
}

/**
 * FileHandle.read checks its position: a number must be an integer from -1
 * to 2 ** 53 - 1, a bigint from -1n to 2n ** 63n - 1n - length, anything
 * else is ERR_INVALID_ARG_TYPE; and it reads at a bigint position. Before
 * node 21 anything not a safe integer silently meant the current position,
 * bigints included (nodejs/node#42835, semver-major in 21.0.0).
 */
export const READ_CHECKS_POSITION = nodeAtLeast(21);

/**
 * FileHandle.read checks its position before a zero length returns early and
 * before offset and length are checked against the buffer (nodejs/node#62674,
 * 24.16.0). Before, `read(buf, 0, 0, -2)` resolved with 0 bytes.
 */
export const READ_CHECKS_POSITION_FIRST = nodeAtLeast(24, 16);

/**
 * FileHandle.read coerces its length to an int32 (`length | 0`) as fs.read
 * does, so 2 ** 32 + 2 reads 2 bytes and 1e10 is reported as 1410065408
 * (nodejs/node#65521, 24.22.0). Before, the length was checked as given.
 */
export const READ_LENGTH_INT32 = nodeAtLeast(24, 22);

/**
 * structuredClone and postMessage throw a DataCloneError for an ArrayBuffer
 * marked untransferable (worker_threads.markAsUntransferable) in the
 * transfer list; before node 21 they copied it instead (nodejs/node#47604).
 * Either way the buffer is never detached.
 */
export const UNTRANSFERABLE_TRANSFER_THROWS = nodeAtLeast(21);

/**
 * fs.symlink checks its type: anything but 'dir', 'file', 'junction', null
 * or undefined is ERR_INVALID_ARG_VALUE, before the paths. Before node 23 a
 * string outside the three was ERR_FS_INVALID_SYMLINK_TYPE (after the paths)
 * and any other value was ignored.
 */
export const SYMLINK_TYPE_ONE_OF = nodeAtLeast(23);

/**
 * net.connect refuses a host that is not a string (ERR_INVALID_ARG_TYPE)
 * before any other check; node 20 passes it on and lets dns.lookup say.
 */
export const CONNECT_CHECKS_HOST = nodeAtLeast(22);

/**
 * A socket write cut short by destroy() calls back with ECANCELED; on node
 * 20 it calls back without an error (the stream's buffered writes then fail
 * with ERR_STREAM_DESTROYED either way).
 */
export const CANCELLED_WRITE_ERRS = nodeAtLeast(22);
