// The path functions, node's against uring's: encodings, abort, mkdir's
// return values, rename over what exists, truncate, writeFile's data forms,
// appendFile, copyFile (contents, mode, onto itself), access.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { setImmediate as immediate } from 'node:timers/promises';
import { chmodSync, constants, linkSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { attempt, asRecord, differential, impls, makeRoot } from './harness.js';

const { COPYFILE_EXCL, F_OK, R_OK, W_OK, X_OK } = constants;
// Every byte value, and text with 1-4 byte UTF-8 sequences.
const BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const TEXT = 'plain ascii, é ñ ü, ✓ →, 𝄞 😀, end';

test('encodings: writeFile and readFile with utf8, hex, base64, base64url, latin1, ucs2, ascii (option object and string)', async () => {
  const { node } = await differential(async ({ fs, path }) => {
    const out: Record<string, unknown> = {};
    await fs.writeFile(path('bytes'), BYTES);
    await fs.writeFile(path('text'), TEXT);
    for (const enc of [
      'utf8',
      'utf-8',
      'hex',
      'base64',
      'base64url',
      'latin1',
      'binary',
      'ucs2',
      'utf16le',
      'ascii',
    ] as const) {
      out[`read bytes ${enc}`] = await fs.readFile(path('bytes'), enc);
      out[`read bytes {${enc}}`] = await fs.readFile(path('bytes'), { encoding: enc });
      out[`read text ${enc}`] = await fs.readFile(path('text'), enc);
      await fs.writeFile(path(`w-${enc}`), String(out[`read bytes ${enc}`]), enc);
      await fs.writeFile(path(`wo-${enc}`), String(out[`read text ${enc}`]), { encoding: enc });
      await fs.appendFile(path(`a-${enc}`), 'Zm9v', enc);
    }
    out.upperCaseEncoding = await attempt(() => fs.readFile(path('text'), 'UTF8' as BufferEncoding));
    out.nullEncoding = await fs.readFile(path('text'), { encoding: null });
    out.badEncoding = await attempt(() => fs.readFile(path('text'), 'nope' as BufferEncoding));
    out.badEncodingObject = await attempt(() => fs.readFile(path('text'), { encoding: 'nope' as BufferEncoding }));
    out.badOptions = await attempt(() => fs.readFile(path('text'), 42 as unknown as BufferEncoding));
    out.badWriteOptions = await attempt(() => fs.writeFile(path('text'), 'x', 42 as unknown as BufferEncoding));
    out.badWriteEncoding = await attempt(() => fs.writeFile(path('bad'), 'x', 'nope' as BufferEncoding));
    out.oddHex = await attempt(() => fs.writeFile(path('oddhex'), 'abc', 'hex'));
    // Invalid UTF-8 decodes to U+FFFD in both.
    await fs.writeFile(path('invalid'), Buffer.from([0x61, 0xff, 0xfe, 0xc3, 0x28, 0xe2, 0x82, 0x62]));
    out.invalidUtf8 = await fs.readFile(path('invalid'), 'utf8');
    // A multi-byte character split by the 64 KiB read chunking of an unknown-size read.
    return out;
  });
  const r = asRecord(node);
  assert.equal(r['read text utf8'], TEXT);
  assert.equal(r['read bytes hex'], BYTES.toString('hex'));
  assert.equal(r.badEncoding.error.code, 'ERR_INVALID_ARG_VALUE');
});

test('AbortSignal already aborted: every function that takes a signal rejects with AbortError ABORT_ERR', async () => {
  const { node } = await differential(
    async ({ fs, path }) => {
      const ac = new AbortController();
      ac.abort();
      const reason = new AbortController();
      reason.abort(new Error('custom reason'));
      const signal = ac.signal;
      const fh = await fs.open(path('f'), 'r+');
      try {
        return {
          readFile: await attempt(() => fs.readFile(path('f'), { signal })),
          readFileMissing: await attempt(() => fs.readFile(path('missing'), { signal })),
          readFileUtf8: await attempt(() => fs.readFile(path('f'), { signal, encoding: 'utf8' })),
          readFileReason: await attempt(() => fs.readFile(path('f'), { signal: reason.signal })),
          writeFile: await attempt(() => fs.writeFile(path('f'), 'new', { signal })),
          writeFileNew: await attempt(() => fs.writeFile(path('new'), 'new', { signal })),
          writeFileIterable: await attempt(() => fs.writeFile(path('f'), ['a', 'b'], { signal })),
          appendFile: await attempt(() => fs.appendFile(path('f'), 'more', { signal } as unknown as BufferEncoding)),
          handleReadFile: await attempt(() => fh.readFile({ signal })),
          handleWriteFile: await attempt(() => fh.writeFile('x', { signal } as unknown as BufferEncoding)),
          readFileHandle: await attempt(() => fs.readFile(fh, { signal })),
          badSignal: await attempt(() => fs.readFile(path('f'), { signal: 'nope' as unknown as AbortSignal })),
        };
      } finally {
        await fh.close();
      }
    },
    { setup: (root) => writeFileSync(`${root}/f`, 'data') },
  );
  const r = asRecord(node);
  for (const k of Object.keys(r).filter((k) => k !== 'badSignal')) {
    assert.equal(r[k].error?.error, 'AbortError', k);
    assert.equal(r[k].error.code, 'ABORT_ERR', k);
  }
  assert.equal(r.readFileReason.error.cause.message, 'custom reason');
});

test(
  'abort during readFile of a FIFO whose writer has not finished; abort right after the call; abort while writing an iterable',
  { timeout: 30_000 },
  async () => {
    const { node } = await differential(
      async ({ fs, path }) => {
        const out: Record<string, unknown> = {};
        // A FIFO held open for writing, with some data in it: the read waits in the kernel.
        const { execFileSync } = await import('node:child_process');
        const { openSync, closeSync, writeSync, constants: c } = await import('node:fs');
        execFileSync('mkfifo', [path('fifo')]);
        const wfd = openSync(path('fifo'), c.O_RDWR | c.O_NONBLOCK);
        try {
          writeSync(wfd, 'partial');
          const ac = new AbortController();
          const p = fs.readFile(path('fifo'), { signal: ac.signal });
          // Abort while the second read waits. node cannot cancel a read in its thread pool:
          // it notices the abort only when that read returns, so data comes 100 ms later.
          const more = new Promise<void>((resolve) =>
            setTimeout(() => {
              ac.abort();
              setTimeout(() => {
                writeSync(wfd, 'more');
                resolve();
              }, 100);
            }, 50),
          );
          out.fifo = await attempt(() => p);
          await more;
        } finally {
          closeSync(wfd);
        }
        // Aborted synchronously, right after the call: the open is in flight.
        const ac2 = new AbortController();
        const p2 = fs.readFile(path('big'), { signal: ac2.signal });
        ac2.abort();
        out.sync = await attempt(() => p2);
        // Aborted while writing an async iterable: chunks before it are written, none after.
        const ac3 = new AbortController();
        async function* chunks() {
          yield 'one,';
          yield 'two,';
          ac3.abort();
          yield 'three';
        }
        out.writeIterable = await attempt(() => fs.writeFile(path('partial'), chunks(), { signal: ac3.signal }));
        // The process still reads files after all that (no fd or ring state left behind).
        out.after = await fs.readFile(path('small'), 'utf8');
        return out;
      },
      {
        setup: (root) => {
          writeFileSync(`${root}/big`, Buffer.alloc(8 << 20, 'x'));
          writeFileSync(`${root}/small`, 'small');
        },
      },
    );
    const r = asRecord(node);
    for (const k of ['fifo', 'sync', 'writeIterable']) assert.equal(r[k].error?.code, 'ABORT_ERR', k);
    assert.equal(r.after, 'small');
  },
);

test(
  'abort one event-loop turn into readFile of a 64 MiB file: AbortError, or (uring, pages cached) the whole file',
  { timeout: 30_000 },
  async (t) => {
    const root = makeRoot('abort');
    try {
      const big = `${root}/big`;
      const data = Buffer.alloc(64 << 20);
      for (let i = 0; i < data.length; i += 4096) data.writeUInt32LE(i, i);
      writeFileSync(big, data);
      for (const name of ['node', 'uring'] as const) {
        // Drop the file's pages so the read has to wait for the disk (GNU dd; harmless if it cannot).
        spawnSync('dd', [`if=${big}`, 'iflag=nocache', 'count=0', 'status=none']);
        const ac = new AbortController();
        const p = impls[name].readFile(big, { signal: ac.signal });
        await immediate();
        ac.abort();
        const out = await attempt(() => p);
        if ('error' in out) {
          const e = out.error as { name?: string; code?: string; cause?: unknown };
          assert.equal(e.name, 'AbortError', `${name}: ${String(out.error)}`);
          assert.equal(e.code, 'ABORT_ERR');
          assert.equal(e.cause, ac.signal.reason);
          t.diagnostic(`${name}: AbortError`);
        } else {
          // node reads 512 KiB per thread-pool round trip and always sees the abort. uring may have
          // read everything in the turn before it (open, fstat and one 64 MiB read from the page
          // cache complete inline in io_uring_enter): then it must be the whole file, intact.
          assert.equal(name, 'uring', 'node:fs/promises cannot finish 64 MiB in one turn');
          assert.ok((out.ok as Buffer).equals(data), 'the content read is the whole file');
          t.diagnostic(`${name}: completed before the abort (the file was read in one turn)`);
        }
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
);

test('mkdir: recursive return values (first directory created, or undefined), modes, relative paths', async () => {
  const { node } = await differential(
    async ({ fs, path, root }) => {
      const out: Record<string, unknown> = {
        plain: await attempt(() => fs.mkdir(path('p'))),
        recursiveNew: await attempt(() => fs.mkdir(path('a', 'b', 'c'), { recursive: true })),
        recursiveAgain: await attempt(() => fs.mkdir(path('a', 'b', 'c'), { recursive: true })),
        recursiveOneMore: await attempt(() => fs.mkdir(path('a', 'b', 'c', 'd'), { recursive: true })),
        recursiveExistingParent: await attempt(() => fs.mkdir(path('a', 'x'), { recursive: true })),
        recursiveTrailingSlash: await attempt(() => fs.mkdir(`${path('t1', 't2')}/`, { recursive: true })),
        recursiveDotDot: await attempt(() => fs.mkdir(path('a', '..', 'dd', 'e'), { recursive: true })),
        recursiveThroughSymlink: await attempt(() => fs.mkdir(path('lnk', 'sub'), { recursive: true })),
        recursiveOnSymlinkToDir: await attempt(() => fs.mkdir(path('lnk'), { recursive: true })),
        recursiveRoot: await attempt(() => fs.mkdir('/', { recursive: true })),
        mode700: await attempt(() => fs.mkdir(path('m700'), { mode: 0o700 })),
        modeNumber: await attempt(() => fs.mkdir(path('m750'), 0o750)),
        modeString: await attempt(() => fs.mkdir(path('m711'), '711')),
        recursiveMode: await attempt(() => fs.mkdir(path('rm', 'n'), { recursive: true, mode: 0o705 })),
        badMode: await attempt(() => fs.mkdir(path('bad'), { mode: 'rwx' as unknown as number })),
        recursiveFalse: await attempt(() => fs.mkdir(path('rf'), { recursive: false })),
        recursiveNotBoolean: await attempt(() => fs.mkdir(path('rnb'), { recursive: 'yes' as unknown as boolean })),
      };
      // Relative paths resolve against the working directory; recursive mkdir returns what node returns.
      const cwd = process.cwd();
      process.chdir(root);
      try {
        out.relative = await attempt(() => fs.mkdir('rel1'));
        out.relativeRecursive = await attempt(() => fs.mkdir('rel2/x/y', { recursive: true }));
        out.relativeDot = await attempt(() => fs.mkdir('./rel3/z', { recursive: true }));
      } finally {
        process.chdir(cwd);
      }
      return out;
    },
    {
      setup: (root) => {
        mkdirSync(`${root}/target`);
        symlinkSync('target', `${root}/lnk`);
      },
    },
  );
  const r = asRecord(node);
  assert.equal(r.recursiveNew.ok, '<root>/a');
  assert.equal(r.recursiveAgain.ok, undefined);
  assert.equal(r.recursiveOneMore.ok, '<root>/a/b/c/d');
});

test('rename: over an existing file, an empty dir over an empty dir, onto itself, across directories, hard links', async () => {
  await differential(
    async ({ fs, path }) => ({
      fileOverFile: await attempt(() => fs.rename(path('a'), path('b'))),
      onto: await attempt(() => fs.readFile(path('b'), 'utf8')),
      onItself: await attempt(() => fs.rename(path('b'), path('b'))),
      emptyDirOverEmptyDir: await attempt(() => fs.rename(path('d1'), path('d2'))),
      dirIntoOtherDir: await attempt(() => fs.rename(path('d2'), path('d3', 'moved'))),
      fileOverItsHardLink: await attempt(() => fs.rename(path('h1'), path('h2'))),
      symlinkOverFile: await attempt(() => fs.rename(path('sl'), path('c'))),
      fileOverSymlinkToDir: await attempt(() => fs.rename(path('c2'), path('sldir'))),
      buffersAndUrls: await attempt(() => fs.rename(Buffer.from(path('u1')), new URL(`file://${path('u2')}`))),
    }),
    {
      setup: (root) => {
        writeFileSync(`${root}/a`, 'from a');
        writeFileSync(`${root}/b`, 'old b');
        writeFileSync(`${root}/c`, 'c');
        writeFileSync(`${root}/c2`, 'c2');
        writeFileSync(`${root}/u1`, 'u');
        writeFileSync(`${root}/h1`, 'h');
        linkSync(`${root}/h1`, `${root}/h2`);
        symlinkSync('a', `${root}/sl`);
        mkdirSync(`${root}/d1`);
        mkdirSync(`${root}/d2`);
        mkdirSync(`${root}/d3`);
        symlinkSync('d3', `${root}/sldir`);
      },
    },
  );
});

test('truncate: to shorter, longer (zero-filled), 0, negative, invalid lengths', async () => {
  await differential(
    async ({ fs, path }) => {
      const out: unknown[] = [];
      for (const len of [10, 3, 12, 0, 4096 * 3 + 5, -1, undefined]) {
        out.push(await attempt(() => fs.truncate(path('f'), len)));
        out.push(await fs.readFile(path('f')));
        out.push(await fs.stat(path('f')));
      }
      out.push(await attempt(() => fs.truncate(path('f'), 1.5)));
      out.push(await attempt(() => fs.truncate(path('f'), '2' as unknown as number)));
      out.push(await attempt(() => fs.truncate(path('missing'), '2' as unknown as number)));
      return out;
    },
    { setup: (root) => writeFileSync(`${root}/f`, 'abcdefghijklmnop') },
  );
});

test('writeFile: strings, buffers, typed arrays, DataView, arrays, iterables, async iterables, streams; bad data', async () => {
  await differential(async ({ fs, path }) => {
    const w = (name: string, data: unknown, opts?: unknown) =>
      attempt(() => fs.writeFile(path(name), data as string, opts as BufferEncoding));
    const out: Record<string, unknown> = {
      string: await w('string', TEXT),
      buffer: await w('buffer', BYTES),
      uint16: await w('uint16', new Uint16Array([1, 2, 0xffff])),
      float64: await w('float64', new Float64Array([Math.PI])),
      dataView: await w('dataView', new DataView(BYTES.buffer, BYTES.byteOffset + 10, 5)),
      subarray: await w('subarray', BYTES.subarray(100, 110)),
      arrayOfStrings: await w('arrayOfStrings', ['a', 'b', 'c']),
      arrayOfBuffers: await w('arrayOfBuffers', [Buffer.from('x'), new Uint8Array([0x79]), Buffer.alloc(0)]),
      mixedArray: await w('mixedArray', ['text', Buffer.from('bytes')]),
      arrayHexEncoding: await w('arrayHex', ['6869', '21'], 'hex'),
      generator: await w(
        'generator',
        (function* () {
          yield 'g1';
          yield Buffer.from('g2');
        })(),
      ),
      asyncGenerator: await w(
        'asyncGenerator',
        (async function* () {
          yield 'a1';
          await immediate();
          yield 'a2';
        })(),
      ),
      set: await w('set', new Set(['s1', 's2'])),
      stream: await w('stream', Readable.from(['r1', 'r2', Buffer.from('r3')])),
      bigChunks: await w('bigChunks', [Buffer.alloc(1 << 20, 1), Buffer.alloc(700_000, 2)]),
      empty: await w('empty', ''),
      withMode: await w('withMode', 'm', { mode: 0o600 }),
      withFlagA: await w('string', '+appended', { flag: 'a' }),
      withFlush: await w('flush', 'f', { flush: true }),
      number: await w('number', 42),
      plainObject: await w('plainObject', { a: 1 }),
      nul: await w('nul', null),
      iterableOfNumbers: await w('iterableOfNumbers', [1, 2]),
      arrayBuffer: await w('arrayBuffer', new ArrayBuffer(4)),
      throwingIterable: await w(
        'throwingIterable',
        (function* () {
          yield 'before';
          throw new Error('iterator failed');
        })(),
      ),
    };
    return out;
  });
});

test('appendFile: creates the file (mode 0o666 & ~umask, or given), appends, flags, FileHandle target', async () => {
  await differential(
    async ({ fs, path }) => {
      const out: unknown[] = [
        await attempt(() => fs.appendFile(path('new'), 'one')),
        await attempt(() => fs.appendFile(path('new'), Buffer.from(',two'))),
        await attempt(() => fs.appendFile(path('new'), [',three', ',four'] as unknown as string)),
        await attempt(() => fs.appendFile(path('moded'), 'x', { mode: 0o640 })),
        await attempt(() => fs.appendFile(path('moded'), 'y', { mode: 0o600 })), // mode only applies on creation
        await attempt(() => fs.appendFile(path('wflag'), 'replaced', { flag: 'w' })),
        await attempt(() => fs.appendFile(path('axflag'), 'x', { flag: 'ax' })),
        await attempt(() => fs.appendFile(path('axflag'), 'x', { flag: 'ax' })),
        await fs.readFile(path('new'), 'utf8'),
      ];
      const fh = await fs.open(path('new'), 'r+');
      try {
        await fh.read(Buffer.alloc(3), 0, 3, null);
        out.push(await attempt(() => fs.appendFile(fh, '[at the position]')));
        out.push(await attempt(() => fh.appendFile('[handle]')));
      } finally {
        await fh.close();
      }
      out.push(await fs.readFile(path('new'), 'utf8'));
      return out;
    },
    { setup: (root) => writeFileSync(`${root}/wflag`, 'original') },
  );
});

test('copyFile: contents and mode (onto new, existing, itself, a hard link of itself), EXCL, errors remove the destination', async () => {
  const { node, tree } = await differential(
    async ({ fs, path }) => ({
      plain: await attempt(() => fs.copyFile(path('src'), path('copy'))),
      big: await attempt(() => fs.copyFile(path('big'), path('bigcopy'))),
      ontoExisting: await attempt(() => fs.copyFile(path('src'), path('existing'))),
      ontoItself: await attempt(() => fs.copyFile(path('src'), path('src'))),
      ontoHardLink: await attempt(() => fs.copyFile(path('src'), path('hardlink'))),
      ontoSymlinkToSrc: await attempt(() => fs.copyFile(path('src'), path('symlink'))),
      fromSymlink: await attempt(() => fs.copyFile(path('symlink'), path('fromlink'))),
      excl: await attempt(() => fs.copyFile(path('src'), path('exclnew'), COPYFILE_EXCL)),
      exclExisting: await attempt(() => fs.copyFile(path('src'), path('copy'), COPYFILE_EXCL)),
      ficlone: await attempt(() => fs.copyFile(path('src'), path('ficlone'), constants.COPYFILE_FICLONE)),
      setuidMode: await attempt(() => fs.copyFile(path('suid'), path('suidcopy'))),
      empty: await attempt(() => fs.copyFile(path('empty'), path('emptycopy'))),
      dirOntoExisting: await attempt(() => fs.copyFile(path('dir'), path('victim'))),
      dirOntoNew: await attempt(() => fs.copyFile(path('dir'), path('newvictim'))),
      badMode: await attempt(() => fs.copyFile(path('src'), path('bm'), 99)),
      modeOutOfRange: await attempt(() => fs.copyFile(path('src'), path('bm8'), 8)),
      modeNegative: await attempt(() => fs.copyFile(path('src'), path('bmn'), -1)),
      modeString: await attempt(() => fs.copyFile(path('src'), path('bms'), '1' as unknown as number)),
      modeNull: await attempt(() => fs.copyFile(path('src'), path('bmnull'), null as unknown as number)),
      urlAndBuffer: await attempt(() => fs.copyFile(new URL(`file://${path('src')}`), Buffer.from(path('ub')))),
    }),
    {
      setup: (root) => {
        writeFileSync(`${root}/src`, 'source data', { mode: 0o751 });
        chmodSync(`${root}/src`, 0o751);
        writeFileSync(`${root}/big`, Buffer.alloc(5 * 1024 * 1024 + 123, 'b'));
        writeFileSync(`${root}/existing`, 'a much longer existing content', { mode: 0o600 });
        chmodSync(`${root}/existing`, 0o600);
        linkSync(`${root}/src`, `${root}/hardlink`);
        symlinkSync('src', `${root}/symlink`);
        writeFileSync(`${root}/suid`, 's');
        chmodSync(`${root}/suid`, 0o4755);
        writeFileSync(`${root}/empty`, '');
        writeFileSync(`${root}/victim`, 'victim');
        mkdirSync(`${root}/dir`);
      },
    },
  );
  const r = asRecord(node);
  assert.equal(tree.copy?.mode, '751');
  assert.equal(tree.existing?.mode, '751', 'the destination takes the source mode (fchmod, no umask)');
  assert.equal(tree.src?.content, Buffer.from('source data').toString('hex'), 'copying onto itself keeps the data');
  assert.equal(r.dirOntoExisting.error.code, 'EISDIR');
  assert.equal(tree.victim, undefined, 'a failed copy removes the destination, as libuv does');
});

test('access: F_OK, R_OK, W_OK, X_OK and combinations on files, dirs, symlinks; invalid modes', async () => {
  await differential(
    async ({ fs, path }) => {
      const out: Record<string, unknown> = {};
      for (const name of ['rw', 'ro', 'x', 'none', 'dir', 'link', 'dangling']) {
        for (const [mname, mode] of Object.entries({
          default: undefined,
          F_OK,
          R_OK,
          W_OK,
          X_OK,
          RW: R_OK | W_OK,
          RWX: R_OK | W_OK | X_OK,
        })) {
          out[`${name} ${mname}`] = await attempt(() => fs.access(path(name), mode));
        }
      }
      out.badMode = await attempt(() => fs.access(path('rw'), 8));
      out.stringMode = await attempt(() => fs.access(path('rw'), 'r' as unknown as number));
      return out;
    },
    {
      setup: (root) => {
        for (const [n, m] of [
          ['rw', 0o644],
          ['ro', 0o444],
          ['x', 0o755],
          ['none', 0o000],
        ] as const) {
          writeFileSync(`${root}/${n}`, n);
          chmodSync(`${root}/${n}`, m);
        }
        mkdirSync(`${root}/dir`);
        symlinkSync('x', `${root}/link`);
        symlinkSync('nowhere', `${root}/dangling`);
      },
    },
  );
});

test('readFile/writeFile flags and modes: a+ creates, r+ overwrites in place, wx fails on existing, mode on creation only', async () => {
  await differential(
    async ({ fs, path }) => ({
      readFileAPlusCreates: await attempt(() => fs.readFile(path('created'), { flag: 'a+' })),
      readFileWFlagTruncates: await attempt(() => fs.readFile(path('long'), { flag: 'w+' })),
      readFileBadFlag: await attempt(() => fs.readFile(path('long'), { flag: 'q' })),
      writeFileRPlus: await attempt(() => fs.writeFile(path('keep'), 'AB', { flag: 'r+' })),
      writeFileRPlusMissing: await attempt(() => fs.writeFile(path('none'), 'AB', { flag: 'r+' })),
      writeFileMode: await attempt(() => fs.writeFile(path('m'), 'x', { mode: 0o604 })),
      writeFileModeExisting: await attempt(() => fs.writeFile(path('m'), 'y', { mode: 0o777 })),
      writeFileNumericFlag: await attempt(() =>
        fs.writeFile(path('num'), 'n', { flag: constants.O_CREAT | constants.O_WRONLY }),
      ),
      appendFileAPlus: await attempt(() => fs.appendFile(path('keep'), '+', { flag: 'a+' })),
      writeFileFlushNotBoolean: await attempt(() =>
        fs.writeFile(path('fl'), 'x', { flush: 'yes' as unknown as boolean }),
      ),
    }),
    {
      setup: (root) => {
        writeFileSync(`${root}/long`, 'long content');
        writeFileSync(`${root}/keep`, 'keep this');
      },
    },
  );
});

test('stat/lstat: bigint and number forms, options, invalid paths', async () => {
  await differential(
    async ({ fs, path }) => ({
      number: await fs.stat(path('f')),
      bigint: await fs.stat(path('f'), { bigint: true }),
      bigintFalse: await fs.stat(path('f'), { bigint: false }),
      lstatBigint: await fs.lstat(path('l'), { bigint: true }),
      dir: await fs.stat(path('d'), { bigint: true }),
      emptyPath: await attempt(() => fs.stat('')),
      nul: await attempt(() => fs.stat('a\0b')),
      number42: await attempt(() => fs.stat(42 as unknown as string)),
      url: await attempt(() => fs.stat(new URL(`file://${path('f')}`))),
      httpUrl: await attempt(() => fs.stat(new URL('http://example.com/x'))),
      buffer: await attempt(() => fs.lstat(Buffer.from(path('l')))),
      timesSane: await (async () => {
        const [s, b] = [await fs.stat(path('f')), await fs.stat(path('f'), { bigint: true })];
        const now = Date.now();
        return {
          msClose: Math.abs(s.mtimeMs - now) < 60_000,
          dateMatchesMs: s.mtime.getTime() === Math.floor(s.mtimeMs) || s.mtime.getTime() === Math.round(s.mtimeMs),
          nsMatchesMs: Number(b.mtimeNs / 1_000_000n) === Math.floor(s.mtimeMs),
          birthtime: s.birthtimeMs > 0,
        };
      })(),
    }),
    {
      setup: (root) => {
        writeFileSync(`${root}/f`, 'x'.repeat(10_000));
        symlinkSync('f', `${root}/l`);
        mkdirSync(`${root}/d`);
      },
    },
  );
});

test('unlink/rmdir/symlink/link: successes and their trees', async () => {
  await differential(
    async ({ fs, path }) => ({
      unlink: await attempt(() => fs.unlink(path('f'))),
      unlinkSymlinkNotTarget: await attempt(() => fs.unlink(path('l'))),
      unlinkHardLink: await attempt(() => fs.unlink(path('h'))),
      rmdir: await attempt(() => fs.rmdir(path('d'))),
      rmdirSymlinkToDir: await attempt(() => fs.rmdir(path('ld'))),
      rmdirRecursive: await attempt(() => fs.rmdir(path('tree'), { recursive: true })),
      symlinkAbsolute: await attempt(() => fs.symlink(path('g'), path('s1'))),
      symlinkRelative: await attempt(() => fs.symlink('../g', path('sub', 's2'))),
      symlinkDangling: await attempt(() => fs.symlink('nowhere', path('s3'))),
      symlinkTypeArg: await attempt(() => fs.symlink('g', path('s4'), 'file')),
      symlinkDirType: await attempt(() => fs.symlink('sub', path('s5'), 'dir')),
      linkHard: await attempt(() => fs.link(path('g'), path('g2'))),
      linkToSymlink: await attempt(() => fs.link(path('s1'), path('s1hard'))),
      linkDir: await attempt(() => fs.link(path('sub'), path('subhard'))),
    }),
    {
      setup: (root) => {
        writeFileSync(`${root}/f`, 'f');
        writeFileSync(`${root}/g`, 'g');
        symlinkSync('g', `${root}/l`);
        linkSync(`${root}/g`, `${root}/h`);
        mkdirSync(`${root}/d`);
        mkdirSync(`${root}/sub`);
        symlinkSync('sub', `${root}/ld`);
        mkdirSync(`${root}/tree/a/b`, { recursive: true });
        writeFileSync(`${root}/tree/a/b/leaf`, 'leaf');
      },
    },
  );
});
