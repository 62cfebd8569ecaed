/**
 * Known-answer vectors: blocks assembled by hand from the layout, with the decoded values
 * worked out by hand (comments show the arithmetic).
 */
import { describe, expect, it } from 'vitest';
import { getCodec } from '../../src/quant/index.js';

function decode(name: string, block: Uint8Array): Float32Array {
  const c = getCodec(name);
  const out = new Float32Array(c.blockSize);
  c.dequantizeRow(block, 0, out, 0, c.blockSize);
  return out;
}

describe('known answers', () => {
  it('q8_0: d = 0.5 (f16 0x3800), qs = 1, -1, 127, -128, 0, 3', () => {
    const b = new Uint8Array(34);
    b[0] = 0x00; b[1] = 0x38; // 0x3800 = 2^(14-15) = 0.5
    const qs = [1, -1, 127, -128, 0, 3];
    qs.forEach((q, j) => { b[2 + j] = q & 0xff; });
    const y = decode('q8_0', b);
    expect([...y.subarray(0, 6)]).toEqual([0.5, -0.5, 63.5, -64, 0, 1.5]);
    expect(y.subarray(6).every((v) => v === 0)).toBe(true);
  });

  it('q4_0: d = 0.5; qs[0] = 0x9F, qs[1] = 0x08, other bytes 0x88', () => {
    const b = new Uint8Array(18).fill(0x88); // nibble 8 decodes to (8-8)*d = 0
    b[0] = 0x00; b[1] = 0x38;
    b[2] = 0x9f; // element 0: low nibble 15 -> (15-8)*0.5 = 3.5; element 16: high nibble 9 -> 0.5
    b[3] = 0x08; // element 1: 8 -> 0; element 17: 0 -> (0-8)*0.5 = -4
    const y = decode('q4_0', b);
    const expected = new Array(32).fill(0);
    expected[0] = 3.5; expected[16] = 0.5; expected[17] = -4;
    expect([...y]).toEqual(expected);
  });

  it('q4_1: d = 0.25 (0x3400), m = -1 (0xBC00): nibble q -> q/4 - 1', () => {
    const b = new Uint8Array(20);
    b[0] = 0x00; b[1] = 0x34; b[2] = 0x00; b[3] = 0xbc;
    b[4] = 0xf0; // element 0: 0 -> -1; element 16: 15 -> 2.75
    b[5] = 0x04; // element 1: 4 -> 0
    const y = decode('q4_1', b);
    expect([y[0], y[16], y[1], y[17], y[2]]).toEqual([-1, 2.75, 0, -1, -1]);
  });

  it('q5_0: d = 1 (0x3C00), high bits from qh', () => {
    const b = new Uint8Array(22);
    b[0] = 0x00; b[1] = 0x3c;
    // qh = bit 0 (element 0) and bit 17 (element 17) set
    b[2] = 0x01; b[3] = 0x00; b[4] = 0x02; b[5] = 0x00;
    b[6] = 0x3f; // element 0: 0xF | 16 = 31 -> 15; element 16: 3, no high bit -> -13
    b[7] = 0x20; // element 1: 0 -> -16; element 17: 2 | 16 = 18 -> 2
    const y = decode('q5_0', b);
    expect([y[0], y[16], y[1], y[17], y[2]]).toEqual([15, -13, -16, 2, -16]);
  });

  it('q4_k: d = 1, dmin = 0.5, sc/m of sub-blocks 0 and 4 packed by hand', () => {
    const b = new Uint8Array(144);
    b[0] = 0x00; b[1] = 0x3c; // d = 1
    b[2] = 0x00; b[3] = 0x38; // dmin = 0.5
    // sub-block 0: sc = 2, m = 1 -> scales[0] low 6 bits = 2, scales[4] low 6 bits = 1
    // sub-block 4: sc = 37 = 0b10_0101, m = 20 = 0b01_0100
    //   scales[8] = (sc & 0xF) | (m & 0xF) << 4 = 0x5 | 0x4 << 4 = 0x45
    //   scales[0] top 2 bits = sc >> 4 = 2 -> 0x80 | 2 = 0x82; scales[4] top = m >> 4 = 1 -> 0x40 | 1 = 0x41
    b[4 + 0] = 0x82; b[4 + 4] = 0x41; b[4 + 8] = 0x45;
    // qs at byte 16: chunk 0 covers elements 0..63 (low nibbles 0..31 = sub-block 0, high = sub-block 1)
    b[16 + 0] = 0x07; // element 0: q = 7 -> 1*2*7 - 0.5*1 = 13.5; element 32 (sub-block 1, sc = m = 0) -> 0
    // chunk 2 (bytes 16+64..) covers elements 128..191: low nibbles sub-block 4
    b[16 + 64] = 0x03; // element 128: q = 3 -> 37*3 - 0.5*20 = 101
    const y = decode('q4_k', b);
    expect(y[0]).toBe(13.5);
    expect(y[1]).toBe(-0.5); // q = 0 -> -dmin*m = -0.5
    expect(y[32]).toBe(0);
    expect(y[128]).toBe(101);
    expect(y[129]).toBe(-10); // q = 0 -> -0.5*20
    expect(y[160]).toBe(0); // sub-block 5: sc = m = 0
    expect(y[64]).toBe(0); // sub-block 2: sc = scales[2] & 63 = 0, m = scales[6] & 63 = 0
  });

  it('q6_k: d = 0.25, scales[0] = -3, scales[9] = 5', () => {
    const b = new Uint8Array(210);
    b[208] = 0x00; b[209] = 0x34; // d = 0.25
    b[192 + 0] = (-3) & 0xff;
    b[192 + 9] = 5;
    // element 0: ql[0] low nibble 10, qh[0] bits 0..1 = 2 -> q = 10 + 32 = 42 -> (42-32) = 10 -> 0.25*-3*10 = -7.5
    b[0] = 0x0a; b[128] = 0x02;
    // element 144: half 1, r = 16, group 0, lane 16 -> ql[64+16] low nibble, qh[128+32+16] bits 0..1
    b[80] = 0x01; // q = 1 -> 1-32 = -31 -> 0.25*5*-31 = -38.75
    const y = decode('q6_k', b);
    expect(y[0]).toBe(-7.5);
    expect(y[1]).toBe(0.25 * -3 * -32); // all-zero level bits -> q - 32 = -32 -> 24
    expect(y[144]).toBe(-38.75);
    expect(y[145]).toBe(0.25 * 5 * -32);
    expect(y[16]).toBe(-0); // sub-block 1 has scale 0: (0.25*0) * -32 = -0 in f32, as in C
  });

  it('q8_k: d = 0.125 (f32), qs[0] = -7, bsums ignored by decode', () => {
    const b = new Uint8Array(292);
    new DataView(b.buffer).setFloat32(0, 0.125, true);
    b[4] = (-7) & 0xff; b[5] = 100;
    b[260] = 0x7f; // a bogus bsum must not change decoding
    const y = decode('q8_k', b);
    expect([y[0], y[1], y[2]]).toEqual([-0.875, 12.5, 0]);
  });
});
