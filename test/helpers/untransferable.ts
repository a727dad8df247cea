// What a transfer of memory marked untransferable does: node 20 copies it,
// node 21+ refuses with a DataCloneError (src/node-version.ts); neither
// detaches it. Shared by the tests of every such buffer uring hands out.
import assert from 'node:assert/strict';
import { UNTRANSFERABLE_TRANSFER_THROWS } from '../../src/node-version.js';

/** Transfers `ab` by structuredClone and checks it was refused or copied, never detached. */
export function assertTransferKeeps(ab: ArrayBuffer): void {
  const len = ab.byteLength;
  let thrown: unknown;
  try {
    structuredClone(ab, { transfer: [ab] });
  } catch (err) {
    thrown = err;
  }
  if (UNTRANSFERABLE_TRANSFER_THROWS) {
    assert.ok(
      thrown instanceof DOMException && thrown.name === 'DataCloneError',
      `expected a DataCloneError, got ${String(thrown)}`,
    );
  } else {
    assert.equal(thrown, undefined);
  }
  assert.equal(ab.byteLength, len, 'the buffer was detached');
}
