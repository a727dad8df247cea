// 64-bit fields (user data, addresses, offsets) travel as two 32-bit words,
// because a JS number is exact only to 2 ** 53 and typed arrays store u32s.

/** 2 ** 32: a u64 `v` is `hi * TWO32 + lo`; `v % TWO32` is its low word. */
export const TWO32 = 4294967296;
