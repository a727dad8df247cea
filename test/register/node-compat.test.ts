// uring/register where Node's own test/parallel/test-http-* tests found it
// different from node (tools/node-compat, --module http): each case runs a
// fixture app with and without the flag and wants the same answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { register, runFixture } from './child.js';

const run = async (nodeArgs: string[], app: string) => (await runFixture(nodeArgs, app)).result;

/** socket-class.cjs without and with the flag, run once for the tests below. */
let socketClass: Promise<[Record<string, unknown>, Record<string, unknown>]> | undefined;
const socketClassRuns = () =>
  (socketClass ??= Promise.all([run([], 'socket-class.cjs'), run(['--import', register], 'socket-class.cjs')]));

test("uring sockets are instanceof net.Socket (not tls.TLSSocket), as node's are", async () => {
  const [plain, routed] = await socketClassRuns();
  assert.equal(plain.uringServed, false);
  assert.equal(routed.uringServed, true, 'the request came on a uring socket');
  for (const out of [plain, routed]) {
    assert.equal(out.serverSide, true, "a server's connection");
    assert.equal(out.setTimeoutReturn, true, "setTimeout()'s return");
    assert.equal(out.clientSide, true, "node's http client's socket");
    assert.equal(out.tlsSocket, false, 'tls.TLSSocket answers for its own only');
  }
});

test("a CONNECT socket node:http hands over carries node's listeners only, both ends", async () => {
  const [plain, routed] = await socketClassRuns();
  // node:http leaves its own 'end' listener and nothing else (test-http-connect).
  assert.deepEqual(routed.connectServerListeners, plain.connectServerListeners);
  assert.deepEqual(routed.connectClientListeners, plain.connectClientListeners);
  assert.equal((plain.connectServerListeners as Record<string, number>).close, 0);
});
