/**
 * Bad quantized input: typed errors that name the tensor and the problem, raised from the
 * header before anything is allocated from its numbers; and bad quantization requests.
 */
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { quantizeModelFile } from '../../src/cli/commands/quantize.js';
import { GemmaError } from '../../src/errors.js';
import { ggufToBuffer, readGguf, writeGguf } from '../../src/format/gguf.js';
import { ggufStore } from '../../src/format/store.js';
import { BufferSource } from '../../src/io/source.js';
import { ReferenceBackend } from '../../src/kernels/reference/index.js';
import { configFromGguf } from '../../src/model/gguf-config.js';
import { loadWeights } from '../../src/model/load-weights.js';
import { registerCodec, hasCodec, getCodec } from '../../src/quant/index.js';
import { resolvePolicy } from '../../src/quant/policy.js';
import { planQuantizedGguf } from '../../src/quant/quantize-model.js';
import { openGgufModel } from '../../src/quant/source-model.js';
import { QUANT_TEST_DIR, quantTestGgufBytes } from './quant-models.js';

async function caught(f: () => unknown): Promise<GemmaError> {
  try { await f(); } catch (e) { if (e instanceof GemmaError) return e; throw e; }
  throw new Error('expected a GemmaError');
}

/**
 * Rewrite one tensor info in a GGUF header (written here from the GGUF spec, independent of
 * the reader): string name (u64 length + bytes), u32 n_dims, u64 ne[n_dims], u32 ggml type.
 */
function patchTensorInfo(buf: Uint8Array, name: string, patch: { type?: number; ne?: bigint[] }): Uint8Array {
  const out = buf.slice();
  const key = new Uint8Array(8 + name.length);
  new DataView(key.buffer).setBigUint64(0, BigInt(name.length), true);
  key.set(new TextEncoder().encode(name), 8);
  let at = -1;
  for (let i = 0; i + key.length <= out.length && at < 0; i++) {
    let j = 0;
    while (j < key.length && out[i + j] === key[j]) j++;
    if (j === key.length) at = i;
  }
  if (at < 0) throw new Error(`tensor info ${name} not found`);
  const dv = new DataView(out.buffer);
  let p = at + key.length;
  const nd = dv.getUint32(p, true);
  p += 4;
  for (let d = 0; d < nd; d++) {
    if (patch.ne?.[d] !== undefined) dv.setBigUint64(p, patch.ne[d]!, true);
    p += 8;
  }
  if (patch.type !== undefined) dv.setUint32(p, patch.type, true);
  return out;
}

const IQ2_XXS = 16, Q4_0 = 2, Q4_K = 12;

async function loadFrom(buf: Uint8Array) {
  const f = await readGguf(new BufferSource(buf, 'bad.gguf'));
  const cfg = configFromGguf(f);
  return loadWeights(ggufStore(f), cfg, new ReferenceBackend());
}

describe('bad quantized GGUF input', () => {
  it('an unsupported ggml type (IQ2_XXS) on a tensor the model needs: UNSUPPORTED_DTYPE naming tensor and type', async () => {
    const good = await quantTestGgufBytes('tiny-gemma-3', 'f32');
    const bad = patchTensorInfo(good, 'blk.2.ffn_up.weight', { type: IQ2_XXS });
    const e = await caught(() => loadFrom(bad));
    expect(e.code).toBe('UNSUPPORTED_DTYPE');
    expect(e.tensor).toBe('blk.2.ffn_up.weight');
    expect(e.message).toMatch(/IQ2_XXS|\b16\b/);
    // the quantizer says the same, with ggml's type name
    const q = await caught(async () => planQuantizedGguf(await openGgufModel(new BufferSource(bad, 'bad.gguf')), 'q8_0'));
    expect(q.code).toBe('UNSUPPORTED_DTYPE');
    expect(q.tensor).toBe('blk.2.ffn_up.weight');
    expect(q.message).toContain('IQ2_XXS');
  });

  it('an unsupported type on a tensor the model does not use does not stop loading or quantizing', async () => {
    const f = await readGguf(new BufferSource(await quantTestGgufBytes('tiny-gemma', 'f32'), 'in.gguf'));
    const tensors = await Promise.all(f.tensors.map(async (t) => ({ name: t.name, dtype: t.dtype!, shape: t.shape, data: await f.source.read(t.offset, t.byteLength) })));
    tensors.push({ name: 'extra.unused.weight', dtype: 'f32', shape: [4, 64], data: new Uint8Array(4 * 64 * 4) });
    const buf = patchTensorInfo(await ggufToBuffer(writeGguf(f.types, tensors)), 'extra.unused.weight', { type: IQ2_XXS });
    await expect(loadFrom(buf)).resolves.toBeDefined();
    const plan = planQuantizedGguf(await openGgufModel(new BufferSource(buf, 'x.gguf')), 'q8_0');
    expect(plan.tensors.map((t) => t.name)).not.toContain('extra.unused.weight');
  });

  it('a row that is not a whole number of blocks: BAD_SHAPE from the header, even when the shape claims terabytes', async () => {
    const good = await quantTestGgufBytes('tiny-gemma-2', 'f32');
    // blk.0.ffn_down.weight has rows of 160 = 5 q4_0 blocks: as Q4_K (256-element blocks) it is not whole
    let e = await caught(() => readGguf(new BufferSource(patchTensorInfo(good, 'blk.0.ffn_down.weight', { type: Q4_K }), 'b.gguf')));
    expect(e.code).toBe('BAD_SHAPE');
    expect(e.tensor).toBe('blk.0.ffn_down.weight');
    // 48 columns is not a multiple of 32 (Q4_0); 2^40 rows would be ~1 TB if anything were sized from it
    e = await caught(() => readGguf(new BufferSource(patchTensorInfo(good, 'blk.0.attn_q.weight', { type: Q4_0, ne: [48n, 1n << 40n] }), 'b.gguf')));
    expect(e.code).toBe('BAD_SHAPE');
    expect(e.tensor).toBe('blk.0.attn_q.weight');
  });

  it('block data past the end of the file: TRUNCATED naming the tensor, before any tensor is read', async () => {
    const src = await openGgufModel(new BufferSource(await quantTestGgufBytes('tiny-gemma-3-k256', 'f32'), 'in.gguf'));
    const q = await ggufToBuffer(planQuantizedGguf(src, 'q4_k_m').stream());
    const f = await readGguf(new BufferSource(q, 'q.gguf'));
    const last = [...f.tensors].sort((a, b) => b.offset - a.offset)[0]!;
    let e = await caught(() => readGguf(new BufferSource(q.subarray(0, q.length - 100), 'cut.gguf')));
    expect(e.code).toBe('TRUNCATED');
    expect(e.tensor).toBe(last.name);
    // a Q4_K tensor claiming 2^30 rows (154 GB of blocks) in a 2 MB file
    const k = f.tensors.find((t) => t.dtype === 'q4_k')!;
    e = await caught(() => readGguf(new BufferSource(patchTensorInfo(q, k.name, { ne: [BigInt(k.ne[0]!), 1n << 30n] }), 'big.gguf')));
    expect(e.code).toBe('TRUNCATED');
    expect(e.tensor).toBe(k.name);
  });
});

describe('bad quantization requests', () => {
  it('unknown recipes and schemes, q8_k weights, bad patterns: clear errors before any work', () => {
    expect(() => resolvePolicy('q3_k_m')).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
    expect(() => resolvePolicy('q8_0+ffn_=q7_x')).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_DTYPE' }));
    expect(() => resolvePolicy('q8_0+ffn_=q8_k')).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
    expect(() => resolvePolicy({ recipe: 'q8_0', rules: [{ pattern: '(', scheme: 'q4_0' }] })).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
    expect(() => resolvePolicy('q8_0/fast')).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
  });

  it('a user scheme cannot go into a GGUF (llama.cpp could not read it)', async () => {
    if (!hasCodec('halfq8')) registerCodec({ ...getCodec('q8_0'), name: 'halfq8' });
    const src = await openGgufModel(new BufferSource(await quantTestGgufBytes('tiny-gemma', 'f32'), 'in.gguf'));
    const e = await caught(() => planQuantizedGguf(src, { recipe: 'q8_0', rules: [{ pattern: 'ffn_up', scheme: 'halfq8' }] }));
    expect(e.code).toBe('BAD_ARGUMENT');
    expect(e.tensor).toBe('blk.0.ffn_up.weight');
  });

  it('a failure in the middle of writing (NaN weights) leaves no output file behind', async () => {
    const good = await quantTestGgufBytes('tiny-gemma', 'f32');
    const f = await readGguf(new BufferSource(good, 'in.gguf'));
    const t = f.tensorByName.get('blk.1.ffn_down.weight')!;
    const bad = good.slice();
    new DataView(bad.buffer).setFloat32(t.offset + 4 * 100, NaN, true); // row 0, element 100
    const input = join(QUANT_TEST_DIR, 'nan-input.gguf');
    await writeFile(input, bad);
    const out = join(QUANT_TEST_DIR, 'nan-output.gguf');
    const e = await caught(() => quantizeModelFile(input, out, 'q8_0'));
    expect(e.code).toBe('BAD_ARGUMENT');
    expect(e.tensor).toBe('blk.1.ffn_down.weight');
    expect(e.message).toContain('row 0');
    await expect(access(out)).rejects.toThrow();
    await expect(access(`${out}.partial`)).rejects.toThrow();
    expect((await caught(() => quantizeModelFile(join(QUANT_TEST_DIR, 'missing.gguf'), out, 'q8_0'))).code).toBe('IO');
  });
});
