// `uring probe`: what io_uring can do here, readable or as JSON.
import { probe, type ProbeReport } from '../probe.js';
import type { Command, Io } from './main.js';

export const probeCommand: Command = {
  summary: 'report what io_uring can do on this machine, and whether uring can run here',
  usage: [
    'Usage: uring probe [--json]',
    '',
    "Creates a few small rings to find the kernel's io_uring features, accepted",
    'setup flags and supported opcodes, and gives a verdict.',
    '',
    'Options:',
    '  --json   print the report as JSON',
    '',
    'With URING_DISABLE=1 it tries nothing (not even io_uring_setup) and says so.',
    '',
    'Exit code: 0 when uring can run here, 1 when it cannot (or is disabled), 2 on',
    'a usage error.',
    '',
  ].join('\n'),
  run(args: string[], io: Io): number {
    const unknown = args.filter((a) => a !== '--json');
    if (unknown.length > 0) {
      io.err.write(`uring probe: unknown option '${unknown[0]}'\n\n${probeCommand.usage}`);
      return 2;
    }
    const report = probe();
    io.out.write(args.includes('--json') ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return report.usable ? 0 : 1;
  },
};

const WIDTH = 78;
const COL = 28;

/** The report as sections of aligned lines. */
export function formatReport(r: ProbeReport): string {
  const out: string[] = [];
  const section = (title: string, lines: string[]) => out.push(title, ...lines, '');
  const row = (label: string, value: string) => `  ${label.padEnd(COL - 2)}${value}`;

  section('kernel', [row('release', `${r.kernel.release} (${r.kernel.machine})`)]);

  const d = r.sysctl.ioUringDisabled;
  const g = r.sysctl.ioUringGroup;
  section('sysctl', [
    row(
      'kernel.io_uring_disabled',
      d === null ? 'absent (before Linux 6.6 there is no such switch)' : `${d} (${DISABLED[d] ?? 'unknown value'})`,
    ),
    row('kernel.io_uring_group', g === null ? 'absent' : g === -1 ? '-1 (no group)' : String(g)),
    row(
      'memlock',
      r.memlock === null
        ? 'unknown'
        : `${bytes(r.memlock.soft)} soft, ${bytes(r.memlock.hard)} hard (caps registered buffers; rings are charged to the memory cgroup)`,
    ),
  ]);

  if (r.disabledBy !== null)
    section('opt-out', [row('disabled by', `${r.disabledBy} (no io_uring system call was made)`)]);

  section(
    'ring',
    r.ring.created
      ? [row('created', 'yes')]
      : [
          row('created', `no (${r.ring.error?.code ?? 'unknown error'})`),
          ...wrap((r.ring.error?.message ?? '').split(' ')),
        ],
  );

  if (!r.ring.created) {
    section('features', ['  (none known: no ring could be created)']);
    section('setup flags', ['  (not tried: no ring could be created)']);
    section('opcodes', ['  (none known: no ring could be created)']);
  } else {
    section(`features (${r.features.length}, 0x${r.featureBits.toString(16)})`, wrap(r.features));
    const tried = r.setupFlags.filter((f) => f.accepted !== null);
    const accepted = tried.filter((f) => f.accepted).length;
    const flagWidth = Math.max(...r.setupFlags.map((f) => f.name.length)) + 2;
    section(
      `setup flags (${accepted} of ${tried.length} sets tried accepted)`,
      r.setupFlags.map((f) => {
        const verdict = f.accepted === null ? '' : f.accepted ? 'accepted' : `rejected (${f.code})`;
        const note = f.note === undefined ? '' : verdict ? `  ${f.note}` : f.note;
        return `  ${f.name.padEnd(flagWidth)}${verdict}${note}`;
      }),
    );
    section(
      `opcodes supported (${r.opcodes.supported.length}; this kernel's last opcode is ${r.opcodes.lastOp})`,
      wrap(r.opcodes.supported),
    );
    section(
      `opcodes unsupported (${r.opcodes.unsupported.length})`,
      r.opcodes.unsupported.length ? wrap(r.opcodes.unsupported) : ['  (none)'],
    );
  }

  section('verdict', wrap(r.verdict.split(' ')));
  return out.join('\n');
}

const DISABLED: Record<number, string> = {
  0: 'enabled for all processes',
  1: 'only for members of kernel.io_uring_group, or with CAP_SYS_ADMIN',
  2: 'disabled for all processes',
};

function bytes(n: number | 'unlimited'): string {
  if (n === 'unlimited') return 'unlimited';
  for (const [unit, size] of [
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ] as const) {
    if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  }
  return `${n} bytes`;
}

/** Words on indented lines no wider than WIDTH. */
function wrap(words: readonly string[]): string[] {
  const lines: string[] = [];
  let line = ' ';
  for (const w of words) {
    if (line.length + 1 + w.length > WIDTH && line.trim()) {
      lines.push(line);
      line = ' ';
    }
    line += ` ${w}`;
  }
  if (line.trim()) lines.push(line);
  return lines;
}
