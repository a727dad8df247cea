// What an ESM test gets for node:net under the swap (see hooks.mjs).
export * from '../../dist/src/net/index.js';
export { default } from '../../dist/src/net/index.js';
