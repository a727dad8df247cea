// The argument checks every layer shares: node's validators, with node's
// codes and messages. Not exported from the package: uring's functions use
// them; users see only the errors (src/errors.ts).
import { InvalidArgTypeError, OutOfRangeError } from './errors.js';

/** node's validateInteger: a number (ERR_INVALID_ARG_TYPE), an integer within [min, max] (ERR_OUT_OF_RANGE). */
export function validateInteger(
  v: unknown,
  name: string,
  min = Number.MIN_SAFE_INTEGER,
  max = Number.MAX_SAFE_INTEGER,
): asserts v is number {
  if (typeof v !== 'number') throw new InvalidArgTypeError(name, 'of type number', v);
  if (!Number.isInteger(v)) throw new OutOfRangeError(name, 'an integer', v);
  if (v < min || v > max) throw new OutOfRangeError(name, `>= ${min} && <= ${max}`, v);
}

/** A number or bigint integer within [min, max] (bigints compared exactly): what a 64-bit field takes. */
export function validateInt64(v: unknown, name: string, min: bigint, max: bigint): asserts v is number | bigint {
  if (typeof v === 'bigint') {
    if (v < min || v > max) throw new OutOfRangeError(name, `>= ${min} && <= ${max}`, v);
    return;
  }
  if (typeof v !== 'number') throw new InvalidArgTypeError(name, 'of type number or bigint', v);
  // A number beyond 2 ** 53 is not the integer the caller wrote.
  if (!Number.isInteger(v)) throw new OutOfRangeError(name, 'an integer', v);
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    const lo = min > BigInt(Number.MIN_SAFE_INTEGER) ? min : Number.MIN_SAFE_INTEGER;
    const hi = max < BigInt(Number.MAX_SAFE_INTEGER) ? max : Number.MAX_SAFE_INTEGER;
    throw new OutOfRangeError(name, `>= ${lo} && <= ${hi}`, v);
  }
}

export function validateFunction(v: unknown, name: string): asserts v is Function {
  if (typeof v !== 'function') throw new InvalidArgTypeError(name, 'of type function', v);
}

export function validateObject<T>(v: T, name: string): asserts v is T & object {
  if (v === null || typeof v !== 'object') throw new InvalidArgTypeError(name, 'of type object', v);
}

export function validateBoolean(v: unknown, name: string): asserts v is boolean {
  if (typeof v !== 'boolean') throw new InvalidArgTypeError(name, 'of type boolean', v);
}
