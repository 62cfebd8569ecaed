/**
 * `gemma-ts quantize` against llama.cpp's own quantizer: for every case of quant-models.ts,
 * the file we write has the same tensor types (recipe mixing, K-quant fallback, --pure) and
 * the same tensor bytes as llama_model_quantize wrote (fixtures/llama-quantize.json, made by
 * fixtures/gen-llama-quantize.mts with the libllama that node-llama-cpp ships).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ggufToBuffer, readGguf } from '../../src/format/gguf.js';
import { BufferSource } from '../../src/io/source.js';
import { openGgufModel } from '../../src/quant/source-model.js';
import { planQuantizedGguf } from '../../src/quant/quantize-model.js';
import { ggmlTypeName } from '../../src/tensor/dtype.js';
import { LLAMA_QUANTIZE_CASES, quantTestGgufBytes } from './quant-models.js';

interface Fixture { reference: string; cases: Record<string, { fileType: number; tensors: Record<string, string>; norms: string }> }
const fx = JSON.parse(readFileSync(new URL('./fixtures/llama-quantize.json', import.meta.url), 'utf8')) as Fixture;
const hash = (b: Uint8Array) => createHash('sha256').update(b).digest('hex').slice(0, 16);

async function ours(input: Uint8Array, recipe: string) {
  const [name, flag] = recipe.split('/');
  const model = await openGgufModel(new BufferSource(input, 'in.gguf'));
  const buf = await ggufToBuffer(planQuantizedGguf(model, { recipe: name!, pure: flag === 'pure' }).stream());
  const f = await readGguf(new BufferSource(buf, 'out.gguf'));
  const tensors: Record<string, string> = {};
  const norms = createHash('sha256');
  for (const t of [...f.tensors].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const data = buf.subarray(t.offset, t.offset + t.byteLength);
    if (t.shape.length === 1) norms.update(t.name).update(data);
    else tensors[t.name] = `${ggmlTypeName(t.ggmlType).toLowerCase()}:${hash(data)}`;
  }
  return { fileType: Number(f.metadata.get('general.file_type')), tensors, norms: norms.digest('hex').slice(0, 16) };
}

describe(`quantized GGUFs equal llama-quantize's (${fx.reference})`, () => {
  for (const c of LLAMA_QUANTIZE_CASES) {
    it(`${c.model} ${c.dtype}: ${c.recipes.join(', ')}`, async () => {
      const input = await quantTestGgufBytes(c.model, c.dtype);
      for (const r of c.recipes) {
        const want = fx.cases[`${c.model}/${c.dtype}/${r}`];
        expect(want, `fixture has no case ${c.model}/${c.dtype}/${r}: rerun the generator`).toBeDefined();
        const got = await ours(input, r);
        // types first (a readable diff when the recipe logic is wrong), then the bytes
        const types = (m: Record<string, string>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.split(':')[0]]));
        expect(types(got.tensors), `${r}: tensor types`).toEqual(types(want!.tensors));
        expect(got.tensors, `${r}: tensor bytes`).toEqual(want!.tensors);
        expect(got.norms, `${r}: norm tensors`).toBe(want!.norms);
        expect(got.fileType, `${r}: general.file_type`).toBe(want!.fileType);
      }
    }, 60_000);
  }
});
