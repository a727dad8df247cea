// Privileges follow the process (CVE-2024-22017's class). A ring with SQPOLL
// submits from a kernel thread that keeps the credentials the ring was created
// with, and a personality registered with IORING_REGISTER_PERSONALITY is a
// saved copy of them: after process.setuid('nobody') both still act as root.
//
// Decision: refuse, don't close. While such a ring is open anywhere in the
// process, process.setuid, setgid, seteuid, setegid, setgroups and initgroups
// throw ERR_URING_PRIVILEGED_RING naming it, and change nothing. Closing the
// rings behind the program's back would fail its ops in flight and leave it
// holding closed rings; refusing lets it close them (and wait for their ops)
// and then drop. Rings without SQPOLL or personalities need nothing: their
// ops are issued with the submitting thread's credentials, so after the drop
// they get EACCES like node:fs. An op submitted *before* a drop may still
// complete with the old rights (the kernel captured them when it queued the
// op): let ops settle before dropping privileges.
//
// Process-wide. Only the main thread can change credentials (in a worker
// these functions throw), but a worker's SQPOLL ring keeps them too. So:
// - a table in a SharedArrayBuffer, passed to every worker started after this
//   module loaded through worker_threads' environment data, holds each open
//   credential-keeping ring of any thread: its fd (fds are process-wide), what
//   keeps the credentials, and its thread. A slot whose fd is no longer an
//   io_uring fd is stale (a worker terminated with its ring open: its
//   environment's cleanup closed the fd; a ring collected unclosed) and is
//   dropped when the guard looks.
// - /proc/self/fdinfo shows an SQPOLL thread for every ring with one, whoever
//   made it (a worker started before uring loaded here, libuv with
//   UV_USE_IO_URING=1, another addon): those are refused too. Personalities
//   are not shown there; those only the table knows.
// The guard is installed on the main thread when this module first loads
// (importing uring there is enough), and only looks when one of these
// functions is called.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { getEnvironmentData, isMainThread, setEnvironmentData, threadId } from 'node:worker_threads';
import { UringPrivilegedRingError } from '../errors.js';
import { IORING_REGISTER_PERSONALITY, IORING_UNREGISTER_PERSONALITY } from './uapi.js';

/** What keeps a ring's credentials (bits of a slot's kind). */
export const KEEPS_SQPOLL = 1;
export const KEEPS_PERSONALITY = 2;

const KEY = 'uring:credential-rings';
const SLOTS = 1024;
const WORDS = 3; // per slot: fd + 1 (0: free), kind bits, thread id
/** One word past the slots: rings that found the table full (the guard then refuses without naming them). */
const OVERFLOW = SLOTS * WORDS;

function sharedTable(): Int32Array {
  const have: unknown = getEnvironmentData(KEY);
  if (have instanceof SharedArrayBuffer) return new Int32Array(have);
  const sab = new SharedArrayBuffer((SLOTS * WORDS + 1) * 4);
  // Every worker started from now on (and theirs) gets this same memory.
  setEnvironmentData(KEY, sab);
  return new Int32Array(sab);
}

const table = sharedTable();

/** One ring's entry in the table: made with the ring, told what it registers, released when it closes. */
export class RingCredentials {
  readonly #fd: number;
  #slot = -1; // -2: counted in OVERFLOW
  #sqpoll = false;
  #personalities = 0;

  constructor(fd: number, sqpoll: boolean) {
    this.#fd = fd;
    this.#sqpoll = sqpoll;
    this.#update();
  }

  /** After a successful io_uring_register: a personality registered or unregistered. */
  registered(op: number): void {
    if (op === IORING_REGISTER_PERSONALITY) this.#personalities++;
    else if (op === IORING_UNREGISTER_PERSONALITY) this.#personalities = Math.max(0, this.#personalities - 1);
    else return;
    this.#update();
  }

  /** The ring is closed (its fd too): it keeps nothing any more. */
  release(): void {
    this.#sqpoll = false;
    this.#personalities = 0;
    this.#update();
  }

  #update(): void {
    const kind = (this.#sqpoll ? KEEPS_SQPOLL : 0) | (this.#personalities > 0 ? KEEPS_PERSONALITY : 0);
    if (kind === 0) {
      // Only if still ours: the guard may have found the slot stale (our fd
      // closed a moment ago) and another ring claimed it since.
      if (this.#slot >= 0) Atomics.compareExchange(table, this.#slot * WORDS, this.#fd + 1, 0);
      else if (this.#slot === -2) Atomics.sub(table, OVERFLOW, 1);
      this.#slot = -1;
      return;
    }
    if (this.#slot === -1) this.#slot = claim(this.#fd);
    if (this.#slot >= 0) {
      Atomics.store(table, this.#slot * WORDS + 1, kind);
      Atomics.store(table, this.#slot * WORDS + 2, threadId);
    }
  }
}

function claim(fd: number): number {
  for (let i = 0; i < SLOTS; i++) {
    // The fd word goes last in effect: a reader seeing it before the kind
    // (0) still counts the ring, as keeping credentials for an unknown reason.
    if (Atomics.compareExchange(table, i * WORDS, 0, fd + 1) === 0) return i;
  }
  Atomics.add(table, OVERFLOW, 1);
  return -2;
}

/** Whether fd is an open io_uring fd of this process; true when /proc cannot tell (refuse rather than allow). */
function isRingFd(fd: number): boolean {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:[io_uring]';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

function describe(fd: number, kind: number, thread: number): string {
  const what =
    [kind & KEEPS_SQPOLL ? 'SQPOLL' : '', kind & KEEPS_PERSONALITY ? 'a registered personality' : '']
      .filter(Boolean)
      .join(' and ') || 'SQPOLL or a personality';
  const where = thread === threadId ? 'this thread' : thread === 0 ? 'the main thread' : `worker thread ${thread}`;
  return `ring fd ${fd} with ${what} (${where})`;
}

/** The open rings of this process that keep credentials, described for the error; [] when there are none. */
export function credentialKeepingRings(): string[] {
  const out: string[] = [];
  const known = new Set<number>();
  for (let i = 0; i < SLOTS; i++) {
    const word = Atomics.load(table, i * WORDS);
    if (word === 0) continue;
    const fd = word - 1;
    if (!isRingFd(fd)) {
      // Stale: its ring's fd was closed without a release (a terminated
      // worker, a collected ring). Clear it unless it was reused meanwhile.
      Atomics.compareExchange(table, i * WORDS, word, 0);
      continue;
    }
    known.add(fd);
    out.push(describe(fd, Atomics.load(table, i * WORDS + 1), Atomics.load(table, i * WORDS + 2)));
  }
  const overflow = Atomics.load(table, OVERFLOW);
  if (overflow > 0) out.push(`${overflow} more ring(s) with SQPOLL or a personality`);
  for (const fd of sqpollRingFds())
    if (!known.has(fd)) out.push(`ring fd ${fd} with SQPOLL (not made by uring in a thread it can see)`);
  return out;
}

/** Every io_uring fd of the process with an SQPOLL thread, from /proc (empty when /proc is not there). */
function sqpollRingFds(): number[] {
  let fds: string[];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const name of fds) {
    const fd = Number(name);
    try {
      if (readlinkSync(`/proc/self/fd/${name}`) !== 'anon_inode:[io_uring]') continue;
      // "SqThread:\t<pid>", -1 without SQPOLL.
      const m = /^SqThread:\s*(-?\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${name}`, 'utf8'));
      if (m && Number(m[1]) >= 0) out.push(fd);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/** Throws ERR_URING_PRIVILEGED_RING when a ring that keeps credentials is open. */
export function assertNoCredentialKeepingRing(syscall: string): void {
  const rings = credentialKeepingRings();
  if (rings.length > 0) throw new UringPrivilegedRingError(syscall, rings);
}

const GUARDED = ['setuid', 'setgid', 'seteuid', 'setegid', 'setgroups', 'initgroups'] as const;
const kGuard = Symbol.for('uring.credentialGuard');

function installGuard(): void {
  const p = process as unknown as Record<string, unknown>;
  for (const name of GUARDED) {
    const original = p[name];
    // Absent on some platforms; already wrapped by another copy of uring.
    if (typeof original !== 'function' || (original as unknown as Record<symbol, unknown>)[kGuard]) continue;
    const guarded = function (this: unknown, ...args: unknown[]): unknown {
      assertNoCredentialKeepingRing(name);
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
    Object.defineProperty(guarded, 'name', { value: name });
    Object.defineProperty(guarded, kGuard, { value: true });
    p[name] = guarded;
  }
}

if (isMainThread) installGuard();
