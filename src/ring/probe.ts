// IORING_REGISTER_PROBE: which opcodes this kernel supports.
import type { Ring } from './ring.js';
import { IO_URING_OP_SUPPORTED, IORING_REGISTER_PROBE, OPCODE_NAMES } from './uapi.js';
import { validateRing } from './register.js';

export class Probe {
  /** The highest opcode the kernel knows. */
  readonly lastOp: number;
  readonly #supported: Uint8Array;

  constructor(lastOp: number, supported: Uint8Array) {
    this.lastOp = lastOp;
    this.#supported = supported;
  }

  /** io_uring_opcode_supported. */
  opSupported(op: number): boolean {
    return op >= 0 && op <= this.lastOp && this.#supported[op] === 1;
  }

  /** Names (without IORING_OP_) of the supported opcodes. */
  supportedNames(): string[] {
    const out: string[] = [];
    for (let op = 0; op <= this.lastOp; op++) {
      if (this.opSupported(op)) out.push(OPCODE_NAMES[op] ?? `OP_${op}`);
    }
    return out;
  }
}

/** io_uring_get_probe_ring. */
export function probeRing(ring: Ring): Probe {
  validateRing(ring);
  // struct io_uring_probe (16 bytes) + 256 struct io_uring_probe_op (8 bytes each).
  const buf = new Uint8Array(16 + 256 * 8);
  ring.register(IORING_REGISTER_PROBE, buf, 256);
  const lastOp = buf[0]!;
  const opsLen = buf[1]!;
  const supported = new Uint8Array(256);
  const flags = new Uint16Array(buf.buffer, buf.byteOffset, buf.byteLength / 2);
  for (let i = 0; i < opsLen; i++) {
    // ops[i] = { u8 op; u8 resv; u16 flags; u32 resv2 } at byte 16 + 8i.
    const op = buf[16 + i * 8]!;
    if (flags[(16 + i * 8 + 2) / 2]! & IO_URING_OP_SUPPORTED) supported[op] = 1;
  }
  return new Probe(lastOp, supported);
}
