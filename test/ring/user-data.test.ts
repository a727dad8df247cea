// The runtime's user-data words and the SQE rewrites it needs, on a bare ring.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ring, IORING_OP_NOP, IORING_OP_READ, IOSQE_IO_LINK, IOSQE_CQE_SKIP_SUCCESS } from '../../src/ring/index.js';
import {
  AUX_BIT,
  FD_RESULTS_BIT,
  INTERNAL_LO,
  LINK_MASK,
  LINK_SHIFT,
  MAX_LINKS,
  SLOT_MASK,
  auxLo,
  linkLo,
  linkOf,
} from '../../src/ring/user-data.js';
import { reap, sqe } from '../helpers/ring.js';

test('setUserWords writes lo and hi; they come back in the CQE', (t) => {
  const ring = new Ring(8);
  t.after(() => ring.close());
  const s = sqe(ring)
    .prepNop()
    .setUserWords(linkLo(SLOT_MASK - 1, MAX_LINKS), (FD_RESULTS_BIT | 7) >>> 0);
  assert.equal(s.userData, (BigInt((FD_RESULTS_BIT | 7) >>> 0) << 32n) | BigInt(linkLo(SLOT_MASK - 1, MAX_LINKS)));
  assert.equal(ring.submit(), 1);
  const [cqe] = reap(ring, 1);
  assert.equal(cqe!.userDataLo, linkLo(SLOT_MASK - 1, MAX_LINKS));
  assert.equal(linkOf(cqe!.userDataLo), MAX_LINKS);
  assert.equal(cqe!.userDataHi, (FD_RESULTS_BIT | 7) >>> 0);
});

test("setUserWords refuses what is not a u32 with Node's codes", (t) => {
  const ring = new Ring(8);
  t.after(() => ring.close());
  const s = sqe(ring);
  for (const bad of [-1, 2 ** 32, 1.5, NaN]) assert.throws(() => s.setUserWords(bad, 0), { code: 'ERR_OUT_OF_RANGE' });
  for (const bad of ['1', 1n, Symbol('x'), null]) {
    assert.throws(() => s.setUserWords(bad as unknown as number, 0), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => s.setUserWords(0, bad as unknown as number), { code: 'ERR_INVALID_ARG_TYPE' });
  }
});

test('neutralize: a prepared, linked SQE becomes an unlinked NOP that posts no CQE', (t) => {
  const ring = new Ring(8);
  t.after(() => ring.close());
  const s = sqe(ring).prepRead(0, new Uint8Array(8), 8, 0).setUserWords(5, 6);
  s.flags |= IOSQE_IO_LINK;
  assert.equal(s.opcode, IORING_OP_READ);
  s.neutralize();
  assert.equal(s.opcode, IORING_OP_NOP);
  assert.equal(s.flags, IOSQE_CQE_SKIP_SUCCESS);
  assert.equal(s.addr, 0n);
  assert.equal(s.len, 0);
  assert.equal(s.userData, BigInt(INTERNAL_LO));
  sqe(ring).prepNop().setUserWords(1, 0);
  assert.equal(ring.submit(), 2);
  const cqes = reap(ring, 1);
  assert.deepEqual(
    cqes.map((c) => c.userDataLo),
    [1],
    'only the plain NOP posted a CQE',
  );
  assert.equal(ring.cqReady, 0);
});

test('the layout: fields do not overlap, and INTERNAL_LO names no op', () => {
  assert.equal(SLOT_MASK & (LINK_MASK << LINK_SHIFT), 0);
  assert.equal(((LINK_MASK << LINK_SHIFT) & AUX_BIT) >>> 0, 0);
  assert.equal(auxLo(SLOT_MASK - 1) & SLOT_MASK, SLOT_MASK - 1);
  for (let k = 0; k <= MAX_LINKS; k++) assert.notEqual(linkLo(SLOT_MASK - 1, k), INTERNAL_LO);
  assert.equal(INTERNAL_LO & AUX_BIT, 0, 'never read as a linked timeout (native/uring.c checks bit 31)');
  assert.equal(FD_RESULTS_BIT, 2 ** 31, 'bit 63 of the user data, which native/uring.c checks');
});
