// src/errors.ts's classes for node's own codes against node's own errors for
// them, made by node itself in a child (--expose-internals: node builds these
// from its internal table). Provoked side by side where the API can be
// (test/net/error-shapes.test.ts, test/fs/10.errors.test.ts); this covers
// every class, including the ones no test can provoke cheaply.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { setTimeout } from 'node:timers/promises';
import * as E from '../src/errors.js';

/** [code, node's arguments, uring's error]. */
const cases: [string, unknown[], Error][] = [
  ['ERR_SOCKET_CLOSED', [], new E.SocketClosedError()],
  ['ERR_SOCKET_CLOSED_BEFORE_CONNECTION', [], new E.SocketClosedBeforeConnectionError()],
  ['ERR_SERVER_ALREADY_LISTEN', [], new E.ServerAlreadyListenError()],
  ['ERR_SERVER_NOT_RUNNING', [], new E.ServerNotRunningError()],
  ['ERR_STREAM_WRITE_AFTER_END', [], new E.StreamWriteAfterEndError()],
  ['ERR_INVALID_STATE', ['The FileHandle is closed'], new E.InvalidStateError('The FileHandle is closed')],
  ['ERR_FS_FILE_TOO_LARGE', [3221225472], new E.FileTooLargeError(3221225472)],
  ['ERR_MISSING_ARGS', [['options', 'port', 'path']], new E.MissingArgsError(['options', 'port', 'path'])],
  ['ERR_MISSING_ARGS', ['a', 'b'], new E.MissingArgsError('a', 'b')],
  ['ERR_MISSING_ARGS', ['a', ['b', 'c'], 'd'], new E.MissingArgsError('a', ['b', 'c'], 'd')],
  ['ERR_INVALID_ARG_TYPE', ['fd', 'number', 'x'], new E.InvalidArgTypeError('fd', 'of type number', 'x')],
  ['ERR_OUT_OF_RANGE', ['fd', '>= 0', -1], new E.OutOfRangeError('fd', '>= 0', -1)],
];

function shape(e: Error): Record<string, unknown> {
  const kind = e instanceof TypeError ? 'TypeError' : e instanceof RangeError ? 'RangeError' : 'Error';
  return {
    kind,
    name: e.name,
    code: (e as { code?: unknown }).code,
    message: e.message,
    string: String(e),
    keys: Object.keys(e),
  };
}

test("every error class for a node code: node's class, name, message, toString() and own keys", () => {
  const script = `
    const { codes } = require('internal/errors');
    const cases = JSON.parse(process.argv[1]);
    const out = cases.map(([code, args]) => {
      const e = new codes[code](...args);
      const kind = e instanceof TypeError ? 'TypeError' : e instanceof RangeError ? 'RangeError' : 'Error';
      return { kind, name: e.name, code: e.code, message: e.message, string: String(e), keys: Object.keys(e) };
    });
    process.stdout.write(JSON.stringify(out));`;
  const theirs = JSON.parse(
    execFileSync(
      process.execPath,
      ['--expose-internals', '-e', script, JSON.stringify(cases.map(([c, a]) => [c, a]))],
      { encoding: 'utf8' },
    ),
  ) as Record<string, unknown>[];
  cases.forEach(([code], i) => assert.deepEqual(shape(cases[i]![2]), theirs[i], code));
});

test('the errors node builds by hand: EPIPE after the peer ended, EBADF on a closed FileHandle, AbortError', async () => {
  // node:net's and node:fs/promises' own plain Errors with a code (no [CODE] in toString()).
  assert.deepEqual(shape(new E.SocketEndedError()), {
    kind: 'Error',
    name: 'Error',
    code: 'EPIPE',
    message: 'This socket has been ended by the other party',
    string: 'Error: This socket has been ended by the other party',
    keys: ['code'],
  });
  const closed = new E.FileClosedError('read');
  assert.deepEqual(
    { ...shape(closed), syscall: closed.syscall },
    {
      kind: 'Error',
      name: 'Error',
      code: 'EBADF',
      message: 'file closed',
      string: 'Error: file closed',
      keys: ['code', 'syscall'],
      syscall: 'read',
    },
  );
  // One AbortError: abortError(signal) makes it, the reason as its cause, shaped as node's own.
  const ac = new AbortController();
  ac.abort('why');
  const theirs = await setTimeout(1, undefined, { signal: ac.signal }).then(
    () => assert.fail('resolved'),
    (e: Error) => e,
  );
  const ours = E.abortError(ac.signal);
  assert.ok(ours instanceof E.AbortError);
  assert.deepEqual(shape(ours), shape(theirs));
  assert.equal(ours.cause, theirs.cause);
});

test("SystemFailureError: ERR_SYSTEM_ERROR named SystemError, as node's", () => {
  const e = new E.SystemFailureError('write failed');
  assert.deepEqual(shape(e), {
    kind: 'Error',
    name: 'SystemError',
    code: 'ERR_SYSTEM_ERROR',
    message: 'A system error occurred: write failed',
    string: 'SystemError [ERR_SYSTEM_ERROR]: A system error occurred: write failed',
    keys: ['code'],
  });
});
