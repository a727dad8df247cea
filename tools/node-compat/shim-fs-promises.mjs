// What an ESM test gets for node:fs/promises under the swap (see hooks.mjs).
export * from '../../dist/src/fs/promises.js';
export { default } from '../../dist/src/fs/promises.js';
