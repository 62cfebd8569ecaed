/**
 * Bit-exactness of dequantizeRow against decoders written here, element by element, from the
 * block layout description (ggml-common.h / the module headers): for element e, find the
 * bytes and bit positions that hold its level and scale, then apply the decode formula in
 * f32 in the order ggml writes it. Deliberately different in structure from src/quant (which
 * walks bytes and writes elements in runs): a shared misreading of the layout would have to
 * be made twice in different shapes.
 */
import { describe, expect, it } from 'vitest';
import { getCodec } from '../../src/quant/index.js';
import { mulberry32, randomBytes, type Rng } from './rng.js';
import { bits, f16, f16At, f32At, int8, k4ScaleMin } from './spec-helpers.js';

const fr = Math.fround;

type SpecDecoder = (block: Uint8Array, e: number) => number;

const SPEC: Record<string, { size: number; bytes: number; f16Fields: number[]; f32Fields: number[]; decode: SpecDecoder }> = {
  q8_0: {
    size: 32, bytes: 34, f16Fields: [0], f32Fields: [],
    decode: (b, e) => fr(int8(b, 2 + e) * f16At(b, 0)),
  },
  q4_0: {
    // element e: byte 2 + (e mod 16), nibble e div 16
    size: 32, bytes: 18, f16Fields: [0], f32Fields: [],
    decode: (b, e) => fr((bits(b, 8 * (2 + (e % 16)) + 4 * Math.floor(e / 16), 4) - 8) * f16At(b, 0)),
  },
  q4_1: {
    size: 32, bytes: 20, f16Fields: [0, 2], f32Fields: [],
    decode: (b, e) => fr(fr(bits(b, 8 * (4 + (e % 16)) + 4 * Math.floor(e / 16), 4) * f16At(b, 0)) + f16At(b, 2)),
  },
  q5_0: {
    // 5th bit of element e is bit e of the u32 at byte 2
    size: 32, bytes: 22, f16Fields: [0], f32Fields: [],
    decode: (b, e) => {
      const q = bits(b, 8 * (6 + (e % 16)) + 4 * Math.floor(e / 16), 4) + 16 * bits(b, 16 + e, 1);
      return fr((q - 16) * f16At(b, 0));
    },
  },
  q5_1: {
    size: 32, bytes: 24, f16Fields: [0, 2], f32Fields: [],
    decode: (b, e) => {
      const q = bits(b, 8 * (8 + (e % 16)) + 4 * Math.floor(e / 16), 4) + 16 * bits(b, 32 + e, 1);
      return fr(fr(q * f16At(b, 0)) + f16At(b, 2));
    },
  },
  q4_k: {
    // sub-block j = e div 32; chunk c = e div 64; byte 16 + 32c + (e mod 32); nibble j mod 2
    size: 256, bytes: 144, f16Fields: [0, 2], f32Fields: [],
    decode: (b, e) => {
      const j = Math.floor(e / 32), c = Math.floor(e / 64);
      const q = bits(b, 8 * (16 + 32 * c + (e % 32)) + 4 * (j % 2), 4);
      const [sc, m] = k4ScaleMin(b, 4, j);
      return fr(fr(fr(f16At(b, 0) * sc) * q) - fr(f16At(b, 2) * m));
    },
  },
  q5_k: {
    // as q4_k at byte 48 + ..., plus high bit j of qh[e mod 32] (qh at byte 16)
    size: 256, bytes: 176, f16Fields: [0, 2], f32Fields: [],
    decode: (b, e) => {
      const j = Math.floor(e / 32), c = Math.floor(e / 64);
      const q = bits(b, 8 * (48 + 32 * c + (e % 32)) + 4 * (j % 2), 4) + 16 * bits(b, 8 * (16 + (e % 32)) + j, 1);
      const [sc, m] = k4ScaleMin(b, 4, j);
      return fr(fr(fr(f16At(b, 0) * sc) * q) - fr(f16At(b, 2) * m));
    },
  },
  q6_k: {
    // half h = e div 128, r = e mod 128, group g = r div 32, lane l = r mod 32
    size: 256, bytes: 210, f16Fields: [208], f32Fields: [],
    decode: (b, e) => {
      const h = Math.floor(e / 128), r = e % 128, g = Math.floor(r / 32), l = r % 32;
      const lo = bits(b, 8 * (64 * h + 32 * (g % 2) + l) + 4 * Math.floor(g / 2), 4);
      const hi = bits(b, 8 * (128 + 32 * h + l) + 2 * g, 2);
      const sc = int8(b, 192 + Math.floor(e / 16));
      return fr(fr(f16At(b, 208) * sc) * (lo + 16 * hi - 32));
    },
  },
  q8_k: {
    size: 256, bytes: 292, f16Fields: [], f32Fields: [0],
    decode: (b, e) => fr(f32At(b, 0) * int8(b, 4 + e)),
  },
  f16: { size: 1, bytes: 2, f16Fields: [], f32Fields: [], decode: (b) => f16At(b, 0) },
  bf16: {
    size: 1, bytes: 2, f16Fields: [], f32Fields: [],
    decode: (b) => { const dv = new DataView(new ArrayBuffer(4)); dv.setUint32(0, bits(b, 0, 16) * 65536); return dv.getFloat32(0); },
  },
  f32: { size: 1, bytes: 4, f16Fields: [], f32Fields: [], decode: (b) => f32At(b, 0) },
};

/** random finite f16 bits: any sign, exponent 0..30 (subnormals included), any mantissa */
function finiteF16(rng: Rng): number {
  return (rng.int(2) << 15) | (rng.int(31) << 10) | rng.int(1024);
}

function randomBlocks(rng: Rng, spec: (typeof SPEC)[string], nBlocks: number): Uint8Array {
  const b = randomBytes(rng, nBlocks * spec.bytes);
  for (let k = 0; k < nBlocks; k++) {
    for (const o of spec.f16Fields) {
      const h = finiteF16(rng);
      b[k * spec.bytes + o] = h & 0xff;
      b[k * spec.bytes + o + 1] = h >> 8;
    }
    for (const o of spec.f32Fields) {
      const dv = new DataView(b.buffer, b.byteOffset + k * spec.bytes + o, 4);
      dv.setFloat32(0, rng.normal() * 10 ** (rng.int(8) - 6), true);
    }
  }
  return b;
}

function sameBits(a: number, b: number): boolean {
  const x = new Float32Array([a, b]);
  const u = new Uint32Array(x.buffer);
  return u[0] === u[1] || (Number.isNaN(a) && Number.isNaN(b));
}

describe('dequantizeRow matches an independent decoder written from the block layout', () => {
  for (const [name, spec] of Object.entries(SPEC)) {
    it(`${name}: random blocks (finite scales), unaligned offsets, bit-exact`, () => {
      const rng = mulberry32(0x5eed + name.length * 7919 + name.charCodeAt(1));
      const nBlocks = spec.size === 1 ? 4099 : spec.size === 32 ? 301 : 37; // odd counts
      const blocks = randomBlocks(rng, spec, nBlocks);
      // place the row at an odd byte offset inside a larger buffer, output at an odd offset
      const srcOff = 3;
      const buf = new Uint8Array(srcOff + blocks.length + 5);
      buf.set(blocks, srcOff);
      const n = nBlocks * spec.size;
      const out = new Float32Array(n + 7).fill(12345);
      getCodec(name).dequantizeRow(buf, srcOff, out, 5, n);
      let bad = -1;
      for (let e = 0; e < n && bad < 0; e++) {
        const k = Math.floor(e / spec.size);
        const expected = spec.decode(blocks.subarray(k * spec.bytes, (k + 1) * spec.bytes), e % spec.size);
        if (!sameBits(out[5 + e]!, expected)) bad = e;
      }
      expect(bad, bad < 0 ? '' : `element ${bad} differs`).toBe(-1);
      // nothing written outside [outOff, outOff + n)
      expect([...out.subarray(0, 5)]).toEqual([12345, 12345, 12345, 12345, 12345]);
      expect([...out.subarray(5 + n)]).toEqual([12345, 12345]);
    });
  }

  it('f16: all 65536 bit patterns decode like the spec decoder (NaN as NaN)', () => {
    const b = new Uint8Array(65536 * 2);
    for (let h = 0; h < 65536; h++) { b[2 * h] = h & 0xff; b[2 * h + 1] = h >> 8; }
    const out = new Float32Array(65536);
    getCodec('f16').dequantizeRow(b, 0, out, 0, 65536);
    let bad = -1;
    for (let h = 0; h < 65536 && bad < 0; h++) if (!sameBits(out[h]!, f16(h))) bad = h;
    expect(bad).toBe(-1);
  });
});
