/**
 * GGUF reader/writer: round trip of every metadata value type, tensor placement and
 * alignment, and typed errors for broken files. The byte layout is also checked against
 * a hand-assembled file built here from the spec (not through our writer).
 */
import { describe, expect, it } from 'vitest';
import { GemmaError } from '../../src/errors.js';
import { GgufType, ggufToBuffer, ggufTyped, readGguf, readGgufTensor, writeGguf } from '../../src/format/gguf.js';
import { BufferSource } from '../../src/io/source.js';

const enc = new TextEncoder();

/** A minimal GGUF v3 assembled byte by byte from the spec. */
let TYPE_OFFSET = -1;
function handMade(): Uint8Array {
  const parts: number[] = [];
  const u32 = (v: number) => { for (let i = 0; i < 4; i++) parts.push((v >>> (8 * i)) & 255); };
  const u64 = (v: number) => { u32(v); u32(0); };
  const str = (s: string) => { const b = enc.encode(s); u64(b.length); parts.push(...b); };
  u32(0x46554747); u32(3); u64(1); u64(2);
  str('general.architecture'); u32(8); str('gemma3');
  str('x.arr'); u32(9); u32(5); u64(3); u32(1); u32(0xffffffff); u32(7); // i32 array [1, -1, 7]
  str('t'); u32(2); u64(4); u64(2); TYPE_OFFSET = parts.length; u32(0); u64(0); // f32 [2, 4] (ne = [4, 2])
  while (parts.length % 32) parts.push(0);
  for (let i = 0; i < 8; i++) { const f = new Float32Array([i + 0.5]); parts.push(...new Uint8Array(f.buffer)); }
  return Uint8Array.from(parts);
}

async function errOf(p: Promise<unknown>): Promise<GemmaError> {
  try { await p; } catch (e) { if (e instanceof GemmaError) return e; throw e; }
  throw new Error('expected a GemmaError');
}

describe('GGUF', () => {
  it('reads a hand-assembled file', async () => {
    const f = await readGguf(new BufferSource(handMade(), 'h.gguf'));
    expect(f.version).toBe(3);
    expect(f.metadata.get('general.architecture')).toBe('gemma3');
    expect(Array.from(f.metadata.get('x.arr') as Int32Array)).toEqual([1, -1, 7]);
    const t = f.tensorByName.get('t')!;
    expect(t.shape).toEqual([2, 4]);
    expect(t.dtype).toBe('f32');
    expect(Array.from(new Float32Array((await readGgufTensor(f, t)).slice().buffer))).toEqual([0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5]);
  });

  it('round-trips every metadata type and aligned tensors', async () => {
    const meta = new Map([
      ['u8', { type: GgufType.UINT8, value: 200 }], ['i8', { type: GgufType.INT8, value: -5 }],
      ['u16', { type: GgufType.UINT16, value: 60000 }], ['i16', { type: GgufType.INT16, value: -3000 }],
      ['u32', { type: GgufType.UINT32, value: 4e9 }], ['i32', { type: GgufType.INT32, value: -2e9 }],
      ['f32', { type: GgufType.FLOAT32, value: 1.5 }], ['f64', { type: GgufType.FLOAT64, value: Math.PI }],
      ['b', { type: GgufType.BOOL, value: true }], ['s', { type: GgufType.STRING, value: 'héllo ✓' }],
      ['u64', { type: GgufType.UINT64, value: 2n ** 60n }], ['i64', { type: GgufType.INT64, value: -(2n ** 60n) }],
      ['strs', ggufTyped(['a', '', '<0x0A>'])], ['fa', ggufTyped(Float32Array.from([1, 2]))],
      ['nested', ggufTyped([['x'], ['y', 'z']] as unknown as string[])],
    ]);
    const data = Uint8Array.from({ length: 34 * 2 }, (_, i) => i);
    const buf = await ggufToBuffer(writeGguf(meta as never, [
      { name: 'a', dtype: 'f16', shape: [3], data: new Uint8Array(6) },
      { name: 'q', dtype: 'q8_0', shape: [2, 32], data },
    ], 64));
    const f = await readGguf(new BufferSource(buf));
    for (const [k, v] of meta) {
      if (k === 'nested') { expect((f.metadata.get(k) as string[][]).map((x) => [...x])).toEqual([['x'], ['y', 'z']]); continue; }
      const got = f.metadata.get(k);
      if (v.type === GgufType.FLOAT32) expect(got).toBeCloseTo(v.value as number, 6);
      else if (ArrayBuffer.isView(got)) expect(Array.from(got as Float32Array)).toEqual(Array.from(v.value as Float32Array));
      else expect(got).toEqual(v.value);
    }
    expect(f.alignment).toBe(64);
    const q = f.tensorByName.get('q')!;
    expect(q.offset % 64).toBe(0);
    expect(await readGgufTensor(f, q)).toEqual(data);
  });

  it('rejects broken files with typed errors', async () => {
    const good = handMade();
    const cases: [string, Uint8Array, string][] = [
      ['bad magic', Uint8Array.from([1, 2, 3, 4, ...good.subarray(4)]), 'BAD_MAGIC'],
      ['version 1', (() => { const b = good.slice(); b[4] = 1; return b; })(), 'UNSUPPORTED_VERSION'],
      ['truncated header', good.subarray(0, 60), 'TRUNCATED'],
      ['count larger than the file', good.subarray(0, 40), 'BAD_HEADER'],
      ['truncated data', good.subarray(0, good.length - 4), 'TRUNCATED'],
      ['huge tensor count', (() => { const b = good.slice(); b[15] = 0x7f; return b; })(), 'BAD_HEADER'],
      ['huge string length', (() => { const b = good.slice(); b[24 + 7] = 0x10; return b; })(), 'BAD_HEADER'],
    ];
    for (const [what, bytes, code] of cases) {
      const e = await errOf(readGguf(new BufferSource(bytes, 'bad.gguf')));
      expect(e.code, what).toBe(code);
      expect(e.file, what).toBe('bad.gguf');
    }
  });

  it('names the tensor and type of an unsupported ggml type', async () => {
    const b = handMade();
    // patch the tensor's type (u32 after name 't' and dims) to IQ2_XXS (16)
    new DataView(b.buffer).setUint32(TYPE_OFFSET, 16, true);
    const f = await readGguf(new BufferSource(b, 'iq.gguf'));
    const e = await errOf(readGgufTensor(f, f.tensorByName.get('t')!));
    expect(e.code).toBe('UNSUPPORTED_DTYPE');
    expect(e.tensor).toBe('t');
    expect(e.message).toContain('IQ2_XXS');
  });
});
