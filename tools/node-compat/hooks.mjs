// ESM resolve hook: `import ... from 'node:net'` (or 'net', 'node:fs/promises',
// 'fs/promises') in a test resolves to a shim re-exporting uring's module.
// Imports made by uring itself (and by the shims) keep node's built-ins:
// uring is built on them.
let swap = new Set();
let dist = '';
let shims = '';

export function initialize(data) {
  swap = new Set(data.swap);
  dist = data.dist;
  shims = data.shims;
}

const targets = {
  net: 'net',
  'node:net': 'net',
  'fs/promises': 'fs',
  'node:fs/promises': 'fs',
};
const shimFile = { net: 'shim-net.mjs', fs: 'shim-fs-promises.mjs' };

export async function resolve(specifier, context, nextResolve) {
  const which = targets[specifier];
  const parent = context.parentURL ?? '';
  if (which !== undefined && swap.has(which) && !parent.startsWith(dist) && !parent.startsWith(shims)) {
    return { url: new URL(shimFile[which], shims).href, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}
