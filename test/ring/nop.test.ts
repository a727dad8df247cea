// NOPs: the round trip through SQ and CQ, user data in all its forms, batches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ring, IORING_OP_NOP } from '../../src/ring/index.js';
import { reap, sqe } from '../helpers/ring.js';

test('a NOP completes with res 0 and its bigint user data', (t) => {
  const ring = new Ring(8);
  t.after(() => ring.close());
  const s = sqe(ring).prepNop();
  s.userData = 0xdeadbeefn;
  assert.equal(s.opcode, IORING_OP_NOP);
  assert.equal(s.userData, 0xdeadbeefn);
  assert.equal(ring.submit(), 1);
  const [cqe] = reap(ring, 1);
  assert.equal(cqe!.res, 0);
  assert.equal(cqe!.userData, 0xdeadbeefn);
  assert.equal(cqe!.userDataNumber, 0xdeadbeef);
  assert.equal(cqe!.userDataLo, 0xdeadbeef);
  assert.equal(cqe!.userDataHi, 0);
  assert.equal(ring.cqReady, 0);
});

test('full 64-bit user data survives the round trip', (t) => {
  const ring = new Ring(8);
  t.after(() => ring.close());
  const values = [0n, 1n, 0xffffffffn, 0x100000000n, 0x8000000000000001n, 0xffffffffffffffffn, 0x0123456789abcdefn];
  for (const v of values) sqe(ring).prepNop().userData = v;
  assert.equal(ring.submit(), values.length);
  const got = reap(ring, values.length)
    .map((c) => c.userData)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  assert.deepEqual(
    got,
    values.slice().sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
  );
});

test('setUserData(number) and cqe.userDataNumber agree up to 2^53', (t) => {
  const ring = new Ring(8);
  t.after(() => ring.close());
  const values = [0, 7, 0xffffffff, 2 ** 32, 2 ** 32 + 5, 123456789012345, Number.MAX_SAFE_INTEGER];
  for (const v of values) {
    const s = sqe(ring).prepNop().setUserData(v);
    assert.equal(s.userData, BigInt(v));
  }
  ring.submit();
  const got = reap(ring, values.length);
  assert.deepEqual(
    got.map((c) => c.userDataNumber).sort((a, b) => a - b),
    values.slice().sort((a, b) => a - b),
  );
  for (const c of got) assert.equal(c.userData, BigInt(c.userDataNumber));
});

test('a batch of many NOPs: one submit per full SQ, every completion exactly once', (t) => {
  const ring = new Ring(64);
  t.after(() => ring.close());
  const total = 10_000;
  const seen = new Uint8Array(total);
  let next = 0;
  let reaped = 0;
  while (reaped < total) {
    let batch = 0;
    while (next < total) {
      const s = ring.getSqe();
      if (!s) break;
      s.prepNop().setUserData(next++);
      batch++;
    }
    assert.equal(batch > 0 || next === total, true);
    // The whole batch goes to the kernel in one io_uring_enter.
    if (batch > 0) assert.equal(ring.submitAndWait(batch), batch);
    const cqes = ring.peekBatchCqe();
    assert.ok(cqes.length >= batch, `expected at least ${batch} CQEs, got ${cqes.length}`);
    for (const c of cqes) {
      assert.equal(c.res, 0);
      seen[c.userDataNumber]!++;
    }
    ring.cqAdvance(cqes.length);
    reaped += cqes.length;
  }
  assert.equal(reaped, total);
  assert.ok(
    seen.every((n) => n === 1),
    'every user data completed exactly once',
  );
  assert.equal(ring.cqReady, 0);
});

test('forEachCqe consumes every ready CQE without allocating Cqe objects', (t) => {
  const ring = new Ring(32);
  t.after(() => ring.close());
  for (let i = 0; i < 32; i++) sqe(ring).prepNop().userData = (BigInt(i) << 32n) | 0xabcn;
  ring.submitAndWait(32);
  const his: number[] = [];
  const n = ring.forEachCqe((lo, hi, res) => {
    assert.equal(lo, 0xabc);
    assert.equal(res, 0);
    his.push(hi);
  });
  assert.equal(n, 32);
  assert.deepEqual(
    his.sort((a, b) => a - b),
    Array.from({ length: 32 }, (_, i) => i),
  );
  assert.equal(ring.cqReady, 0);
  assert.equal(ring.peekCqe(), null);
});
