// What io_uring can do on this machine, and whether uring can run here: the
// kernel, the sysctls that gate io_uring, a real ring's features and opcodes,
// and which setup flags the kernel accepts (each tried on a small ring).
// Everything here is measured, not inferred from the kernel version.
import { readFileSync } from 'node:fs';
import { machine, release } from 'node:os';
import { errnoName } from './errors.js';
import { native, type SetupParams } from './native.js';
import { disabledBy } from './opt-out.js';
import { Ring } from './ring/ring.js';
import {
  FEATURE_NAMES,
  OPCODE_NAMES,
  SETUP_FLAG_NAMES,
  IORING_SETUP_ATTACH_WQ,
  IORING_SETUP_CLAMP,
  IORING_SETUP_COOP_TASKRUN,
  IORING_SETUP_CQE32,
  IORING_SETUP_CQE_MIXED,
  IORING_SETUP_CQSIZE,
  IORING_SETUP_DEFER_TASKRUN,
  IORING_SETUP_HYBRID_IOPOLL,
  IORING_SETUP_IOPOLL,
  IORING_SETUP_NO_MMAP,
  IORING_SETUP_NO_SQARRAY,
  IORING_SETUP_R_DISABLED,
  IORING_SETUP_REGISTERED_FD_ONLY,
  IORING_SETUP_SINGLE_ISSUER,
  IORING_SETUP_SQ_AFF,
  IORING_SETUP_SQE128,
  IORING_SETUP_SQE_MIXED,
  IORING_SETUP_SQPOLL,
  IORING_SETUP_SUBMIT_ALL,
  IORING_SETUP_TASKRUN_FLAG,
} from './ring/uapi.js';

/** The IORING_FEAT_* bits uring cannot work without. */
export const REQUIRED_FEATURES: readonly string[] = ['NODROP', 'EXT_ARG'];
/** The opcodes the runtime, fs and net layers are built on. */
export const REQUIRED_OPCODES: readonly string[] = [
  'READ',
  'WRITE',
  'OPENAT',
  'CLOSE',
  'STATX',
  'ASYNC_CANCEL',
  'LINK_TIMEOUT',
  'ACCEPT',
  'RECV',
  'SEND',
  'POLL_ADD',
];

/** One setup flag set, tried on a ring of 4 entries. */
export interface SetupFlagResult {
  /** The flag names joined by '|', e.g. 'SINGLE_ISSUER|DEFER_TASKRUN'. */
  name: string;
  flags: number;
  /** true: the kernel created the ring; false: it refused (see code); null: not tried. */
  accepted: boolean | null;
  /** The errno name the kernel refused with, e.g. 'EINVAL'. */
  code?: string;
  errno?: number;
  note?: string;
}

export interface ProbeReport {
  kernel: { release: string; machine: string };
  sysctl: {
    /** kernel.io_uring_disabled: 0 enabled, 1 only for kernel.io_uring_group, 2 disabled; null when absent (before 6.6). */
    ioUringDisabled: number | null;
    /** kernel.io_uring_group (-1: none); null when absent. */
    ioUringGroup: number | null;
  };
  /**
   * RLIMIT_MEMLOCK in bytes; null when /proc/self/limits is unreadable. Since
   * Linux 5.12 rings are charged to the memory cgroup instead; the limit
   * still caps registered buffers (for users without CAP_IPC_LOCK).
   */
  memlock: { soft: number | 'unlimited'; hard: number | 'unlimited' } | null;
  /** What opted this process out of io_uring ('URING_DISABLE=1'): then nothing was tried. null when nothing did. */
  disabledBy: string | null;
  ring: {
    created: boolean;
    /** Why not: the error's code (ERR_URING_UNAVAILABLE, or an errno name) and message. */
    error: { code: string; message: string } | null;
  };
  /** IORING_FEAT_* names the kernel reported; empty when no ring could be created. */
  features: string[];
  featureBits: number;
  setupFlags: SetupFlagResult[];
  opcodes: {
    /** The highest opcode the kernel knows (-1 when no ring or no probe). */
    lastOp: number;
    supported: string[];
    /** Opcodes uring knows that this kernel does not support. */
    unsupported: string[];
  };
  /** Features and opcodes uring needs that are missing. */
  missing: { features: string[]; opcodes: string[] };
  /** Whether uring can run here: a ring was created and nothing it needs is missing. */
  usable: boolean;
  verdict: string;
}

interface FlagTrial {
  flags: number;
  params?: Omit<SetupParams, 'flags'>;
  /** A reason not to try this set at all. */
  skip?: string;
  note?: string;
}

/**
 * Probes io_uring on this machine. Synchronous; creates and closes a few
 * small rings (one with SQPOLL starts, and stops, a kernel thread). Where
 * the user opted out (URING_DISABLE=1), it makes no io_uring system call and
 * reports `disabledBy`.
 *
 * @returns the report; `usable` says whether uring can run here
 * @example
 * const r = probe();
 * if (!r.usable) console.error(r.verdict);
 */
export function probe(): ProbeReport {
  const report: ProbeReport = {
    kernel: { release: release(), machine: machine() },
    sysctl: {
      ioUringDisabled: readIntFile('/proc/sys/kernel/io_uring_disabled'),
      ioUringGroup: readIntFile('/proc/sys/kernel/io_uring_group'),
    },
    memlock: readMemlock(),
    disabledBy: disabledBy() ?? null,
    ring: { created: false, error: null },
    features: [],
    featureBits: 0,
    setupFlags: [],
    opcodes: { lastOp: -1, supported: [], unsupported: [] },
    missing: { features: [], opcodes: [] },
    usable: false,
    verdict: '',
  };

  let ring: Ring;
  try {
    ring = new Ring(4);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    report.ring.error = { code: String(e.code ?? 'ERR_UNKNOWN'), message: String(e.message ?? err) };
    // Opted out: new Ring() refused before any system call; the message says so.
    report.verdict =
      report.disabledBy !== null ? report.ring.error.message : `io_uring is unavailable: ${report.ring.error.message}`;
    return report;
  }
  try {
    report.ring.created = true;
    report.featureBits = ring.features;
    report.features = bitNames(ring.features, FEATURE_NAMES);
    try {
      const p = ring.probe();
      report.opcodes.lastOp = p.lastOp;
      report.opcodes.supported = p.supportedNames();
      report.opcodes.unsupported = OPCODE_NAMES.filter((_, op) => !p.opSupported(op));
    } catch {
      // IORING_REGISTER_PROBE arrived in 5.6: without it, no opcode is known to work.
      report.opcodes.unsupported = OPCODE_NAMES.slice();
    }
    report.setupFlags = flagTrials(ring.fd).map(tryFlags);
  } finally {
    ring.close();
  }

  report.missing.features = REQUIRED_FEATURES.filter((f) => !report.features.includes(f));
  report.missing.opcodes = REQUIRED_OPCODES.filter((o) => !report.opcodes.supported.includes(o));
  report.usable = report.missing.features.length === 0 && report.missing.opcodes.length === 0;
  const count = `${report.opcodes.supported.length} of ${Math.max(OPCODE_NAMES.length, report.opcodes.lastOp + 1)} opcodes`;
  if (report.usable) {
    report.verdict = `io_uring is available: ${count}, with every feature (${REQUIRED_FEATURES.join(', ')}) and opcode (${REQUIRED_OPCODES.join(', ')}) uring needs`;
  } else {
    const gaps = [
      ...report.missing.features.map((f) => `feature ${f}`),
      ...report.missing.opcodes.map((o) => `opcode ${o}`),
    ];
    report.verdict = `io_uring is too old for uring on this kernel (${report.kernel.release}): ${count}, missing ${gaps.join(', ')}`;
  }
  return report;
}

/** The flag sets to try: every IORING_SETUP_* flag, alone or with the flag it needs. */
function flagTrials(ringFd: number): FlagTrial[] {
  return [
    { flags: IORING_SETUP_IOPOLL, note: '(then only O_DIRECT I/O on polling-capable devices)' },
    { flags: IORING_SETUP_SQPOLL, params: { sqThreadIdle: 10 } },
    { flags: IORING_SETUP_SQPOLL | IORING_SETUP_SQ_AFF, params: { sqThreadIdle: 10, sqThreadCpu: firstAllowedCpu() } },
    { flags: IORING_SETUP_CQSIZE, params: { cqEntries: 16 } },
    { flags: IORING_SETUP_CLAMP },
    { flags: IORING_SETUP_ATTACH_WQ, params: { wqFd: ringFd } },
    { flags: IORING_SETUP_R_DISABLED },
    { flags: IORING_SETUP_SUBMIT_ALL },
    { flags: IORING_SETUP_COOP_TASKRUN },
    { flags: IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG },
    { flags: IORING_SETUP_SQE128 },
    { flags: IORING_SETUP_CQE32 },
    { flags: IORING_SETUP_SINGLE_ISSUER },
    { flags: IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN },
    {
      flags: IORING_SETUP_NO_MMAP,
      skip: "n/a: the program would provide the ring memory; uring maps the kernel's",
    },
    {
      flags: IORING_SETUP_REGISTERED_FD_ONLY,
      note: '(valid only with NO_MMAP)',
    },
    { flags: IORING_SETUP_NO_SQARRAY },
    { flags: IORING_SETUP_IOPOLL | IORING_SETUP_HYBRID_IOPOLL },
    { flags: IORING_SETUP_CQE_MIXED },
    { flags: IORING_SETUP_SQE_MIXED },
  ];
}

function tryFlags(t: FlagTrial): SetupFlagResult {
  const out: SetupFlagResult = { name: bitNames(t.flags, SETUP_FLAG_NAMES).join('|'), flags: t.flags, accepted: null };
  if (t.skip !== undefined) {
    out.note = t.skip;
    return out;
  }
  // Straight to io_uring_setup, with exactly these flags (new Ring would add
  // NO_SQARRAY and retry without it, which blurs the answer).
  const r = native().setup(4, { ...t.params, flags: t.flags });
  if (typeof r === 'number') {
    out.accepted = false;
    out.errno = -r;
    out.code = errnoName(r);
  } else {
    out.accepted = true;
    native().close(r.handle);
  }
  if (t.note !== undefined) out.note = t.note;
  return out;
}

/** Names of the set bits; a bit without a name becomes BIT_n. */
function bitNames(bits: number, names: readonly string[]): string[] {
  const out: string[] = [];
  for (let b = 0; b < 32; b++) if ((bits >>> b) & 1) out.push(names[b] ?? `BIT_${b}`);
  return out;
}

function readIntFile(path: string): number | null {
  try {
    const n = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isNaN(n) ? null : n;
  } catch {
    return null;
  }
}

/** RLIMIT_MEMLOCK from /proc/self/limits ("Max locked memory  <soft>  <hard>  bytes"). */
function readMemlock(): ProbeReport['memlock'] {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max locked memory'));
    if (!line) return null;
    const [soft, hard] = line.slice('Max locked memory'.length).trim().split(/\s+/);
    const value = (s: string | undefined) => (s === 'unlimited' ? s : Number(s));
    if (soft === undefined || hard === undefined) return null;
    return { soft: value(soft), hard: value(hard) };
  } catch {
    return null;
  }
}

/** The first CPU this process may run on (SQ_AFF pins the SQPOLL thread to it). */
function firstAllowedCpu(): number {
  try {
    const m = /^Cpus_allowed_list:\s*(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
