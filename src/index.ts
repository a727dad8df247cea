// uring: io_uring for Node.js.
export * from './ring/index.js';
export * from './runtime/index.js';
export * from './ops/index.js';
export * from './errors.js';
export { probe, REQUIRED_FEATURES, REQUIRED_OPCODES, type ProbeReport, type SetupFlagResult } from './probe.js';
export { setUringDisabled, uringDisabled } from './opt-out.js';
export { setNodeFallback } from './runtime/fallback.js';
