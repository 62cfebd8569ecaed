/**
 * The 12-byte packed scales of Q4_K and Q5_K: 8 sub-blocks, each with a 6-bit scale sc[j]
 * and a 6-bit min m[j] (96 bits). Layout (ggml get_scale_min_k4):
 *
 *   j < 4:  sc[j] = s[j]   & 63            m[j] = s[j+4] & 63
 *   j >= 4: sc[j] = (s[j+4] & 0xF) | ((s[j-4] >> 6) << 4)
 *           m[j]  = (s[j+4] >> 4)  | ((s[j]   >> 6) << 4)
 *
 * i.e. bytes 0..3 hold sc[0..3] in their low 6 bits, bytes 4..7 m[0..3]; bytes 8..11 hold the
 * low nibbles of sc[4..7] (low) and m[4..7] (high); the top 2 bits of bytes 0..3 / 4..7 carry
 * the high 2 bits of sc[4..7] / m[4..7].
 */

/** 6-bit scale of sub-block j (0..7) from the 12 scale bytes at s[o..o+12) */
export function kScale(s: Uint8Array, o: number, j: number): number {
  return j < 4 ? s[o + j]! & 63 : (s[o + j + 4]! & 0xf) | ((s[o + j - 4]! >> 6) << 4);
}

/** 6-bit min of sub-block j (0..7) from the 12 scale bytes at s[o..o+12) */
export function kMin(s: Uint8Array, o: number, j: number): number {
  return j < 4 ? s[o + j + 4]! & 63 : (s[o + j + 4]! >> 4) | ((s[o + j]! >> 6) << 4);
}

/**
 * Pack 8 scales and 8 mins (each 0..63) into s[o..o+12), the byte operations of ggml's
 * quantize_row_q4_K/q5_K (so out-of-range inputs would pack the same way too).
 */
export function packScalesMinsK4(s: Uint8Array, o: number, ls: ArrayLike<number>, lm: ArrayLike<number>): void {
  for (let j = 0; j < 8; j++) {
    const sc = ls[j]! & 0xff;
    const m = lm[j]! & 0xff;
    if (j < 4) {
      s[o + j] = sc;
      s[o + j + 4] = m;
    } else {
      s[o + j + 4] = (sc & 0xf) | ((m & 0xf) << 4);
      s[o + j - 4] |= (sc >> 4) << 6;
      s[o + j] |= (m >> 4) << 6;
    }
  }
}
