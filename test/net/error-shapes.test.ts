// The errors the node-shaped net API makes for its own state (not the
// kernel's), each provoked in node:net and in uring/net side by side: the
// same class of Error, name, code, message, toString() (`Error [CODE]:
// message`) and own keys. One error class per code lives in src/errors.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as nodeNet from 'node:net';
import * as uringNet from '../../src/net/index.js';
import { AbortError, ServerNotRunningError, SocketClosedError } from '../../src/errors.js';
import { hangingPort, listening, closeServer, portOf } from './util.js';
import { within } from '../helpers/wait.js';

type Net = typeof nodeNet;

/** What the tests compare of an error: everything a caller can see but the stack. */
function shape(e: unknown): Record<string, unknown> {
  const err = e as Error & { code?: unknown };
  return {
    kind:
      err instanceof TypeError
        ? 'TypeError'
        : err instanceof RangeError
          ? 'RangeError'
          : err instanceof Error
            ? 'Error'
            : typeof e,
    name: err.name,
    code: err.code,
    message: err.message,
    string: String(err),
    keys: Object.keys(err).sort(),
  };
}

/** Runs `provoke` with node:net and with uring/net; their error shapes must be equal. Returns uring's error. */
async function sideBySide(
  what: string,
  provoke: (net: Net) => Promise<unknown>,
  expected?: Record<string, unknown>,
): Promise<unknown> {
  const [theirs, ours] = [await provoke(nodeNet), await provoke(uringNet as unknown as Net)];
  if (expected) assert.deepEqual(shape(theirs), { ...shape(theirs), ...expected }, `${what}: node's`);
  assert.deepEqual(shape(ours), shape(theirs), what);
  return ours;
}

test("a socket never connected: write() fails with ERR_SOCKET_CLOSED 'Socket is closed', as node:net's", async () => {
  const ours = await sideBySide(
    'write on a new Socket',
    async (net) => {
      const s = new net.Socket();
      s.on('error', () => {});
      const err = await within(new Promise((resolve) => s.write('x', resolve)), 2000, 'the write callback');
      s.destroy();
      return err;
    },
    {
      name: 'Error',
      code: 'ERR_SOCKET_CLOSED',
      message: 'Socket is closed',
      string: 'Error [ERR_SOCKET_CLOSED]: Socket is closed',
      keys: ['code'],
    },
  );
  assert.ok(ours instanceof SocketClosedError);
});

test("a socket never connected: resetAndDestroy() emits ERR_SOCKET_CLOSED 'Socket is closed', as node:net's", async () => {
  await sideBySide(
    'resetAndDestroy on a new Socket',
    async (net) => {
      const s = new net.Socket();
      const [err] = await within(once(s.resetAndDestroy(), 'error'), 2000, "the 'error'");
      return err;
    },
    { code: 'ERR_SOCKET_CLOSED', message: 'Socket is closed' },
  );
});

test("destroy() while connecting: the waiting write gets ERR_SOCKET_CLOSED_BEFORE_CONNECTION, shaped as node:net's", async () => {
  const hang = await hangingPort();
  try {
    await sideBySide(
      'a write waiting for the connection',
      async (net) => {
        const s = net.connect(hang.port, '127.0.0.1');
        s.on('error', () => {});
        const err = new Promise((resolve) => s.write('x', resolve));
        s.destroy();
        return within(err, 2000, 'the write callback');
      },
      {
        code: 'ERR_SOCKET_CLOSED_BEFORE_CONNECTION',
        string: 'Error [ERR_SOCKET_CLOSED_BEFORE_CONNECTION]: Socket closed before the connection was established',
      },
    );
  } finally {
    await hang.close();
  }
});

test("a connect signal: the AbortError is an AbortError (class, name, code, cause, keys) as node:net's", async () => {
  const hang = await hangingPort();
  try {
    for (const preAborted of [true, false]) {
      const causes: unknown[] = [];
      const ours = await sideBySide(
        `connect({ signal }) ${preAborted ? 'already aborted' : 'aborted while connecting'}`,
        async (net) => {
          const ac = new AbortController();
          const reason = new Error('stop');
          if (preAborted) ac.abort(reason);
          const s = net.connect({ port: hang.port, host: '127.0.0.1', signal: ac.signal });
          const error = once(s, 'error');
          if (!preAborted) ac.abort(reason);
          const [err] = await within(error, 2000, "the 'error'");
          causes.push((err as Error).cause === reason);
          assert.equal((err as Error).constructor.name, 'AbortError');
          return err;
        },
        {
          name: 'AbortError',
          code: 'ABORT_ERR',
          string: 'AbortError: The operation was aborted',
          keys: ['code', 'name'],
        },
      );
      assert.ok(ours instanceof AbortError, 'uring/net uses the one AbortError class');
      assert.deepEqual(causes, [true, true], "cause is the signal's reason");
    }
  } finally {
    await hang.close();
  }
});

test("Server: close(cb) when not listening and listen() twice: ERR_SERVER_NOT_RUNNING and ERR_SERVER_ALREADY_LISTEN, as node:net's", async () => {
  const ours = await sideBySide(
    'close(cb) on a server never listening',
    (net) => new Promise((resolve) => net.createServer().close(resolve)),
    {
      code: 'ERR_SERVER_NOT_RUNNING',
      string: 'Error [ERR_SERVER_NOT_RUNNING]: Server is not running.',
      keys: ['code'],
    },
  );
  assert.ok(ours instanceof ServerNotRunningError);
  await sideBySide(
    'listen() twice',
    async (net) => {
      const server = await listening(net.createServer(), 0, '127.0.0.1');
      try {
        assert.ok(portOf(server) > 0);
        server.listen(0, '127.0.0.1');
        assert.fail('listen() twice did not throw');
      } catch (e) {
        return e;
      } finally {
        await closeServer(server);
      }
    },
    { code: 'ERR_SERVER_ALREADY_LISTEN', message: 'Listen method has been called more than once without closing.' },
  );
});

test("bad connect() arguments: ERR_MISSING_ARGS, ERR_SOCKET_BAD_PORT, ERR_INVALID_ARG_TYPE show their code in toString(), as node:net's", async () => {
  const thrown = (fn: () => unknown) => async () => {
    try {
      fn();
    } catch (e) {
      return e;
    }
    assert.fail('did not throw');
  };
  await sideBySide('connect({})', (net) => thrown(() => net.connect({} as never))(), {
    kind: 'TypeError',
    code: 'ERR_MISSING_ARGS',
    string: 'TypeError [ERR_MISSING_ARGS]: The "options" or "port" or "path" argument must be specified',
  });
  await sideBySide('connect({ port: 70000 })', (net) => thrown(() => net.connect({ port: 70000 }))(), {
    kind: 'RangeError',
    code: 'ERR_SOCKET_BAD_PORT',
  });
  await sideBySide('new Socket({ signal: "x" })', (net) => thrown(() => new net.Socket({ signal: 'x' } as never))(), {
    kind: 'TypeError',
    code: 'ERR_INVALID_ARG_TYPE',
  });
});
