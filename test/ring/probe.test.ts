// IORING_REGISTER_PROBE: which opcodes this kernel supports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Ring,
  Probe,
  probeRing,
  IORING_OP_NOP,
  IORING_OP_READ,
  IORING_OP_WRITE,
  IORING_OP_TIMEOUT,
  OPCODE_NAMES,
} from '../../src/ring/index.js';

test('probe: NOP, READ and WRITE supported, opcode 255 not', (t) => {
  const ring = new Ring(4);
  t.after(() => ring.close());
  const p = ring.probe();
  assert.ok(p instanceof Probe);
  assert.ok(p.opSupported(IORING_OP_NOP));
  assert.ok(p.opSupported(IORING_OP_READ));
  assert.ok(p.opSupported(IORING_OP_WRITE));
  assert.ok(p.opSupported(IORING_OP_TIMEOUT));
  assert.equal(p.opSupported(255), false);
  assert.equal(p.opSupported(-1), false);
  assert.equal(p.opSupported(p.lastOp + 1), false);
  // READ is opcode 22: the kernel has had it since 5.6.
  assert.ok(p.lastOp >= IORING_OP_WRITE, `lastOp ${p.lastOp}`);
  const names = p.supportedNames();
  assert.ok(names.includes('READ'));
  assert.ok(names.includes('NOP'));
  assert.ok(names.includes('WRITE'));
  assert.equal(names.length, new Set(names).size);
  for (const n of names) {
    const op = OPCODE_NAMES.indexOf(n);
    if (op >= 0) assert.ok(p.opSupported(op), `${n} listed and supported`);
  }
  assert.deepEqual(probeRing(ring).supportedNames(), names, 'probeRing gives the same answer');
});
