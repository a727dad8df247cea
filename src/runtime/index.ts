// The runtime: a ring in Node's event loop, every op a Promise.
export { Runtime, getRuntime, setRuntime, type RuntimeOptions } from './runtime.js';
export { Op, OpState, PromiseOp, MultishotOp, ChainOp, type ChainLink, type OpOptions } from './op.js';
export { OpTable, SLOT_MASK, AUX_BIT, INTERNAL_LO, LINK_SHIFT, MAX_LINKS } from './op-table.js';
