// Preloaded (`node --import dist/test/helpers/no-uring.js`, or through
// NODE_OPTIONS so that child processes get it too) to run tests in a process
// where io_uring is not to be had. URING_TEST_FAKE says how:
//   trap    io_uring_setup (or enter/register) kills the process with SIGSYS,
//           as a seccomp profile with SCMP_ACT_KILL_PROCESS does: a test run
//           under URING_DISABLE=1 that survives never asked for a ring;
//   enosys  setup fails with ENOSYS (a kernel without io_uring);
//   eperm   setup fails with EPERM (a seccomp profile that refuses it).
// Everything else (sockets, eventfd, addresses) is the real addon's.
import { writeSync } from 'node:fs';
import { native, setNativeBinding, type NativeBinding } from '../../src/native.js';

const mode = process.env.URING_TEST_FAKE;

function trap(name: string): never {
  writeSync(2, `no-uring: ${name} was called in a process that must not touch io_uring (pid ${process.pid})\n`);
  process.kill(process.pid, 'SIGSYS');
  // SIGSYS's default action ends the process; never return into the caller.
  process.abort();
}

if (mode === 'trap' || mode === 'enosys' || mode === 'eperm') {
  const real = native();
  const fake: Partial<NativeBinding> =
    mode === 'trap'
      ? {
          setup: () => trap('io_uring_setup'),
          enter: () => trap('io_uring_enter'),
          register: () => trap('io_uring_register'),
        }
      : { setup: () => (mode === 'enosys' ? -38 : -1) };
  // Object.create with descriptors: the addon's own properties are read-only.
  const descriptors = Object.fromEntries(Object.entries(fake).map(([k, value]) => [k, { value }]));
  setNativeBinding(Object.create(real, descriptors) as NativeBinding);
} else if (mode !== undefined && mode !== '') {
  throw new Error(`no-uring: unknown URING_TEST_FAKE=${mode}`);
}
