// Socket-level constants (Linux x86-64/arm64 values) the net layer uses.
// io_uring's own constants live in ring/uapi.ts.
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_ERROR = 4;
export const SO_BROADCAST = 6;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_KEEPALIVE = 9;
export const SO_LINGER = 13;
export const SO_REUSEPORT = 15;
export const IPPROTO_TCP = 6;
export const IPPROTO_IPV6 = 41;
export const IPV6_V6ONLY = 26;
export const TCP_NODELAY = 1;
export const TCP_KEEPIDLE = 4;
export const TCP_KEEPINTVL = 5;
export const TCP_KEEPCNT = 6;
export const MSG_TRUNC = 0x20;
export const MSG_WAITALL = 0x100;
export const MSG_NOSIGNAL = 0x4000;

export const EINTR = 4;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const ENFILE = 23;
export const EMFILE = 24;
export const EPIPE = 32;
export const EAFNOSUPPORT = 97;
export const ENOBUFS = 105;
export const ECONNRESET = 104;
export const ENOTCONN = 107;
export const ETIMEDOUT = 110;
export const ECANCELED = 125;
export const EOPNOTSUPP = 95;
