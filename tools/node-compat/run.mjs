#!/usr/bin/env node
// Runs Node's own tests for node:net and node:fs/promises, stock or with
// uring's drop-in swapped in (preload.mjs), and for node:http stock or under
// `--import uring/register` (dist/src/register.js), the way Node's tools/test.py runs
// a parallel test: the test's `// Flags:` go on the command line, its
// `// Env:` into the environment, the working directory is the tree's root,
// and the verdict is the exit code (test/common checks mustCall counts and
// leaked globals at exit and turns a miss into a non-zero exit). A test that
// prints "1..0 # Skipped:" (common.skip) and exits 0 is skipped.
//
//   node tools/node-compat/run.mjs list   --tests DIR/test --module net|fs|http
//   node tools/node-compat/run.mjs run    --tests DIR/test --module net|fs|http [--node BIN] [--stock]
//                                         [--jobs 2] [--timeout 30] [--only REGEX] [--all]
//   node tools/node-compat/run.mjs report
//
// See README.md for where the test tree comes from and how verdicts are made.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.join(here, 'out');
const preloadURL = pathToFileURL(path.join(here, 'preload.mjs')).href;
// --module http: the tests run under uring/register as a user runs an app,
// every node:http server's listen and node's http clients on uring sockets.
const registerURL = pathToFileURL(path.join(here, '../../dist/src/register.js')).href;
const statsURL = pathToFileURL(path.join(here, 'register-stats.mjs')).href;

function parseArgs(argv) {
  const [cmd, ...rest] = argv;
  const opts = { cmd, jobs: 2, timeout: 30, node: process.execPath, stock: false, all: false, fill: false };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const val = () => {
      if (i + 1 >= rest.length) throw new Error(`${a} needs a value`);
      return rest[++i];
    };
    if (a === '--tests') opts.tests = path.resolve(val());
    else if (a === '--module') opts.module = val();
    else if (a === '--node') opts.node = val();
    else if (a === '--jobs') opts.jobs = Math.max(1, Math.min(2, Number(val())));
    else if (a === '--timeout') opts.timeout = Number(val());
    else if (a === '--only') opts.only = new RegExp(val());
    else if (a === '--stock') opts.stock = true;
    else if (a === '--all') opts.all = true;
    else if (a === '--fill') opts.fill = true;
    else throw new Error(`unknown argument ${a}`);
  }
  return opts;
}

// ---- candidates and static verdicts -------------------------------------

/** Source without comments, so a `_handle` or `cluster` in prose does not count. */
function stripComments(src) {
  return src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

// A test-fs-* file is a candidate when it reaches fs.promises in any of the
// ways a program can (a bare word "promises" would also catch timers/promises).
const FS_TOUCHES_PROMISES = new RegExp(
  [
    String.raw`\bfs\.promises\b`,
    String.raw`\)\.promises\b`,
    String.raw`['"](node:)?fs\/promises['"]`,
    String.raw`\{[^}]*\bpromises\b[^}]*\}\s*=\s*require\(\s*['"](node:)?fs['"]`,
    String.raw`import\s*\{[^}]*\bpromises\b[^}]*\}\s*from\s*['"](node:)?fs['"]`,
    String.raw`\bfsPromises\b`,
    String.raw`\bFileHandle\b`,
    String.raw`\bfilehandle\b`,
  ].join('|'),
);

/** Every candidate test file of `module` in test/parallel, sorted. */
function candidates(testsDir, module) {
  const dir = path.join(testsDir, 'parallel');
  const names = fs
    .readdirSync(dir)
    .filter((f) => /^test-.*\.m?js$/.test(f))
    .sort();
  if (module === 'net') return names.filter((f) => f.startsWith('test-net-'));
  // http2 (test-http2-*) is not a candidate: uring/register leaves http2
  // servers on node's own listen (nghttp2 wants node's stream handle).
  if (module === 'http') return names.filter((f) => f.startsWith('test-http-'));
  if (module === 'fs') {
    return names.filter((f) => {
      if (!f.startsWith('test-fs-')) return false;
      if (f.startsWith('test-fs-promises')) return true;
      return FS_TOUCHES_PROMISES.test(stripComments(fs.readFileSync(path.join(dir, f), 'utf8')));
    });
  }
  throw new Error(`--module must be net, fs or http, not ${module}`);
}

/** parallel.status entries that apply here: name -> outcome ("SKIP", "PASS,FLAKY", ...). */
function statusEntries(testsDir) {
  const file = path.join(testsDir, 'parallel', 'parallel.status');
  const vars = { system: 'linux', arch: process.arch };
  const map = new Map();
  if (!fs.existsSync(file)) return map;
  let on = false;
  for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const sec = /^\[(.*)\]$/.exec(line);
    if (sec) {
      // Conditions are `true` or $var==value terms joined by && and ||;
      // a variable we do not model (asan, pointer compression, ...) is false.
      on = sec[1].split('||').some((alt) =>
        alt.split('&&').every((t) => {
          t = t.trim();
          if (t === 'true') return true;
          const m = /^\$(\w+)\s*(==|!=)\s*(\S+)$/.exec(t);
          if (!m) return false;
          const eq = vars[m[1]] === m[3];
          return m[2] === '==' ? eq : vars[m[1]] !== undefined && !eq;
        }),
      );
      continue;
    }
    const ent = /^([\w-]+)\s*:\s*(.+)$/.exec(line);
    if (on && ent) map.set(ent[1], ent[2].replace(/\s+/g, ''));
  }
  return map;
}

function readHeader(src) {
  const flags = /\/\/\s+Flags:(.*)/.exec(src);
  const env = /\/\/\s+Env:(.*)/.exec(src);
  return {
    flags: flags ? flags[1].trim().split(/\s+/).filter(Boolean) : [],
    env: env
      ? Object.fromEntries(
          env[1]
            .trim()
            .split(/\s+/)
            .map((p) => p.split('=')),
        )
      : {},
  };
}

/**
 * Why a test is left out of the selection whatever node does with it, or null.
 * The reasons are the ones issue #12 accepts: they test node's internals or
 * libuv handles rather than the public API.
 */
function staticReason(src, file, module, status) {
  const name = file.replace(/\.m?js$/, '');
  if ((status.get(name) ?? '').split(',').includes('SKIP')) return 'parallel.status: SKIP on linux';
  const code = stripComments(src);
  const { flags } = readHeader(src);
  if (
    flags.includes('--expose-internals') ||
    /require\(['"]internal\//.test(code) ||
    /\binternalBinding\(/.test(code)
  ) {
    return 'needs --expose-internals';
  }
  if (/process\.binding\(/.test(code)) return 'uses process.binding (libuv wraps)';
  // Reading `_handle` to see it null after close is public-ish behaviour a
  // drop-in can show; calling, replacing or handing on the handle is not.
  if (/\b_handle\s*(\.|\[|=(?!=))/.test(code) || /:\s*[\w.]+\._handle\b/.test(code)) {
    return 'pokes _handle (libuv handle internals)';
  }
  if (/new\s+(net\.)?Socket\(\s*\{\s*handle\s*:/.test(code))
    return 'builds a Socket over a fake libuv handle ({ handle })';
  if (/require\(['"](node:)?cluster['"]\)/.test(code)) return 'cluster only';
  if (
    module === 'net' &&
    /require\(['"](node:)?child_process['"]\)/.test(code) &&
    /\.send\(\s*[^,;()]+,\s*[A-Za-z_$][\w$]*\s*[,)]/.test(code)
  ) {
    return 'child_process only: sends a socket/server handle over IPC';
  }
  return null;
}

function listCandidates(opts) {
  const status = statusEntries(opts.tests);
  return candidates(opts.tests, opts.module).map((file) => {
    const full = path.join(opts.tests, 'parallel', file);
    const src = fs.readFileSync(full, 'utf8');
    const name = file.replace(/\.m?js$/, '');
    return {
      file,
      full,
      src,
      reason: staticReason(src, file, opts.module, status),
      flaky: (status.get(name) ?? '').includes('FLAKY'),
    };
  });
}

// ---- running one test ----------------------------------------------------

/** Does the test reach the swapped module through the ESM loader? Then it needs hooks.mjs. */
function needsEsmHooks(c, module) {
  if (c.file.endsWith('.mjs')) return true;
  const mod = module === 'net' ? '(node:)?net' : '(node:)?fs(\\/promises)?';
  return new RegExp(`import\\(\\s*['"]${mod}['"]`).test(c.src);
}

function firstError(stderr, stdout) {
  // Leave out the source excerpt node prints above an uncaught error (a
  // code line with a line of carets under it).
  const all = (stderr + '\n' + stdout).split('\n');
  const lines = all.filter((l, i) => !/^\s*\^+\s*$/.test(l) && !/^\s*\^+\s*$/.test(all[i + 1] ?? ''));
  const pick =
    lines.find((l) => /^\s*(\w*(Error|Exception)\b|Mismatched|Uncaught|\[ERR_)/.test(l)) ??
    lines.find((l) => /Error|assert|fail/i.test(l) && !/^\s+at /.test(l) && !/^\s*(const|let|var)\s/.test(l)) ??
    lines.find((l) => l.trim() !== '') ??
    '';
  let text = pick.trim();
  const at = lines.indexOf(pick);
  if (text.endsWith(':')) {
    // An assertion's headline ends in ':' and its detail (actual vs
    // expected) follows on the next lines: keep a little of it.
    text +=
      ' ' +
      lines
        .slice(at + 1)
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('at '))
        .slice(0, 4)
        .join(' ');
  } else if (text.startsWith('Mismatched')) {
    // Which mustCall: the first frame in the test file itself.
    const frame = lines.slice(at + 1).find((l) => /^\s+at .*\/test\/parallel\//.test(l));
    if (frame) text += ' (' + /[^/]+\.m?js:\d+/.exec(frame)?.[0] + ')';
  }
  return text.slice(0, 240);
}

function runOne(c, opts, worker) {
  const { flags, env: fileEnv } = readHeader(c.src);
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('URING_') || k === 'NODE_OPTIONS') delete env[k];
  Object.assign(env, {
    TEST_THREAD_ID: String(worker),
    // test/common/tmpdir puts test/.tmp.<id> under the tree: one per worker.
    NODE_COMMON_PORT: String(12346 + 100 * worker),
    ...fileEnv,
  });
  let statsFile;
  if (!opts.stock && opts.module === 'http') {
    statsFile = path.join(outDir, 'stats', `${worker}.jsonl`);
    fs.mkdirSync(path.dirname(statsFile), { recursive: true });
    fs.rmSync(statsFile, { force: true });
    env.URING_COMPAT_STATS = statsFile;
    env.NODE_OPTIONS = [fileEnv.NODE_OPTIONS, `--import=${registerURL}`, `--import=${statsURL}`]
      .filter(Boolean)
      .join(' ');
  } else if (!opts.stock) {
    const swap = opts.module === 'net' ? 'net' : 'fs';
    env.URING_COMPAT_SWAP = swap;
    if (needsEsmHooks(c, opts.module)) env.URING_COMPAT_ESM = '1';
    if (opts.fill) env.URING_COMPAT_FILL = '1';
    env.NODE_OPTIONS = [fileEnv.NODE_OPTIONS, `--import=${preloadURL}`].filter(Boolean).join(' ');
  }
  const root = path.dirname(opts.tests);
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(opts.node, [...flags, c.full], {
      cwd: root,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const cap = (s, d) => (s.length < 1 << 20 ? s + d : s);
    child.stdout.on('data', (d) => {
      stdout = cap(stdout, d);
    });
    child.stderr.on('data', (d) => {
      stderr = cap(stderr, d);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // The test's own children are in its process group (detached: true).
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, opts.timeout * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // Reap anything the test left behind in its group.
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* none left */
      }
      let status;
      if (timedOut) status = 'timeout';
      else if (code === 0 && /^1\.\.0 # Skipped:/m.test(stdout)) status = 'skip';
      else status = code === 0 ? 'pass' : 'fail';
      const ms = Date.now() - started;
      const r = { file: c.file, status, code, signal, ms };
      if (statsFile) r.routed = routedCounts(statsFile);
      if (status === 'skip') r.note = (/^1\.\.0 # Skipped:(.*)$/m.exec(stdout)[1] ?? '').trim();
      if (status === 'fail' || status === 'timeout') {
        r.error = timedOut ? `timed out after ${opts.timeout} s` : firstError(stderr, stdout);
        // The first error is at the head, the exit-time mustCall report at the tail.
        const clip = (t, n) => (t.length <= 2 * n ? t : t.slice(0, n) + '\n[...]\n' + t.slice(-n));
        r.log = clip(stderr, 2000) + '\n--- stdout ---\n' + clip(stdout, 1000);
        r.logHead = true;
      }
      resolve(r);
    });
  });
}

/** What uring/register routed in one test's processes (register-stats.mjs), summed. */
function routedCounts(file) {
  const sum = { procs: 0, listens: 0, connections: 0, clients: 0 };
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return sum;
  }
  for (const l of text.split('\n').filter(Boolean)) {
    const s = JSON.parse(l);
    sum.procs++;
    sum.listens += s.listens;
    sum.connections += s.connections;
    sum.clients += s.clients;
  }
  return sum;
}

const routedNote = (r) =>
  r.routed ? `, uring: ${r.routed.listens} listen ${r.routed.connections} accepted ${r.routed.clients} client` : '';

async function runAll(opts) {
  const list = listCandidates(opts).filter((c) => !opts.only || opts.only.test(c.file));
  // Stock runs cover every candidate: their failures are a verdict of their
  // own ("fails on stock node"). Swapped runs cover the selection, or every
  // candidate with --all (to see what the left-out ones would do).
  const toRun = list.filter((c) => opts.stock || opts.all || c.reason === null);
  const version = await nodeVersion(opts.node);
  const results = [];
  let next = 0;
  let done = 0;
  const worker = async (id) => {
    while (next < toRun.length) {
      const c = toRun[next++];
      const r = await runOne(c, opts, id);
      results.push(r);
      done++;
      const mark = { pass: 'ok', fail: 'FAIL', timeout: 'TIMEOUT', skip: 'skip' }[r.status];
      process.stdout.write(
        `[${done}/${toRun.length}] ${mark.padEnd(7)} ${c.file} (${r.ms} ms${routedNote(r)})${r.error ? '  ' + r.error : ''}\n`,
      );
    }
  };
  await Promise.all(Array.from({ length: opts.jobs }, (_, i) => worker(i)));
  results.sort((a, b) => a.file.localeCompare(b.file));
  const byFile = new Map(results.map((r) => [r.file, r]));

  let passed = 0,
    failed = 0,
    skipped = 0;
  for (const c of list) {
    const r = byFile.get(c.file);
    if (c.reason !== null || !r || r.status === 'skip') skipped++;
    else if (r.status === 'pass') passed++;
    else failed++;
  }
  const label = treeLabel(opts.tests);
  const mode = opts.stock ? 'stock' : opts.fill ? 'uring-fill' : 'uring';
  const record = {
    tree: label,
    tests: opts.tests,
    module: opts.module,
    mode,
    node: version,
    date: new Date().toISOString(),
    candidates: list.map((c) => ({ file: c.file, reason: c.reason, flaky: c.flaky })),
    results,
    counts: { passed, failed, skipped },
  };
  if (!opts.only) {
    fs.mkdirSync(outDir, { recursive: true });
    const file = path.join(outDir, `${label}-${opts.module}-${mode}.json`);
    fs.writeFileSync(file, JSON.stringify(record, null, 1));
    console.log(`wrote ${path.relative(process.cwd(), file)}`);
  }
  console.log(
    `${label} ${opts.module} ${mode} (node ${version}): ${passed} passed, ${failed} failed, ${skipped} skipped`,
  );
}

function treeLabel(testsDir) {
  // A tree extracted by get-tests.sh sits in a directory named for its version.
  return path.basename(path.dirname(testsDir));
}

function nodeVersion(bin) {
  return new Promise((resolve, reject) => {
    const c = spawn(bin, ['-p', 'process.version'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let s = '';
    c.stdout.on('data', (d) => {
      s += d;
    });
    c.on('error', reject);
    c.on('close', () => resolve(s.trim()));
  });
}

// ---- report: selection files and RESULTS.md --------------------------------

function loadRecords() {
  if (!fs.existsSync(outDir)) return [];
  const recs = fs
    .readdirSync(outDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(fs.readFileSync(path.join(outDir, f), 'utf8')));
  // Re-read each failure's first error from its log, and each candidate's
  // static verdict from the tree when it is still there, so a better
  // firstError() or staticReason() applies to runs made before it.
  for (const rec of recs) {
    if (rec.tests && fs.existsSync(rec.tests)) {
      const now = new Map(listCandidates({ tests: rec.tests, module: rec.module }).map((c) => [c.file, c]));
      for (const c of rec.candidates) if (now.has(c.file)) c.reason = now.get(c.file).reason;
    }
    for (const r of rec.results) {
      // Older runs kept only the last 4000 characters of stderr: their
      // first error is gone from a log that long.
      if (r.log && r.status === 'fail' && (r.logHead || r.log.indexOf('\n--- stdout ---\n') < 4000)) {
        const [err, out = ''] = r.log.split('\n--- stdout ---\n');
        r.error = firstError(err, out);
      }
    }
  }
  return recs;
}

/** The heading of a module's rows and selection file. */
const title = (module) =>
  module === 'net' ? 'node:net' : module === 'fs' ? 'node:fs/promises' : 'node:http under uring/register';

const verOrder = (a, b) => a.localeCompare(b, undefined, { numeric: true });

function report() {
  const recs = loadRecords();
  const modules = [...new Set(recs.map((r) => r.module))].sort((a, b) => b.localeCompare(a));
  const lines = [];
  for (const module of modules) {
    const mine = recs.filter((r) => r.module === module);
    const trees = [...new Set(mine.map((r) => r.tree))].sort(verOrder);
    const rec = (tree, mode) => mine.find((r) => r.tree === tree && r.mode === mode);
    const files = [...new Set(mine.flatMap((r) => r.candidates.map((c) => c.file)))].sort();
    const out = [
      `# Candidates for ${title(module)}: Node's test/parallel tests, one per line.`,
      '# Written by `node tools/node-compat/run.mjs report` from the runs in out/; see README.md.',
      '# Per tree (Node test-tree version, run with the node line named in RESULTS.md):',
      module === 'http'
        ? '#   run   pass|FAIL|TIMEOUT|skip  the test is selected; the result under uring/register (and its first error);\n' +
          '#                                 "no uring socket": nothing in it listened or connected through io_uring'
        : '#   run   pass|FAIL|TIMEOUT|skip  the test is selected; the result with uring swapped in (and its first error)',
      '#   out   <why>                   left out of the selection, and why',
      "#   fill  pass|FAIL|...           the result with --fill (names uring lacks are node's), where it differs",
      '#   -                             not in that tree',
      '# [flaky] marks a test parallel.status lists as flaky on linux.',
      '',
    ];
    for (const file of files) {
      out.push(file);
      for (const tree of trees) {
        const stock = rec(tree, 'stock');
        const uring = rec(tree, 'uring');
        const filled = rec(tree, 'uring-fill');
        const cand = (stock ?? uring)?.candidates.find((c) => c.file === file);
        if (!cand) {
          out.push(`  ${tree.padEnd(9)} -`);
          continue;
        }
        const flaky = cand.flaky ? ' [flaky]' : '';
        const v = verdict(cand, stock, uring, file);
        out.push(`  ${tree.padEnd(9)} ${v}${flaky}`);
        // With --fill the test may get further (or pass): say so when it differs.
        if (filled && v.startsWith('run')) {
          const f = verdict(cand, stock, filled, file);
          if (f !== v) out.push(`  ${''.padEnd(9)} ${f.replace(/^run {2}/, 'fill ')}`);
        }
      }
    }
    fs.writeFileSync(path.join(here, `selection-${module}.txt`), out.join('\n') + '\n');

    lines.push(`### ${title(module)}`, '');
    // http runs the whole register (nothing to fill in); its last column says
    // how many of the passes went through io_uring at all.
    const lastHead = module === 'http' ? 'passes through io_uring' : 'uring --fill: passed / failed / skipped';
    const uringHead = module === 'http' ? 'uring/register' : 'uring';
    lines.push(
      `| tests of | run with | candidates | left out (static) | fail on stock | stock: passed / failed / skipped | ${uringHead}: passed / failed / skipped | ${lastHead} |`,
    );
    lines.push('| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const tree of trees) {
      const stock = rec(tree, 'stock');
      const uring = rec(tree, 'uring');
      const cands = (stock ?? uring).candidates;
      const stat = cands.filter((c) => c.reason !== null).length;
      const stockFail = stock ? cands.filter((c) => c.reason === null && isFail(stock, c.file)).length : '?';
      // Stock: the static selection as node itself does on it.
      const c = (r) => {
        if (!r) return 'not run';
        let p = 0,
          f = 0,
          s = 0;
        for (const cand of cands) {
          const x = cand.reason === null ? r.results.find((y) => y.file === cand.file) : undefined;
          if (x?.status === 'pass') p++;
          else if (x?.status === 'fail' || x?.status === 'timeout') f++;
          else s++;
        }
        return `${p} / ${f} / ${s}`;
      };
      // The uring column counts the final selection: a test failing on stock
      // node too is left out (skipped), as the selection file says.
      const counted = (r) => {
        if (!r) return 'not run';
        let p = 0,
          f = 0,
          s = 0;
        for (const cand of cands) {
          const v = verdict(cand, stock, r, cand.file);
          if (v.startsWith('run   pass')) p++;
          else if (v.startsWith('run   FAIL') || v.startsWith('run   TIMEOUT')) f++;
          else s++;
        }
        return `${p} / ${f} / ${s}`;
      };
      lines.push(
        `| ${tree} | node ${(uring ?? stock).node} | ${cands.length} | ${stat} | ${stockFail} | ${c(stock)} | ${counted(uring)} | ${module === 'http' ? throughUring(uring, stock, cands) : counted(rec(tree, 'uring-fill'))} |`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}

/**
 * The counts section with the blocks of `table` (one `### heading` and its
 * table per module) in place of the old ones of the same heading; a module
 * with no run in out/ keeps its old block, a new one goes last.
 */
function mergeCounts(oldSection, table) {
  const blocks = (text) => {
    const map = new Map();
    for (const part of text.split(/^(?=### )/m)) {
      const head = /^### .*/.exec(part)?.[0];
      if (head) map.set(head, part.trim());
    }
    return map;
  };
  const merged = blocks(oldSection);
  for (const [head, block] of blocks(table)) merged.set(head, block);
  return [...merged.values()].join('\n\n') + '\n';
}

/**
 * Of the selected tests that pass under uring/register, how many had a server
 * listen or a client connect through io_uring (register-stats.mjs), as
 * "N of M": the rest (parsers, headers, agents without a socket) never
 * reached a routed socket, so their pass says nothing about uring.
 */
function throughUring(uring, stock, cands) {
  if (!uring) return 'not run';
  let n = 0,
    m = 0;
  for (const cand of cands) {
    if (!verdict(cand, stock, uring, cand.file).startsWith('run   pass')) continue;
    m++;
    const r = uring.results.find((x) => x.file === cand.file)?.routed;
    if (r && r.listens + r.clients > 0) n++;
  }
  return `${n} of ${m}`;
}

function isFail(rec, file) {
  const r = rec.results.find((x) => x.file === file);
  return r !== undefined && (r.status === 'fail' || r.status === 'timeout');
}

/**
 * Why a selected test still fails with uring, where it cannot pass (or not
 * always): shown after its result in the selection file.
 */
const FAIL_REASONS = {
  'test-http-should-keep-alive.js':
    'a race node usually wins (node 22, both ends on uring, about half the runs): the agent hands a free socket ' +
    "that has had the server's FIN but is not yet destroyed to the next request; node's destroySoon() destroys " +
    "within a loop turn, uring's waits for the shutdown's CQE (the kernel runs it in an io-wq worker) first",
  'test-http-nodelay.js':
    "replaces net.Socket.prototype.connect to see the agent's options; node's http client under uring/register " +
    "connects through uring/net's connect, which never calls it (the option reaches uring's socket: TCP_NODELAY is set)",
  'test-http-pause-no-dump.js':
    'node:http parses a socket without a libuv handle (any JS Duplex) with parser.execute() per chunk, its own ' +
    "through the native consume path, which runs ticks between the parser's callbacks: with headers and body in " +
    "one chunk, req.resume()'s tick comes after the body ended, req._read never runs, and res 'finish' dumps the request",
  'test-http-writable-true-after-close.js':
    "ordering between two connections: destroy()'s FIN reaches the peer after a send another socket made in the " +
    'same tick (the close goes through the ring at the next flush, and its final fput runs after the batch); ' +
    "node's close(2) is synchronous. Under URING_REGISTER=http alone, the proxy's EOF (a CQE) is handled after " +
    "node's own client socket's data in the same loop turn",
  'test-net-perf_hooks.js':
    "needs node's 'net' PerformanceEntry for each connect: only node's internals can make one (no public API)",
};

function verdict(cand, stock, uring, file) {
  if (cand.reason !== null) return `out   ${cand.reason}`;
  const s = stock?.results.find((r) => r.file === file);
  if (s && (s.status === 'fail' || s.status === 'timeout')) {
    return `out   fails on stock node ${stock.node} too: ${s.error}`;
  }
  const u = uring?.results.find((r) => r.file === file);
  if (!u) return 'run   (not run with uring yet)';
  const word = { pass: 'pass', fail: 'FAIL', timeout: 'TIMEOUT', skip: 'skip' }[u.status];
  let extra = u.status === 'skip' ? `: ${u.note}` : u.error ? `: ${u.error}` : '';
  if (u.routed && u.routed.listens + u.routed.clients === 0 && u.status === 'pass') extra = ' (no uring socket)';
  const why = u.status !== 'pass' && u.status !== 'skip' && FAIL_REASONS[file] ? ` (why: ${FAIL_REASONS[file]})` : '';
  return `run   ${word}${extra}${why}`;
}

// ---- main ------------------------------------------------------------------

const opts = parseArgs(process.argv.slice(2));
if (opts.cmd === 'list') {
  for (const c of listCandidates(opts))
    console.log(`${c.file.padEnd(60)} ${c.reason ?? 'run'}${c.flaky ? ' [flaky]' : ''}`);
} else if (opts.cmd === 'run') {
  if (!opts.tests || !opts.module) throw new Error('run needs --tests DIR/test and --module net|fs|http');
  await runAll(opts);
} else if (opts.cmd === 'report') {
  const table = report();
  // RESULTS.md is prose around a generated table: replace what lies between
  // the markers, keep the rest.
  const file = path.join(here, 'RESULTS.md');
  const begin = '<!-- counts: written by run.mjs report -->';
  const end = '<!-- /counts -->';
  const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : `# Results\n\n${begin}\n${end}\n`;
  const a = old.indexOf(begin);
  const b = old.indexOf(end);
  if (a < 0 || b < a) throw new Error(`${file} lacks the ${begin} ... ${end} markers`);
  const counts = mergeCounts(old.slice(a + begin.length, b), table);
  fs.writeFileSync(file, old.slice(0, a + begin.length) + '\n\n' + counts + '\n' + old.slice(b));
  console.log(table);
} else {
  console.error('usage: run.mjs list|run|report [options]; see README.md');
  process.exitCode = 2;
}
