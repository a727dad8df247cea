// A multishot recv cancelled while bytes arrive (an iterator broken out of,
// a receiver paused or taken away, a node-shaped Socket paused) still
// delivers what its last CQEs carried: bytes written == bytes received.
// test/stress/abort-bytes.ts runs the same with 10^5 cycles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../../src/index.js';
import { streamScenarios } from '../helpers/abort-bytes.js';

test('sockets whose recv is cancelled mid-stream lose no byte', async (t) => {
  const rt = new Runtime();
  t.after(() => rt.close());
  const results = await streamScenarios(rt, 1000, 4000);
  for (const r of results) {
    t.diagnostic(r.text);
    assert.equal(r.lost, 0, r.text);
  }
  assert.equal(results.length, 3);
});
