// Loaded into every test process (and, through NODE_OPTIONS, every node
// child it spawns) when run.mjs runs a test with uring's drop-in swapped in.
// URING_COMPAT_SWAP names what to swap: "net" (node:net) or "fs" (node:fs/promises
// and the fs module's `promises` property).
//
// CommonJS tests reach built-ins through Module._load, so one wrapper there
// covers require('net'), require('node:net'), require('fs/promises'). ESM
// tests (.mjs, or a dynamic import of the module) get a resolve hook instead
// (hooks.mjs), registered only when URING_COMPAT_ESM=1 because the hooks
// thread changes timing and is not needed by CommonJS tests.
//
// uring's modules are imported here, with import(), rather than by require(esm)
// on first use: that keeps require(esm)'s ExperimentalWarning (node 20, 22)
// out of tests that assert on warnings.
import { createRequire, register, syncBuiltinESMExports } from 'node:module';

const require = createRequire(import.meta.url);
const Module = require('node:module');
const fs = require('node:fs');

const dist = new URL('../../dist/src/', import.meta.url);
const swap = new Set((process.env.URING_COMPAT_SWAP ?? '').split(',').filter(Boolean));

/** Built-in name (without node:) -> what require() returns instead. */
const replacements = new Map();

// URING_COMPAT_FILL=1 (run.mjs --fill): names uring's module lacks are
// node's own, so a test that only needs, say, net.BlockList or test/common's
// net.setDefaultAutoSelectFamilyAttemptTimeout() still gets to the sockets.
// Without it the drop-in is tested exactly as shipped.
function fill(ours, nodes) {
  if (process.env.URING_COMPAT_FILL !== '1') return ours;
  for (const k of Object.keys(nodes)) if (!(k in ours)) ours[k] = nodes[k];
  return ours;
}

if (swap.has('net')) {
  const ns = await import(new URL('net/index.js', dist));
  // The default export is the node:net-shaped object (node's names plus
  // uring's own). One object, so require('net') === require('node:net').
  replacements.set('net', fill(ns.default, require('node:net')));
}
if (swap.has('fs')) {
  const ns = await import(new URL('fs/promises.js', dist));
  const fsp = fill(ns.default, require('node:fs/promises'));
  replacements.set('fs/promises', fsp);
  // node defines fs.promises as a configurable getter; tests compare
  // require('fs').promises with require('fs/promises'), so both give ours.
  Object.defineProperty(fs, 'promises', {
    configurable: true,
    enumerable: true,
    get() {
      return fsp;
    },
  });
  // import { promises } from 'node:fs' reads the ESM facade's copy.
  syncBuiltinESMExports();
}

const load = Module._load;
Module._load = function _load(request, parent, isMain) {
  if (typeof request === 'string') {
    const r = replacements.get(request.startsWith('node:') ? request.slice(5) : request);
    if (r !== undefined) return r;
  }
  return load.apply(this, arguments);
};

if (process.env.URING_COMPAT_ESM === '1' && replacements.size > 0) {
  register(new URL('hooks.mjs', import.meta.url), {
    data: { swap: [...swap], dist: dist.href, shims: new URL('./', import.meta.url).href },
  });
}
