// A completion queue entry, copied out of the ring: the kernel may reuse the
// slot as soon as the head moves past it, so nothing here points into it.
import {
  IORING_CQE_BUFFER_SHIFT,
  IORING_CQE_F_BUF_MORE,
  IORING_CQE_F_BUFFER,
  IORING_CQE_F_MORE,
  IORING_CQE_F_NOTIF,
  IORING_CQE_F_SOCK_NONEMPTY,
} from './uapi.js';
import { TWO32 } from '../u64.js';

export class Cqe {
  /** Low and high 32 bits of the user data. */
  readonly userDataLo: number;
  readonly userDataHi: number;
  /** The result: >= 0 on success, -errno on failure. */
  readonly res: number;
  /** IORING_CQE_F_* flags; with F_BUFFER the upper 16 bits are the buffer id. */
  readonly flags: number;

  constructor(lo: number, hi: number, res: number, flags: number) {
    this.userDataLo = lo;
    this.userDataHi = hi;
    this.res = res;
    this.flags = flags;
  }
  /** The user data as a bigint (all 64 bits). */
  get userData(): bigint {
    return (BigInt(this.userDataHi) << 32n) | BigInt(this.userDataLo);
  }
  /** The user data as a number: exact below 2^53, which is what setUserData(n) writes. */
  get userDataNumber(): number {
    return this.userDataHi * TWO32 + this.userDataLo;
  }
  /** IORING_CQE_F_MORE: the request will post more CQEs (multishot, send_zc). */
  get more(): boolean {
    return (this.flags & IORING_CQE_F_MORE) !== 0;
  }
  /** IORING_CQE_F_BUFFER: a provided buffer was used; see bufferId. */
  get hasBuffer(): boolean {
    return (this.flags & IORING_CQE_F_BUFFER) !== 0;
  }
  /** The provided buffer's id, or -1 when none was used. */
  get bufferId(): number {
    return this.flags & IORING_CQE_F_BUFFER ? this.flags >>> IORING_CQE_BUFFER_SHIFT : -1;
  }
  /** IORING_CQE_F_BUF_MORE: an incrementally consumed buffer will get more data. */
  get bufferMore(): boolean {
    return (this.flags & IORING_CQE_F_BUF_MORE) !== 0;
  }
  /** IORING_CQE_F_NOTIF: a zero-copy send's notification (the buffer is free again). */
  get notif(): boolean {
    return (this.flags & IORING_CQE_F_NOTIF) !== 0;
  }
  /** IORING_CQE_F_SOCK_NONEMPTY: the socket had more data after this receive. */
  get sockNonEmpty(): boolean {
    return (this.flags & IORING_CQE_F_SOCK_NONEMPTY) !== 0;
  }
}
