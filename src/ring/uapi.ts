// The kernel's io_uring ABI (include/uapi/linux/io_uring.h) as of Linux 6.18,
// plus the few libc constants the preps need. Names are the kernel's, so
// documentation and man pages read straight across.

// ---- opcodes (enum io_uring_op) ----
export const IORING_OP_NOP = 0;
export const IORING_OP_READV = 1;
export const IORING_OP_WRITEV = 2;
export const IORING_OP_FSYNC = 3;
export const IORING_OP_READ_FIXED = 4;
export const IORING_OP_WRITE_FIXED = 5;
export const IORING_OP_POLL_ADD = 6;
export const IORING_OP_POLL_REMOVE = 7;
export const IORING_OP_SYNC_FILE_RANGE = 8;
export const IORING_OP_SENDMSG = 9;
export const IORING_OP_RECVMSG = 10;
export const IORING_OP_TIMEOUT = 11;
export const IORING_OP_TIMEOUT_REMOVE = 12;
export const IORING_OP_ACCEPT = 13;
export const IORING_OP_ASYNC_CANCEL = 14;
export const IORING_OP_LINK_TIMEOUT = 15;
export const IORING_OP_CONNECT = 16;
export const IORING_OP_FALLOCATE = 17;
export const IORING_OP_OPENAT = 18;
export const IORING_OP_CLOSE = 19;
export const IORING_OP_FILES_UPDATE = 20;
export const IORING_OP_STATX = 21;
export const IORING_OP_READ = 22;
export const IORING_OP_WRITE = 23;
export const IORING_OP_FADVISE = 24;
export const IORING_OP_MADVISE = 25;
export const IORING_OP_SEND = 26;
export const IORING_OP_RECV = 27;
export const IORING_OP_OPENAT2 = 28;
export const IORING_OP_EPOLL_CTL = 29;
export const IORING_OP_SPLICE = 30;
export const IORING_OP_PROVIDE_BUFFERS = 31;
export const IORING_OP_REMOVE_BUFFERS = 32;
export const IORING_OP_TEE = 33;
export const IORING_OP_SHUTDOWN = 34;
export const IORING_OP_RENAMEAT = 35;
export const IORING_OP_UNLINKAT = 36;
export const IORING_OP_MKDIRAT = 37;
export const IORING_OP_SYMLINKAT = 38;
export const IORING_OP_LINKAT = 39;
export const IORING_OP_MSG_RING = 40;
export const IORING_OP_FSETXATTR = 41;
export const IORING_OP_SETXATTR = 42;
export const IORING_OP_FGETXATTR = 43;
export const IORING_OP_GETXATTR = 44;
export const IORING_OP_SOCKET = 45;
export const IORING_OP_URING_CMD = 46;
export const IORING_OP_SEND_ZC = 47;
export const IORING_OP_SENDMSG_ZC = 48;
export const IORING_OP_READ_MULTISHOT = 49;
export const IORING_OP_WAITID = 50;
export const IORING_OP_FUTEX_WAIT = 51;
export const IORING_OP_FUTEX_WAKE = 52;
export const IORING_OP_FUTEX_WAITV = 53;
export const IORING_OP_FIXED_FD_INSTALL = 54;
export const IORING_OP_FTRUNCATE = 55;
export const IORING_OP_BIND = 56;
export const IORING_OP_LISTEN = 57;
export const IORING_OP_RECV_ZC = 58;
export const IORING_OP_EPOLL_WAIT = 59;
export const IORING_OP_READV_FIXED = 60;
export const IORING_OP_WRITEV_FIXED = 61;
export const IORING_OP_PIPE = 62;
export const IORING_OP_NOP128 = 63;
export const IORING_OP_URING_CMD128 = 64;
export const IORING_OP_LAST = 65;

/** Opcode names by number, without the IORING_OP_ prefix. */
export const OPCODE_NAMES: readonly string[] = [
  'NOP',
  'READV',
  'WRITEV',
  'FSYNC',
  'READ_FIXED',
  'WRITE_FIXED',
  'POLL_ADD',
  'POLL_REMOVE',
  'SYNC_FILE_RANGE',
  'SENDMSG',
  'RECVMSG',
  'TIMEOUT',
  'TIMEOUT_REMOVE',
  'ACCEPT',
  'ASYNC_CANCEL',
  'LINK_TIMEOUT',
  'CONNECT',
  'FALLOCATE',
  'OPENAT',
  'CLOSE',
  'FILES_UPDATE',
  'STATX',
  'READ',
  'WRITE',
  'FADVISE',
  'MADVISE',
  'SEND',
  'RECV',
  'OPENAT2',
  'EPOLL_CTL',
  'SPLICE',
  'PROVIDE_BUFFERS',
  'REMOVE_BUFFERS',
  'TEE',
  'SHUTDOWN',
  'RENAMEAT',
  'UNLINKAT',
  'MKDIRAT',
  'SYMLINKAT',
  'LINKAT',
  'MSG_RING',
  'FSETXATTR',
  'SETXATTR',
  'FGETXATTR',
  'GETXATTR',
  'SOCKET',
  'URING_CMD',
  'SEND_ZC',
  'SENDMSG_ZC',
  'READ_MULTISHOT',
  'WAITID',
  'FUTEX_WAIT',
  'FUTEX_WAKE',
  'FUTEX_WAITV',
  'FIXED_FD_INSTALL',
  'FTRUNCATE',
  'BIND',
  'LISTEN',
  'RECV_ZC',
  'EPOLL_WAIT',
  'READV_FIXED',
  'WRITEV_FIXED',
  'PIPE',
  'NOP128',
  'URING_CMD128',
];

// ---- sqe->flags ----
export const IOSQE_FIXED_FILE = 1 << 0;
export const IOSQE_IO_DRAIN = 1 << 1;
export const IOSQE_IO_LINK = 1 << 2;
export const IOSQE_IO_HARDLINK = 1 << 3;
export const IOSQE_ASYNC = 1 << 4;
export const IOSQE_BUFFER_SELECT = 1 << 5;
export const IOSQE_CQE_SKIP_SUCCESS = 1 << 6;

// ---- io_uring_setup() flags ----
export const IORING_SETUP_IOPOLL = 1 << 0;
export const IORING_SETUP_SQPOLL = 1 << 1;
export const IORING_SETUP_SQ_AFF = 1 << 2;
export const IORING_SETUP_CQSIZE = 1 << 3;
export const IORING_SETUP_CLAMP = 1 << 4;
export const IORING_SETUP_ATTACH_WQ = 1 << 5;
export const IORING_SETUP_R_DISABLED = 1 << 6;
export const IORING_SETUP_SUBMIT_ALL = 1 << 7;
export const IORING_SETUP_COOP_TASKRUN = 1 << 8;
export const IORING_SETUP_TASKRUN_FLAG = 1 << 9;
export const IORING_SETUP_SQE128 = 1 << 10;
export const IORING_SETUP_CQE32 = 1 << 11;
export const IORING_SETUP_SINGLE_ISSUER = 1 << 12;
export const IORING_SETUP_DEFER_TASKRUN = 1 << 13;
export const IORING_SETUP_NO_MMAP = 1 << 14;
export const IORING_SETUP_REGISTERED_FD_ONLY = 1 << 15;
export const IORING_SETUP_NO_SQARRAY = 1 << 16;
export const IORING_SETUP_HYBRID_IOPOLL = 1 << 17;
export const IORING_SETUP_CQE_MIXED = 1 << 18;
export const IORING_SETUP_SQE_MIXED = 1 << 19;

/** Setup flag names by bit, for probe output. */
export const SETUP_FLAG_NAMES: readonly string[] = [
  'IOPOLL',
  'SQPOLL',
  'SQ_AFF',
  'CQSIZE',
  'CLAMP',
  'ATTACH_WQ',
  'R_DISABLED',
  'SUBMIT_ALL',
  'COOP_TASKRUN',
  'TASKRUN_FLAG',
  'SQE128',
  'CQE32',
  'SINGLE_ISSUER',
  'DEFER_TASKRUN',
  'NO_MMAP',
  'REGISTERED_FD_ONLY',
  'NO_SQARRAY',
  'HYBRID_IOPOLL',
  'CQE_MIXED',
  'SQE_MIXED',
];

// ---- io_uring_params->features ----
export const IORING_FEAT_SINGLE_MMAP = 1 << 0;
export const IORING_FEAT_NODROP = 1 << 1;
export const IORING_FEAT_SUBMIT_STABLE = 1 << 2;
export const IORING_FEAT_RW_CUR_POS = 1 << 3;
export const IORING_FEAT_CUR_PERSONALITY = 1 << 4;
export const IORING_FEAT_FAST_POLL = 1 << 5;
export const IORING_FEAT_POLL_32BITS = 1 << 6;
export const IORING_FEAT_SQPOLL_NONFIXED = 1 << 7;
export const IORING_FEAT_EXT_ARG = 1 << 8;
export const IORING_FEAT_NATIVE_WORKERS = 1 << 9;
export const IORING_FEAT_RSRC_TAGS = 1 << 10;
export const IORING_FEAT_CQE_SKIP = 1 << 11;
export const IORING_FEAT_LINKED_FILE = 1 << 12;
export const IORING_FEAT_REG_REG_RING = 1 << 13;
export const IORING_FEAT_RECVSEND_BUNDLE = 1 << 14;
export const IORING_FEAT_MIN_TIMEOUT = 1 << 15;
export const IORING_FEAT_RW_ATTR = 1 << 16;
export const IORING_FEAT_NO_IOWAIT = 1 << 17;

/** Feature names by bit, for probe output. */
export const FEATURE_NAMES: readonly string[] = [
  'SINGLE_MMAP',
  'NODROP',
  'SUBMIT_STABLE',
  'RW_CUR_POS',
  'CUR_PERSONALITY',
  'FAST_POLL',
  'POLL_32BITS',
  'SQPOLL_NONFIXED',
  'EXT_ARG',
  'NATIVE_WORKERS',
  'RSRC_TAGS',
  'CQE_SKIP',
  'LINKED_FILE',
  'REG_REG_RING',
  'RECVSEND_BUNDLE',
  'MIN_TIMEOUT',
  'RW_ATTR',
  'NO_IOWAIT',
];

// ---- sq_ring->flags ----
export const IORING_SQ_NEED_WAKEUP = 1 << 0;
export const IORING_SQ_CQ_OVERFLOW = 1 << 1;
export const IORING_SQ_TASKRUN = 1 << 2;

// ---- cq_ring->flags ----
export const IORING_CQ_EVENTFD_DISABLED = 1 << 0;

// ---- io_uring_enter() flags ----
export const IORING_ENTER_GETEVENTS = 1 << 0;
export const IORING_ENTER_SQ_WAKEUP = 1 << 1;
export const IORING_ENTER_SQ_WAIT = 1 << 2;
export const IORING_ENTER_EXT_ARG = 1 << 3;
export const IORING_ENTER_REGISTERED_RING = 1 << 4;
export const IORING_ENTER_ABS_TIMER = 1 << 5;
export const IORING_ENTER_EXT_ARG_REG = 1 << 6;
export const IORING_ENTER_NO_IOWAIT = 1 << 7;

// ---- cqe->flags ----
export const IORING_CQE_F_BUFFER = 1 << 0;
export const IORING_CQE_F_MORE = 1 << 1;
export const IORING_CQE_F_SOCK_NONEMPTY = 1 << 2;
export const IORING_CQE_F_NOTIF = 1 << 3;
export const IORING_CQE_F_BUF_MORE = 1 << 4;
export const IORING_CQE_F_SKIP = 1 << 5;
export const IORING_CQE_F_32 = 1 << 15;
export const IORING_CQE_BUFFER_SHIFT = 16;

// ---- sqe->fsync_flags ----
export const IORING_FSYNC_DATASYNC = 1 << 0;

// ---- sqe->timeout_flags ----
export const IORING_TIMEOUT_ABS = 1 << 0;
export const IORING_TIMEOUT_UPDATE = 1 << 1;
export const IORING_TIMEOUT_BOOTTIME = 1 << 2;
export const IORING_TIMEOUT_REALTIME = 1 << 3;
export const IORING_LINK_TIMEOUT_UPDATE = 1 << 4;
export const IORING_TIMEOUT_ETIME_SUCCESS = 1 << 5;
export const IORING_TIMEOUT_MULTISHOT = 1 << 6;
export const IORING_TIMEOUT_CLOCK_MASK = IORING_TIMEOUT_BOOTTIME | IORING_TIMEOUT_REALTIME;
export const IORING_TIMEOUT_UPDATE_MASK = IORING_TIMEOUT_UPDATE | IORING_LINK_TIMEOUT_UPDATE;

// ---- sqe->splice_flags ----
export const SPLICE_F_FD_IN_FIXED = 0x80000000;
export const SPLICE_F_MOVE = 1;
export const SPLICE_F_NONBLOCK = 2;
export const SPLICE_F_MORE = 4;

// ---- POLL_ADD command flags (in sqe->len) ----
export const IORING_POLL_ADD_MULTI = 1 << 0;
export const IORING_POLL_UPDATE_EVENTS = 1 << 1;
export const IORING_POLL_UPDATE_USER_DATA = 1 << 2;
export const IORING_POLL_ADD_LEVEL = 1 << 3;

// ---- ASYNC_CANCEL flags ----
export const IORING_ASYNC_CANCEL_ALL = 1 << 0;
export const IORING_ASYNC_CANCEL_FD = 1 << 1;
export const IORING_ASYNC_CANCEL_ANY = 1 << 2;
export const IORING_ASYNC_CANCEL_FD_FIXED = 1 << 3;
export const IORING_ASYNC_CANCEL_USERDATA = 1 << 4;
export const IORING_ASYNC_CANCEL_OP = 1 << 5;

// ---- send/recv flags (in sqe->ioprio) ----
export const IORING_RECVSEND_POLL_FIRST = 1 << 0;
export const IORING_RECV_MULTISHOT = 1 << 1;
export const IORING_RECVSEND_FIXED_BUF = 1 << 2;
export const IORING_SEND_ZC_REPORT_USAGE = 1 << 3;
export const IORING_RECVSEND_BUNDLE = 1 << 4;
export const IORING_SEND_VECTORIZED = 1 << 5;
export const IORING_NOTIF_USAGE_ZC_COPIED = 0x80000000;

// ---- accept flags (in sqe->ioprio) ----
export const IORING_ACCEPT_MULTISHOT = 1 << 0;
export const IORING_ACCEPT_DONTWAIT = 1 << 1;
export const IORING_ACCEPT_POLL_FIRST = 1 << 2;

// ---- MSG_RING ----
export const IORING_MSG_DATA = 0;
export const IORING_MSG_SEND_FD = 1;
export const IORING_MSG_RING_CQE_SKIP = 1 << 0;
export const IORING_MSG_RING_FLAGS_PASS = 1 << 1;

// ---- FIXED_FD_INSTALL ----
export const IORING_FIXED_FD_NO_CLOEXEC = 1 << 0;

// ---- NOP flags ----
export const IORING_NOP_INJECT_RESULT = 1 << 0;
export const IORING_NOP_FILE = 1 << 1;
export const IORING_NOP_FIXED_FILE = 1 << 2;
export const IORING_NOP_FIXED_BUFFER = 1 << 3;
export const IORING_NOP_TW = 1 << 4;
export const IORING_NOP_CQE32 = 1 << 5;

// ---- uring_cmd ----
export const IORING_URING_CMD_FIXED = 1 << 0;
export const SOCKET_URING_OP_SIOCINQ = 0;
export const SOCKET_URING_OP_SIOCOUTQ = 1;
export const SOCKET_URING_OP_GETSOCKOPT = 2;
export const SOCKET_URING_OP_SETSOCKOPT = 3;
export const SOCKET_URING_OP_TX_TIMESTAMP = 4;
export const SOCKET_URING_OP_GETSOCKNAME = 5;

/** sqe->file_index value asking the kernel to pick a free direct descriptor. */
export const IORING_FILE_INDEX_ALLOC = 0xffffffff;

// ---- io_uring_register() opcodes ----
export const IORING_REGISTER_BUFFERS = 0;
export const IORING_UNREGISTER_BUFFERS = 1;
export const IORING_REGISTER_FILES = 2;
export const IORING_UNREGISTER_FILES = 3;
export const IORING_REGISTER_EVENTFD = 4;
export const IORING_UNREGISTER_EVENTFD = 5;
export const IORING_REGISTER_FILES_UPDATE = 6;
export const IORING_REGISTER_EVENTFD_ASYNC = 7;
export const IORING_REGISTER_PROBE = 8;
export const IORING_REGISTER_PERSONALITY = 9;
export const IORING_UNREGISTER_PERSONALITY = 10;
export const IORING_REGISTER_RESTRICTIONS = 11;
export const IORING_REGISTER_ENABLE_RINGS = 12;
export const IORING_REGISTER_FILES2 = 13;
export const IORING_REGISTER_FILES_UPDATE2 = 14;
export const IORING_REGISTER_BUFFERS2 = 15;
export const IORING_REGISTER_BUFFERS_UPDATE = 16;
export const IORING_REGISTER_IOWQ_AFF = 17;
export const IORING_UNREGISTER_IOWQ_AFF = 18;
export const IORING_REGISTER_IOWQ_MAX_WORKERS = 19;
export const IORING_REGISTER_RING_FDS = 20;
export const IORING_UNREGISTER_RING_FDS = 21;
export const IORING_REGISTER_PBUF_RING = 22;
export const IORING_UNREGISTER_PBUF_RING = 23;
export const IORING_REGISTER_SYNC_CANCEL = 24;
export const IORING_REGISTER_FILE_ALLOC_RANGE = 25;
export const IORING_REGISTER_PBUF_STATUS = 26;
export const IORING_REGISTER_NAPI = 27;
export const IORING_UNREGISTER_NAPI = 28;
export const IORING_REGISTER_CLOCK = 29;
export const IORING_REGISTER_CLONE_BUFFERS = 30;
export const IORING_REGISTER_SEND_MSG_RING = 31;
export const IORING_REGISTER_ZCRX_IFQ = 32;
export const IORING_REGISTER_RESIZE_RINGS = 33;
export const IORING_REGISTER_MEM_REGION = 34;
export const IORING_REGISTER_USE_REGISTERED_RING = 0x80000000;

export const IORING_RSRC_REGISTER_SPARSE = 1 << 0;
export const IORING_REGISTER_FILES_SKIP = -2;
export const IO_URING_OP_SUPPORTED = 1 << 0;

// ---- provided-buffer rings ----
export const IOU_PBUF_RING_MMAP = 1;
export const IOU_PBUF_RING_INC = 2;

// ---- libc constants the preps and tests use (x86-64 / arm64 Linux) ----
export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
export const AT_SYMLINK_FOLLOW = 0x400;
export const AT_EMPTY_PATH = 0x1000;
export const AT_STATX_SYNC_AS_STAT = 0;
export const STATX_BASIC_STATS = 0x7ff;
export const STATX_BTIME = 0x800;
export const STATX_ALL = 0xfff;
export const POLLIN = 0x001;
export const POLLPRI = 0x002;
export const POLLOUT = 0x004;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;
export const POLLNVAL = 0x020;
export const POLLRDHUP = 0x2000;
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SHUT_RD = 0;
export const SHUT_WR = 1;
export const SHUT_RDWR = 2;
export const SOL_SOCKET = 1;
export const MSG_WAITALL = 0x100;
export const MSG_NOSIGNAL = 0x4000;
export const FUTEX2_SIZE_U32 = 0x02;
export const FUTEX2_PRIVATE = 128;
export const FUTEX_BITSET_MATCH_ANY = 0xffffffff;
