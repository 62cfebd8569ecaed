/** Safetensors reader: hand-built files from the spec, and typed errors for bad headers. */
import { describe, expect, it } from 'vitest';
import { GemmaError } from '../../src/errors.js';
import { readSafetensors, readSafetensorsTensor, SAFETENSORS_MAX_HEADER, writeSafetensors } from '../../src/format/safetensors.js';
import { BufferSource } from '../../src/io/source.js';

function build(header: unknown, data: Uint8Array, lenOverride?: bigint): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lenOverride ?? BigInt(h.length), true);
  out.set(h, 8); out.set(data, 8 + h.length);
  return out;
}

async function code(bytes: Uint8Array): Promise<string> {
  try { await readSafetensors(new BufferSource(bytes, 'x.safetensors')); } catch (e) { if (e instanceof GemmaError) { expect(e.file).toBe('x.safetensors'); return e.code; } throw e; }
  return 'OK';
}

describe('safetensors', () => {
  it('reads a hand-built file (bf16 + f32) and our writer produces the same bytes layout', async () => {
    const data = Uint8Array.from([0x80, 0x3f, 0x00, 0xc0, 0, 0, 0x80, 0x3f]); // bf16 [1, -2], f32 [1]
    const hdr = { a: { dtype: 'BF16', shape: [2], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1, 1], data_offsets: [4, 8] }, __metadata__: { format: 'pt' } };
    const f = await readSafetensors(new BufferSource(build(hdr, data)));
    expect(f.metadata.format).toBe('pt');
    expect(f.tensors.get('a')!.dtype).toBe('bf16');
    expect(await readSafetensorsTensor(f, f.tensors.get('b')!)).toEqual(data.subarray(4));
    const ours = writeSafetensors([{ name: 'a', dtype: 'bf16', shape: [2], data: data.subarray(0, 4) }, { name: 'b', dtype: 'f32', shape: [1, 1], data: data.subarray(4) }]);
    const g = await readSafetensors(new BufferSource(ours));
    expect(await readSafetensorsTensor(g, g.tensors.get('a')!)).toEqual(data.subarray(0, 4));
    expect((g.tensors.get('a')!.offset) % 8).toBe(0);
  });

  it('rejects bad headers before reading tensors', async () => {
    const d = new Uint8Array(8);
    const ok = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
    expect(await code(build(ok, d))).toBe('OK');
    expect(await code(new Uint8Array(5))).toBe('TRUNCATED');
    expect(await code(build(ok, d, BigInt(SAFETENSORS_MAX_HEADER) + 1n))).toBe('LIMIT');
    expect(await code(build(ok, d, 10_000n))).toBe('TRUNCATED');
    expect(await code(build([1, 2], d))).toBe('BAD_HEADER');
    expect(await code(Uint8Array.from([...build(ok, d).subarray(0, 8), 0x7b, 0x7b, ...new Uint8Array(60)]))).toBe('BAD_HEADER'); // not JSON
    expect(await code(build({ a: { dtype: 'Q9', shape: [2], data_offsets: [0, 8] } }, d))).toBe('UNSUPPORTED_DTYPE');
    expect(await code(build({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, d))).toBe('BAD_TENSOR'); // size mismatch
    expect(await code(build({ a: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, d))).toBe('BAD_SHAPE');
    expect(await code(build({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, d))).toBe('TRUNCATED');
    expect(await code(build({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, d))).toBe('BAD_TENSOR'); // overlap
  });

  it('I64 and other dtypes we do not load are reported when the tensor is read', async () => {
    const f = await readSafetensors(new BufferSource(build({ a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8))));
    await expect(readSafetensorsTensor(f, f.tensors.get('a')!)).rejects.toMatchObject({ code: 'UNSUPPORTED_DTYPE', tensor: 'a' });
  });
});
