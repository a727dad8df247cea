// uring: io_uring for Node.js.
export * from './ring/index.js';
export * from './errors.js';
