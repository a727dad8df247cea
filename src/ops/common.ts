// What every op function shares: option validation, buffer checks, and
// handing the op to a runtime.
import { InvalidArgTypeError, InvalidArgValueError, OutOfRangeError, UringBufferDetachedError } from '../errors.js';
import { isDetached, isKnownFixedBuffer, knownAddress, viewAddress } from '../ring/structs.js';
import type { Op, OpOptions } from '../runtime/op.js';
import { getRuntime, validateRuntime, type Runtime } from '../runtime/runtime.js';
import { ECANCELED } from '../errno.js';

export interface RunOptions extends OpOptions {
  /** The runtime to use (default: this thread's). */
  runtime?: Runtime | undefined;
}

export function validateOptions(options: RunOptions | undefined): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object')
    throw new InvalidArgTypeError('options', 'of type object', options);
  const { signal, timeout, runtime } = options;
  if (runtime !== undefined) validateRuntime(runtime);
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw new InvalidArgTypeError('options.signal', 'an instance of AbortSignal', signal);
  if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout > 0) || !Number.isFinite(timeout))) {
    throw new OutOfRangeError('options.timeout', 'a finite number > 0', timeout);
  }
}

/** Applies signal/timeout to `op` and submits it to the runtime. */
export function run<O extends Op>(op: O, options: RunOptions | undefined): O {
  if (options !== undefined) {
    validateOptions(options);
    // Only when given: these default on Op's prototype, and storing even
    // undefined would add a property to every op after its construction.
    if (options.signal !== undefined) op.signal = options.signal;
    if (options.timeout !== undefined) op.timeoutMs = options.timeout;
    (options.runtime ?? getRuntime()).submit(op);
  } else {
    getRuntime().submit(op);
  }
  return op;
}

export function validateFd(fd: unknown, name = 'fd'): asserts fd is number {
  if (typeof fd !== 'number') throw new InvalidArgTypeError(name, 'of type number', fd);
  if (!Number.isInteger(fd)) throw new OutOfRangeError(name, 'an integer', fd);
  if (fd < 0 || fd > 0x7fffffff) throw new OutOfRangeError(name, '>= 0 && <= 2147483647', fd);
}

/**
 * A buffer the kernel may write into (or read from) until the op's last
 * CQE. The op keeps it referenced for that long; what we refuse here is
 * memory that could move or shrink under the kernel: resizable ArrayBuffers
 * and growable SharedArrayBuffers.
 */
export function validateBuffer(buf: unknown, name = 'buffer'): asserts buf is ArrayBufferView {
  if (!ArrayBuffer.isView(buf))
    throw new InvalidArgTypeError(name, 'an instance of Buffer, TypedArray, or DataView', buf);
  // A buffer an op has used before: the checks below passed then, and only
  // detaching can change their answer (which isKnownFixedBuffer sees).
  if (isKnownFixedBuffer(buf.buffer)) return;
  const ab = buf.buffer as ArrayBuffer & { resizable?: boolean; growable?: boolean; detached?: boolean };
  if (ab.resizable || ab.growable)
    throw new InvalidArgValueError(
      name,
      buf,
      'must not be backed by a resizable or growable buffer (the kernel may still be using it)',
    );
  if (isDetached(ab)) throw new InvalidArgValueError(name, buf, 'must not be a detached ArrayBuffer');
}

/**
 * validateBuffer, and the address of the view's first byte: for a buffer
 * seen before, both from one look at its cached base.
 */
export function bufferAddress(buf: unknown, name = 'buffer'): number {
  if (!ArrayBuffer.isView(buf))
    throw new InvalidArgTypeError(name, 'an instance of Buffer, TypedArray, or DataView', buf);
  const a = knownAddress(buf);
  if (a >= 0) return a;
  validateBuffer(buf, name);
  return viewAddress(buf, name);
}

// Transfers under the kernel. A buffer handed to the kernel is kept
// referenced until the op's last CQE, but a reference holds the JS object,
// not its memory: postMessage/structuredClone with `transfer` (or
// ArrayBuffer.prototype.transfer) moves the memory to a new ArrayBuffer and
// detaches the old one, and once the new one is collected the memory is
// freed while the kernel may still write into it. Node-API has no way to
// keep the memory alive or to refuse the transfer for a while (marking a
// buffer untransferable is permanent), so for the caller's own buffers the
// most the ops can do is see it afterwards: a buffer that was not empty when
// the op started and is detached when its CQE arrives. The op then fails
// with ERR_URING_BUFFER_DETACHED, the first time a process warning says
// what happened, and every time it is counted. The runtime's own buffers
// that callers get to see while the kernel still uses them (receive slabs,
// forEachFile's lane buffers) are marked untransferable instead.
let detachedCount = 0;
let warned = false;

/**
 * For an op its caller gave up on (aborted): whether a CQE with `res` may
 * have moved bytes. A read or write that was cancelled touched nothing.
 */
export function mayHaveMoved(res: number): boolean {
  return res !== -ECANCELED;
}

/** How many ops found their buffer detached (transferred away) at completion, in this thread. */
export function detachedBufferCount(): number {
  return detachedCount;
}

/**
 * True when `v`, a buffer an op handed the kernel, has been detached since.
 * A typed array reads length 0 once detached: for one that is not, a
 * single load (`length`: byteLength and `instanceof DataView` cost several
 * ns on a Buffer in node 20). A DataView has no length and asks its buffer.
 */
export function viewDetached(v: ArrayBufferView): boolean {
  const n = (v as { length?: unknown }).length;
  if (n !== 0 && n !== undefined) return false;
  return isDetached(v.buffer);
}

/**
 * Records an op whose buffer was detached under the kernel (counted, and
 * warned of once per thread) and returns the error the op fails with.
 */
export function detachedBuffer(syscall: string, res: number): UringBufferDetachedError {
  detachedCount++;
  const err = new UringBufferDetachedError(syscall, res);
  if (!warned) {
    warned = true;
    process.emitWarning(
      `A buffer was transferred (postMessage/structuredClone) while a ${syscall} on the ring was using it: the kernel wrote into or read memory that may have been freed and reused. Further cases are counted (detachedBufferCount()) without a warning`,
      { type: 'UringWarning', code: 'URING_BUFFER_DETACHED' },
    );
  }
  return err;
}
