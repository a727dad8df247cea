// Types that drop in: code written against node:fs/promises, node:net and
// node:http, with the import switched to uring's, compiles unchanged. The
// files in test/types/ use each export as node's types allow; here tsc
// checks them as a user's project would (strict, `module` node16 and
// nodenext, the package resolved by its name through package.json
// `exports`, so against the declarations in dist/ that npm would ship).
// Also here: the CommonJS entry points, in types and at run time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type * as TS from 'typescript';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const tsc = `${root}node_modules/typescript/bin/tsc`;

for (const module of ['node16', 'nodenext']) {
  test(`test/types compiles with no diagnostic under module ${module}`, async () => {
    const project = `${root}test/types/tsconfig.${module}.json`;
    // tsc exits 2 and prints the diagnostics on stdout when there are any.
    const r = await run(process.execPath, [tsc, '-p', project, '--pretty', 'false'], {
      cwd: root,
      maxBuffer: 16 << 20,
    }).then(
      (out) => ({ code: 0, out: out.stdout + out.stderr }),
      (err: { code?: number; stdout?: string; stderr?: string }) => ({
        code: err.code ?? -1,
        out: `${err.stdout ?? ''}${err.stderr ?? ''}`,
      }),
    );
    const errors = r.out.split('\n').filter((l) => / error TS\d+/.test(l));
    assert.equal(r.code, 0, `${errors.length} type errors:\n${r.out}`);
    assert.equal(r.out.trim(), '');
  });
}

// Each .d.cts in cjs/ lists the ES module's names by hand: none may be
// missing, as a value or as a type.
test('the CommonJS declarations name everything the ES modules export', () => {
  const ts = createRequire(import.meta.url)('typescript') as typeof TS;
  const pairs = [
    ['dist/src/fs/promises.d.ts', 'cjs/fs-promises.d.cts'],
    ['dist/src/net/index.d.ts', 'cjs/net.d.cts'],
    ['dist/src/http/index.d.ts', 'cjs/http.d.cts'],
    ['dist/src/https/index.d.ts', 'cjs/https.d.cts'],
  ].map(([esm, cjs]) => [root + esm, root + cjs] as const);
  const program = ts.createProgram(
    pairs.flatMap((p) => [...p]),
    {
      module: ts.ModuleKind.Node16,
      moduleResolution: ts.ModuleResolutionKind.Node16,
      types: ['node'],
      noEmit: true,
    },
  );
  const checker = program.getTypeChecker();
  const names = (file: string): string[] => {
    const sf = program.getSourceFile(file);
    assert.ok(sf, file);
    const mod = checker.getSymbolAtLocation(sf);
    assert.ok(mod, `${file} is not a module`);
    return checker
      .getExportsOfModule(mod)
      .map((e) => {
        const target = e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e;
        const value = target.flags & ts.SymbolFlags.Value ? ' (value)' : '';
        const type = target.flags & ts.SymbolFlags.Type ? ' (type)' : '';
        return e.name + value + type;
      })
      .sort();
  };
  for (const [esm, cjs] of pairs) assert.deepEqual(names(cjs), names(esm), `${cjs} against ${esm}`);
});

// Node.js 20.19+, 22.12+ and 24 load an ES module with require() (no
// top-level await in uring's graph): the CommonJS entry points are the same
// modules, so `require` and `import` share one ring and one set of classes.
test('require() of uring/fs/promises, uring/net and uring/http works, as the same modules import() gives', async () => {
  const script = `
    const specs = ['uring/fs/promises', 'uring/net', 'uring/http'];
    const required = specs.map((s) => require(s));
    Promise.all(specs.map((s) => import(s))).then(async (imported) => {
      const fsp = required[0];
      const text = await fsp.readFile(__filename, 'utf8');
      const h = await fsp.open(__filename);
      await h.close();
      console.log(JSON.stringify({
        same: required.map((r, i) => Object.keys(imported[i]).every((k) => r[k] === imported[i][k])),
        read: text.includes('uring/fs/promises'),
        handle: h instanceof imported[0].FileHandle,
        net: typeof required[1].createServer,
        http: typeof required[2].createServer,
      }));
    });
  `;
  // A .cjs file inside the package: `uring/...` resolves by the package's own name.
  const { writeFile, rm } = await import('node:fs/promises');
  const file = `${root}dist/test/require-entry.cjs`;
  await writeFile(file, script);
  try {
    const { stdout } = await run(process.execPath, [file], { cwd: root });
    assert.deepEqual(JSON.parse(stdout), {
      same: [true, true, true],
      read: true,
      handle: true,
      net: 'function',
      http: 'function',
    });
  } finally {
    await rm(file, { force: true });
  }
});
