// Where io_uring is missing (old kernel, sysctl, seccomp, memlock), new Ring()
// throws one clear ERR_URING_UNAVAILABLE. Simulated with a fake binding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { native, setNativeBinding, type NativeBinding } from '../../src/native.js';
import { Ring } from '../../src/ring/index.js';
import { UringUnavailableError } from '../../src/errors.js';

/** A binding whose setup always fails with `res`; everything else must not be reached. */
function failingBinding(res: number, calls: number[][]): NativeBinding {
  const unreachable = () => {
    throw new Error('only setup should be called');
  };
  return {
    setup(entries: number, params?: { flags?: number }) {
      calls.push([entries, params?.flags ?? 0]);
      return res;
    },
    close: unreachable,
    enter: unreachable,
    register: unreachable,
    address: unreachable,
    alignedAlloc: unreachable,
    eventfd: unreachable,
    closeFd: unreachable,
    createPoller: unreachable,
    ringRegistered: unreachable,
    ringOwnsFdResults: unreachable,
    ownFd: unreachable,
    disownFd: unreachable,
    ownedFds: unreachable,
    ringTakeFd: unreachable,
    closingFd: unreachable,
    fdsSubmitted: unreachable,
    pollerRef: unreachable,
    pollerClose: unreachable,
    socket: unreachable,
    bind: unreachable,
    listen: unreachable,
    setsockopt: unreachable,
    getsockopt: unreachable,
    sockName: unreachable,
    lseek: unreachable,
    fcntl: unreachable,
    memfdCreate: unreachable,
    pageSize: 4096,
  } as NativeBinding;
}

function withFake(res: number, fn: (calls: number[][]) => void): void {
  const calls: number[][] = [];
  const prev = setNativeBinding(failingBinding(res, calls));
  try {
    fn(calls);
  } finally {
    setNativeBinding(prev);
  }
}

function sysctl(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/io_uring_disabled', 'utf8').trim();
  } catch {
    return undefined;
  }
}

const CASES: readonly { errno: string; res: number; why: RegExp; todo: RegExp }[] = [
  { errno: 'ENOSYS', res: -38, why: /not available|no io_uring_setup/i, todo: /Linux 5\.1|CONFIG_IO_URING/ },
  {
    errno: 'EPERM',
    res: -1,
    // The advice depends on the real sysctl: disabled, restricted, or (0) a seccomp profile.
    why: sysctl() === '2' ? /disabled/ : sysctl() === '1' ? /restricted/ : /blocked|seccomp/i,
    todo: /sysctl|profile that allows io_uring_setup/,
  },
  { errno: 'ENOMEM', res: -12, why: /could not allocate|locked-memory/i, todo: /ulimit -l|LimitMEMLOCK|fewer entries/ },
];

for (const c of CASES) {
  test(`setup failing with ${c.errno}: ERR_URING_UNAVAILABLE saying why and what to do`, () => {
    withFake(c.res, (calls) => {
      let thrown: unknown;
      try {
        new Ring(64);
      } catch (err) {
        thrown = err;
      }
      assert.ok(thrown instanceof UringUnavailableError, `threw ${String(thrown)}`);
      assert.ok(thrown instanceof Error);
      assert.equal(thrown.code, 'ERR_URING_UNAVAILABLE');
      assert.equal(thrown.errno, c.res);
      assert.match(thrown.message, new RegExp(c.errno), 'the message names the errno');
      assert.match(thrown.message, c.why);
      assert.match(thrown.message, c.todo);
      assert.match(String(thrown), /ERR_URING_UNAVAILABLE/);
      assert.ok(calls.length >= 1 && calls.every(([entries]) => entries === 64));
    });
  });
}

test('an unrelated setup error is a plain system error, not ERR_URING_UNAVAILABLE', () => {
  withFake(-24, () => {
    assert.throws(
      () => new Ring(8),
      (err: Error & { code?: string; syscall?: string }) => {
        assert.equal(err.code, 'EMFILE');
        assert.equal(err.syscall, 'io_uring_setup');
        return true;
      },
    );
  });
});

test('EINVAL with NO_SQARRAY retries without it (an older kernel), then reports EINVAL', () => {
  withFake(-22, (calls) => {
    assert.throws(() => new Ring(8, { flags: 0x100 }), { code: 'EINVAL' });
    assert.equal(calls.length, 2);
    assert.equal(calls[0]![1], 0x100 | (1 << 16), 'first try adds NO_SQARRAY');
    assert.equal(calls[1]![1], 0x100, 'second try is exactly what was asked');
  });
});

test('the real binding is back after the fakes', (t) => {
  setNativeBinding(undefined);
  assert.equal(typeof native().setup, 'function');
  const ring = new Ring(4);
  t.after(() => ring.close());
  ring.getSqe()!.prepNop();
  assert.equal(ring.submitAndWait(1), 1);
  assert.equal(ring.peekCqe()!.res, 0);
});
