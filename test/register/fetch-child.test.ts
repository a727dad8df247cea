// uring/register with what goes past node:http's own client and server:
// global fetch (node's bundled undici calls node:net's connect, so the flag
// routes it) checked against plain node scenario by scenario, its idle
// keep-alive connection not keeping a script alive, https fetch left to
// node; and handles passed to child processes (a routed server works, a
// uring socket is refused with node's code, a pauseOnConnect server stays
// node's so its sockets can be passed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tempDir } from '../helpers/tmp.js';
import { serverCert, serverKey } from '../helpers/tls-fixture.js';
import { register, runFixture } from './child.js';

/** runFixture, and the run printed no warning or error. */
async function run(
  nodeArgs: string[],
  app: string,
  env: Record<string, string> = {},
  args: string[] = [],
): Promise<Record<string, any>> {
  const { result, stderr } = await runFixture(nodeArgs, app, env, args);
  assert.doesNotMatch(stderr, /Warning|Error/, stderr);
  return result;
}

test("global fetch goes through uring sockets and sees what node's own sockets give it", async () => {
  const plain = await run([], 'fetch.mjs');
  assert.equal(plain.register, null);
  assert.equal(plain.nodeSocket, true);
  // Sanity of the scenarios themselves, on node's own sockets.
  assert.deepEqual(plain.out.keepAlive, { requests: 10, connections: 1 });
  assert.equal(plain.out.bigResponse.same, true);
  assert.equal(plain.out.streamedRequest.same, true);
  assert.equal(plain.out.refused.cause.code, 'ECONNREFUSED');
  assert.equal(plain.out.killedMidBody.err.cause.code, 'UND_ERR_SOCKET');
  assert.equal(plain.out.serverClosesIdle.connections, 1);
  // Everything through io_uring, and only the client (the server node's own).
  for (const parts of ['', 'client']) {
    const routed = await run(['--import', register], 'fetch.mjs', { URING_REGISTER: parts });
    assert.deepEqual(routed.out, plain.out, `URING_REGISTER=${parts}`);
    assert.equal(routed.nodeSocket, parts === 'client', 'the server');
    assert.ok(routed.register.clients >= 10, `${routed.register.clients} fetch connections through uring/net`);
  }
});

test("a fetch's idle keep-alive connection does not keep the script alive; https fetch stays node's", async () => {
  const dir = tempDir();
  const ca = dir.write('ca.pem', serverCert);
  const handler = (_req: http.IncomingMessage, res: http.ServerResponse) => res.end('hi');
  const plain = http.createServer(handler);
  const secure = https.createServer({ key: serverKey, cert: serverCert }, handler);
  // The connection is granted for 10 minutes (Keep-Alive: timeout=600): the
  // script ends only if undici's unref of its idle socket holds on a uring one.
  plain.keepAliveTimeout = secure.keepAliveTimeout = 600_000;
  plain.listen(0, '127.0.0.1');
  secure.listen(0, '127.0.0.1');
  await Promise.all([once(plain, 'listening'), once(secure, 'listening')]);
  try {
    const port = (s: http.Server) => (s.address() as AddressInfo).port;
    const viaHttp = await run(['--import', register], 'fetch-exit.mjs', {}, [`http://127.0.0.1:${port(plain)}/`]);
    assert.equal(viaHttp.body, 'hi');
    assert.equal(viaHttp.keepAlive, 'timeout=600');
    assert.equal(viaHttp.register.clients, 1);
    const viaHttps = await run(['--import', register], 'fetch-exit.mjs', { NODE_EXTRA_CA_CERTS: ca }, [
      `https://127.0.0.1:${port(secure)}/`,
    ]);
    assert.equal(viaHttps.body, 'hi');
    assert.equal(viaHttps.register.clients, 0, "TLS stays on node's socket");
  } finally {
    plain.close();
    secure.close();
    plain.closeAllConnections();
    secure.closeAllConnections();
    dir.remove();
  }
});

test('handles to child processes: a routed server is passed, a uring socket refused with a code', async () => {
  const plain = await run([], 'child-handles.cjs');
  const routed = await run(['--import', register], 'child-handles.cjs');
  for (const { out } of [plain, routed]) {
    // The child got a listening server over the socket (node's, on a TCP wrap)...
    for (const send of [out.firstSend, out.secondSend]) {
      assert.equal(send.listening, true);
      assert.equal(send.tcpWrap, 'TCP');
    }
    // ... and the parent went on accepting (the child had closed its copy).
    assert.deepEqual(out.parentAlone, ['parent']);
    // Once the parent closed its server, the child's copy answered alone,
    assert.deepEqual(out.childAlone, ['child']);
    // and with the child gone, no copy is left listening (the parent's dup closed too).
    assert.equal(out.afterAll, 'ECONNREFUSED');
    // A pauseOnConnect server's connection, handed to the child (node's socket there).
    assert.equal(out.pausedSocket, 'child true');
  }
  assert.equal(routed.out.firstSend.listens, 0, "the child's server is node's own");
  assert.equal(routed.register.listens, 3, 'the passed server, the plain one, the one listen(server) was refused on');
  // A uring socket cannot be passed: node's own error, the parent keeps it.
  assert.equal(plain.out.plainSocket, 'sent');
  assert.deepEqual(routed.out.plainSocket, { name: 'TypeError', code: 'ERR_INVALID_HANDLE_TYPE' });
  assert.equal(routed.out.plainAnswer, 'parent kept it');
  // listen(server): node's takes the handle over; a routed server has none.
  assert.equal(plain.out.listenOnServer, 'second');
  assert.equal(routed.out.listenOnServer.code, 'ERR_INVALID_ARG_VALUE');
  assert.match(routed.out.listenOnServer.message, /io_uring/);
});

test("a routed server's _handle: no stack looked at without IPC; sent by a forked child, or after a late register", async () => {
  const flag = await run(['--import', register], 'handle-reads.mjs');
  assert.equal(flag.routed, true);
  // supertest and others read it as "listening?": no call sites captured.
  assert.equal(flag.capturesWithoutIpc, 0);
  // A child forked under the flag (execArgv) sends its routed server up the
  // channel it was born with: the parent gets node's server on a TCP wrap.
  assert.equal(flag.childListens, 1);
  assert.deepEqual(flag.parentGot, { listening: true, wrap: 'TCP' });
  assert.equal(flag.capturesAfterIpc, true, 'with a child on IPC, reads look who reads');
  // Registered by the app after it forked (no --import): the child is seen.
  const late = await run([], 'handle-reads.mjs', {}, ['late', register]);
  assert.equal(late.routed, true);
  assert.deepEqual(late.childGot, { listening: true, wrap: 'TCP' });
  assert.equal(late.capturesAfterIpc, true);
});
