// The ring setups users run, for suites that must hold under each of them:
//   default        what new Runtime() picks (SINGLE_ISSUER|COOP_TASKRUN|TASKRUN_FLAG
//                  where the kernel has them): completions wake the ring fd's poll;
//   DEFER_TASKRUN  SINGLE_ISSUER|DEFER_TASKRUN: completions wait for our next
//                  enter, and the runtime is woken through a registered eventfd;
//   SQPOLL         a kernel thread takes SQEs as soon as the tail covers them
//                  (idle 10 ms, so it also goes to sleep and is woken within a test).
//
// forEachSetup(body) declares body's tests once per setup, in a describe
// named after it, skipped with the kernel's reason where it refuses the
// flags. Inside, s.runtime(options) makes a Runtime of that setup, and the
// thread's default runtime (getRuntime(), what ops use without a `runtime`
// option) is one of that setup for every test.
import { after, beforeEach, describe } from 'node:test';
import { Ring } from '../../src/ring/ring.js';
import * as U from '../../src/ring/uapi.js';
import { Runtime, setRuntime, type RuntimeOptions } from '../../src/runtime/runtime.js';

export interface Setup {
  readonly name: string;
  /** IORING_SETUP_* flags; undefined for the runtime's own default. */
  readonly flags: number | undefined;
  /** Ring options besides the flags. */
  readonly ring?: RuntimeOptions['ring'];
  /** A Runtime of this setup; `options` as for new Runtime() (its flags and ring options win over the setup's). */
  runtime(options?: RuntimeOptions): Runtime;
  /**
   * How many rounds a volume test runs here, for `n` under the default
   * setup: the other setups run the same paths a fifth as often, so the
   * matrix costs the suite seconds, not minutes.
   */
  count(n: number): number;
}

function setup(name: string, flags: number | undefined, ring?: RuntimeOptions['ring']): Setup {
  return {
    name,
    flags,
    ring,
    runtime(options = {}) {
      const o: RuntimeOptions = { ...options };
      if (flags !== undefined && o.flags === undefined) o.flags = flags;
      if (ring !== undefined) o.ring = { ...ring, ...o.ring };
      const rt = new Runtime(o);
      made.set(rt, this);
      return rt;
    },
    count(n) {
      return flags === undefined ? n : Math.ceil(n / 5);
    },
  };
}

/** Which setup made a runtime (to tell a setup's default runtime from another's). */
const made = new WeakMap<Runtime, Setup>();

export const DEFAULT = setup('default', undefined);
export const DEFER_TASKRUN = setup('DEFER_TASKRUN', U.IORING_SETUP_SINGLE_ISSUER | U.IORING_SETUP_DEFER_TASKRUN);
export const SQPOLL = setup('SQPOLL', U.IORING_SETUP_SQPOLL, { sqThreadIdle: 10 });
export const SETUPS: readonly Setup[] = [DEFAULT, DEFER_TASKRUN, SQPOLL];

const refusals = new Map<Setup, string | false>();

/** Why the kernel refuses this setup (its error), or false where it accepts it. */
export function refused(s: Setup): string | false {
  let r = refusals.get(s);
  if (r === undefined) {
    try {
      new Ring(4, { ...s.ring, flags: s.flags ?? 0 }).close();
      r = false;
    } catch (err) {
      r = `the kernel refuses ${s.name} (flags 0x${(s.flags ?? 0).toString(16)}): ${(err as Error).message}`;
    }
    refusals.set(s, r);
  }
  return r;
}

/**
 * Makes the thread's default runtime one of `s` (unless it already is and is
 * open): a default runtime another setup made is closed, and one the
 * runtime made itself is kept for the default setup.
 */
function useDefaultRuntime(s: Setup): void {
  const cur = setRuntime(undefined);
  const owner = cur && !cur.closed ? (made.get(cur) ?? DEFAULT) : undefined;
  if (cur && owner === s) {
    setRuntime(cur);
    return;
  }
  if (cur && !cur.closed) void cur.close();
  // The default setup's default runtime is made by getRuntime() when first needed.
  if (s !== DEFAULT) setRuntime(s.runtime());
}

/**
 * Declares `body`'s tests once per setup (each in a describe named
 * `[setup]`), skipped where the kernel refuses the setup. `setups` narrows
 * the list.
 */
export function forEachSetup(body: (s: Setup) => void, setups: readonly Setup[] = SETUPS): void {
  for (const s of setups) {
    const why = refused(s);
    describe(`[${s.name}]`, why ? { skip: why } : {}, () => {
      beforeEach(() => useDefaultRuntime(s));
      after(async () => {
        const cur = setRuntime(undefined);
        if (cur && made.get(cur) === s) await cur.close();
        else setRuntime(cur);
      });
      body(s);
    });
  }
}
