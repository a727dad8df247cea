// The classic first io_uring program, on uring's ring.
//
// io_uring is two queues shared by this process and the kernel. We write a
// request (an SQE) into the submission queue and tell the kernel about it with
// one system call, io_uring_enter. When the work is done the kernel writes a
// completion (a CQE) into the completion queue, tagged with the 64-bit "user
// data" we put on the request. Reading the completion queue is a memory read.
//
// Here: make a listening socket through the ring, ask the kernel to tell us when
// a connection is waiting (POLL_ADD), then accept it (ACCEPT), twice.
// Run: npm run build && node dist/examples/seed-accept.js
import net from 'node:net';
import { once } from 'node:events';
import { readFileSync, readlinkSync } from 'node:fs';
import { systemError } from '../src/errors.js';
import {
  Ring,
  Sqe,
  sockaddr,
  parseSockaddr,
  addressOf,
  AF_INET,
  SOCK_STREAM,
  SOCK_NONBLOCK,
  POLLIN,
  SOCKET_URING_OP_GETSOCKNAME,
} from '../src/ring/index.js'; // in your code: from 'uring/ring'

// A ring with room for 2 requests in flight; plenty for one at a time.
const ring = new Ring(2);

// Instrumentation, not part of the recipe: count the io_uring_enter system
// calls this ring makes (they all go through ring.enter).
let enters = 0;
const enter = ring.enter.bind(ring);
ring.enter = (toSubmit, minComplete, flags, timeoutNs) => (enters++, enter(toSubmit, minComplete, flags, timeoutNs));

/** One request, start to finish: fill an SQE, submit, wait for its CQE, return the result. */
function run(prep: (sqe: Sqe) => void): number {
  prep(ring.getSqe()!); // a free slot in the submission queue, zeroed
  ring.submit(); // io_uring_enter: the kernel takes the SQE
  const cqe = ring.waitCqe(); // returns at once if the CQE is there, else waits in io_uring_enter
  ring.cqeSeen(cqe); // hand the CQ slot back to the kernel
  return cqe.res; // >= 0 on success, -errno on failure: the kernel does not throw
}
function check(res: number, what: string): number {
  if (res < 0) throw systemError(res, what);
  return res;
}

// 1. socket(), bind() and listen(), each as a ring request. Port 0: the kernel picks one.
const fd = check(
  run((s) => s.prepSocket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK)),
  'socket',
);
check(
  run((s) => s.prepBind(fd, sockaddr({ host: '127.0.0.1', port: 0 }))),
  'bind',
);
check(
  run((s) => s.prepListen(fd, 16)),
  'listen',
);

// Which port? Newer kernels answer getsockname through the ring; 6.18 says
// EOPNOTSUPP, and then the socket's line in /proc/net/tcp tells us.
const name = new Uint8Array(16);
const nameLen = new Uint32Array([name.length]);
const res = run((s) => {
  s.prepUringCmd(SOCKET_URING_OP_GETSOCKNAME, fd);
  s.addr = addressOf(name); // the kernel writes the address here (both buffers
  s.addr3 = addressOf(nameLen); // stay referenced until the CQE: they are locals)
});
let port = res === 0 ? parseSockaddr(name, nameLen[0])!.port : 0;
if (res < 0) {
  const inode = /socket:\[(\d+)\]/.exec(readlinkSync(`/proc/self/fd/${fd}`))![1];
  const line = readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((c) => c[9] === inode)!;
  port = Number.parseInt(line[1]!.split(':')[1]!, 16);
}
console.log(
  `listening on 127.0.0.1:${port} (fd ${fd}, port found ${res === 0 ? 'through the ring' : 'in /proc/net/tcp'})`,
);

// 2. The seed: a poll request, tagged with our user data, submitted.
const poll = ring.getSqe()!;
poll.prepPollAdd(fd, POLLIN); // "tell me when fd is readable": a connection waits
poll.userData = 0xdeadbeefn; // comes back, untouched, in the CQE
ring.submit();

// A client connects (node:net); once 'connect' fires, the connection is in the backlog.
const client1 = net.connect(port, '127.0.0.1');
await once(client1, 'connect');
let cqe = ring.waitCqe();
console.log(
  `completion: user data 0x${cqe.userData.toString(16)}, res ${cqe.res} (${cqe.res & POLLIN ? 'POLLIN' : '?'})`,
);
ring.cqeSeen(cqe);

// 3. Accept the waiting connection through the ring; the kernel fills in the peer's address.
const peer = new Uint8Array(128);
const peerLen = new Uint32Array([peer.length]);
const conn1 = check(
  run((s) => s.prepAccept(fd, peer, peerLen)),
  'accept',
);
const addr = parseSockaddr(peer, peerLen[0])!;
console.log(`accepted fd ${conn1}, peer ${addr.address}:${addr.port} (the client's port: ${client1.localPort})`);

// 4. The same poll, but reaped with peekCqe: a read of the shared completion
// queue, no system call. Between peeks we let Node's event loop run, which is
// where it connects the second client.
ring.getSqe()!.prepPollAdd(fd, POLLIN).userData = 0xdeadbeefn;
ring.submit();
const client2 = net.connect(port, '127.0.0.1');
const entersBefore = enters;
const deadline = Date.now() + 5000;
let peeks = 0;
for (;;) {
  peeks++;
  const next = ring.peekCqe(); // null: nothing completed yet
  if (next) {
    cqe = next;
    break;
  }
  if (Date.now() > deadline) throw new Error('no completion within 5 s');
  await new Promise(setImmediate); // one turn of the event loop
}
console.log(
  `completion: user data 0x${cqe.userData.toString(16)}, res ${cqe.res}, after ${peeks} peeks and ${enters - entersBefore} io_uring_enter calls`,
);
ring.cqeSeen(cqe);
const conn2 = check(
  run((s) => s.prepAccept(fd, null, null)),
  'accept',
);
console.log(`accepted fd ${conn2}`);

// 5. Close the accepted sockets and the listener through the ring, then the ring itself.
for (const f of [conn1, conn2, fd])
  check(
    run((s) => s.prepClose(f)),
    'close',
  );
client1.destroy();
client2.destroy();
ring.close();
console.log(`done: ${enters} io_uring_enter calls in all`);
