// Socket-level constants (Linux x86-64/arm64 values) the net layer uses.
// io_uring's own constants live in ring/uapi.ts (these come from there too).
export { MSG_NOSIGNAL, MSG_WAITALL, SOL_SOCKET } from '../ring/uapi.js';
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
