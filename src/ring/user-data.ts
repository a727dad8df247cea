// The layout of the 64-bit user data the runtime puts in every SQE: the one
// place that defines it. Sqe.setUserWords writes it, the runtime's op table
// reads it back from CQEs, and native/uring.c (ring_reap_fds) decodes two of
// its bits on its own at teardown: FD_RESULTS_BIT (bit 63) and AUX_BIT
// (bit 31). Change either here and there together.
//
//   lo word: bits 0-23  slot in the op table (SLOT_MASK)
//            bits 24-30 the SQE's place in a ChainOp's chain (LINK_SHIFT, LINK_MASK)
//            bit 31     AUX_BIT: the op's secondary SQE (its linked timeout)
//   hi word: bits 0-30  the slot's generation (GEN_MASK)
//            bit 31     FD_RESULTS_BIT (bit 63 of the user data): every
//                       result of the op is a new fd, which the native
//                       teardown closes if the runtime never reaped it
//
// INTERNAL_LO marks SQEs whose CQEs nobody waits for (cancels, NOPs that
// stand in for withdrawn SQEs): no slot, chain place and AUX_BIT combination
// the runtime writes is equal to it (slots stay below SLOT_MASK).

export const SLOT_MASK = 0x00ffffff;
/** Where a ChainOp's SQE index sits in the lo word. */
export const LINK_SHIFT = 24;
/** The chain index's bits, after shifting the lo word right by LINK_SHIFT. */
export const LINK_MASK = 0x7f;
/** The most SQEs a chain can have: every index must fit LINK_MASK. */
export const MAX_LINKS = LINK_MASK;
/** Bit 31 of the lo word: the SQE is the op's linked timeout, not its own (native/uring.c reads it). */
export const AUX_BIT = 0x80000000;
/** lo word of SQEs whose CQEs nobody waits for (cancels, cleanup closes, neutralized SQEs). */
export const INTERNAL_LO = 0x7fffffff;
/** Set in the hi word (bit 63 of the user data) of ops whose every result is a new fd (native/uring.c reads it). */
export const FD_RESULTS_BIT = 0x80000000;
/** The generation's bits in the hi word. */
export const GEN_MASK = 0x7fffffff;

/** The lo word of SQE `link` of the op in `slot` (link 0: an op's own SQE). */
export function linkLo(slot: number, link: number): number {
  return (slot | (link << LINK_SHIFT)) >>> 0;
}

/** The lo word of the linked timeout of the op in `slot`. */
export function auxLo(slot: number): number {
  return (slot | AUX_BIT) >>> 0;
}

/** The chain index a CQE's lo word carries (0 for an op's own SQE). */
export function linkOf(lo: number): number {
  return (lo >>> LINK_SHIFT) & LINK_MASK;
}
