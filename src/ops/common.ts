// What every op function shares: option validation, buffer checks, and
// handing the op to a runtime.
import { InvalidArgTypeError, InvalidArgValueError, OutOfRangeError } from '../errors.js';
import { isDetached, isKnownFixedBuffer, knownAddress, viewAddress } from '../ring/structs.js';
import type { Op, OpOptions } from '../runtime/op.js';
import { getRuntime, validateRuntime, type Runtime } from '../runtime/runtime.js';

export interface RunOptions extends OpOptions {
  /** The runtime to use (default: this thread's). */
  runtime?: Runtime | undefined;
}

export function validateOptions(options: RunOptions | undefined): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object') throw new InvalidArgTypeError('options', 'of type object', options);
  const { signal, timeout, runtime } = options;
  if (runtime !== undefined) validateRuntime(runtime);
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new InvalidArgTypeError('options.signal', 'an instance of AbortSignal', signal);
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
  if (!ArrayBuffer.isView(buf)) throw new InvalidArgTypeError(name, 'an instance of Buffer, TypedArray, or DataView', buf);
  // A buffer an op has used before: the checks below passed then, and only
  // detaching can change their answer (which isKnownFixedBuffer sees).
  if (isKnownFixedBuffer(buf.buffer)) return;
  const ab = buf.buffer as ArrayBuffer & { resizable?: boolean; growable?: boolean; detached?: boolean };
  if (ab.resizable || ab.growable) throw new InvalidArgValueError(name, buf, 'must not be backed by a resizable or growable buffer (the kernel may still be using it)');
  if (isDetached(ab)) throw new InvalidArgValueError(name, buf, 'must not be a detached ArrayBuffer');
}


/**
 * validateBuffer, and the address of the view's first byte: for a buffer
 * seen before, both from one look at its cached base.
 */
export function bufferAddress(buf: unknown, name = 'buffer'): number {
  if (!ArrayBuffer.isView(buf)) throw new InvalidArgTypeError(name, 'an instance of Buffer, TypedArray, or DataView', buf);
  const a = knownAddress(buf);
  if (a >= 0) return a;
  validateBuffer(buf, name);
  return viewAddress(buf, name);
}
