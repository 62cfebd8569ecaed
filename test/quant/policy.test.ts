/**
 * Policy rules beyond what the llama-quantize fixture covers: rule order, HF names, the
 * token-embedding override, the block-size fallback on odd shapes, the compact syntax, and
 * the llama-quantize command-line surface of `gemma-ts quantize`.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { quantizeCommand } from '../../src/cli/commands/quantize.js';
import { readGguf } from '../../src/format/gguf.js';
import { FileSource } from '../../src/io/node-file.js';
import { chooseScheme, fallbackScheme, isQuantizable, parsePolicySpec, resolvePolicy, useMoreBits } from '../../src/quant/policy.js';
import { QUANT_TEST_DIR, quantTestGgufFile } from './quant-models.js';

const T = (name: string, shape: number[], numLayers = 8, hfName?: string) => ({ name, shape, numLayers, hfName });

describe('quantization policy', () => {
  it("fallback: llama.cpp's tensor_type_fallback table (K types to 32-block types, then F16)", () => {
    expect(fallbackScheme('q4_k', 512)).toBe('q4_k');
    expect(fallbackScheme('q4_k', 64)).toBe('q5_0');
    expect(fallbackScheme('q5_k', 160)).toBe('q5_1');
    expect(fallbackScheme('q6_k', 96)).toBe('q8_0');
    expect(fallbackScheme('q4_k', 48)).toBe('f16'); // 48 is not a whole 32-block either
    expect(fallbackScheme('q8_0', 48)).toBe('f16');
    expect(fallbackScheme('f32', 7)).toBe('f32');
  });

  it('only 2-D *.weight tensors other than norms are quantized', () => {
    expect(isQuantizable('blk.0.attn_q.weight', [64, 64])).toBe(true);
    expect(isQuantizable('blk.0.attn_norm.weight', [64])).toBe(false);
    expect(isQuantizable('blk.0.attn_q_norm.weight', [16, 1])).toBe(false);
    expect(isQuantizable('rope_freqs', [32, 2])).toBe(false);
    expect(chooseScheme(resolvePolicy('q4_0'), T('output_norm.weight', [64])).scheme).toBeNull();
  });

  it('useMoreBits: first and last eighth and every third layer between (n = 8, 26)', () => {
    expect([...Array(8).keys()].filter((i) => useMoreBits(i, 8))).toEqual([0, 3, 6, 7]);
    // Gemma 2 2B (26 layers): n/8 = 3, 7n/8 = 22 -> 0,1,2 + 5,8,...,20 + 22..25
    expect([...Array(26).keys()].filter((i) => useMoreBits(i, 26))).toEqual([0, 1, 2, 5, 8, 11, 14, 17, 20, 22, 23, 24, 25]);
  });

  it('rules: first match wins, HF names match too, the fallback still applies', () => {
    const p = resolvePolicy({ recipe: 'q4_k_m', rules: [{ pattern: 'attn_v', scheme: 'q8_0' }, { pattern: 'attn_', scheme: 'q5_k' }, { pattern: 'mlp\\.down', scheme: 'q6_k' }] });
    expect(chooseScheme(p, T('blk.0.attn_v.weight', [256, 256]))).toEqual({ scheme: 'q8_0', reason: 'rule' });
    expect(chooseScheme(p, T('blk.1.attn_q.weight', [256, 256]))).toEqual({ scheme: 'q5_k', reason: 'rule' });
    expect(chooseScheme(p, T('blk.1.attn_q.weight', [256, 64]))).toEqual({ scheme: 'q5_1', fallbackFrom: 'q5_k', reason: 'rule' });
    expect(chooseScheme(p, T('blk.1.ffn_down.weight', [256, 512], 8, 'model.layers.1.mlp.down_proj.weight')).scheme).toBe('q6_k');
    // not matched: the recipe's own mixing (Q4_K_M: ffn_down of layer 1 of 8 keeps Q4_K)
    expect(chooseScheme(p, T('blk.1.ffn_down.weight', [256, 512])).scheme).toBe('q4_k');
    expect(chooseScheme(p, T('blk.0.ffn_down.weight', [256, 512])).scheme).toBe('q6_k');
    // tied embedding = output head: Q6_K; --token-embedding-type overrides it
    expect(chooseScheme(p, T('token_embd.weight', [1000, 256])).scheme).toBe('q6_k');
    expect(chooseScheme(resolvePolicy({ recipe: 'q4_k_m', tokenEmbedding: 'q8_0' }), T('token_embd.weight', [1000, 256]))).toEqual({ scheme: 'q8_0', reason: 'token-embedding' });
    // rules apply to float recipes as well (a lab policy: f16 except the FFN)
    expect(chooseScheme(resolvePolicy('f16+ffn_=q4_0'), T('blk.0.ffn_up.weight', [128, 64])).scheme).toBe('q4_0');
    expect(chooseScheme(resolvePolicy('f16+ffn_=q4_0'), T('blk.0.attn_q.weight', [64, 64])).scheme).toBe('f16');
  });

  it('compact syntax and aliases', () => {
    expect(parsePolicySpec('q8_0/pure+ffn_=q4_k+token_embd=q6_k')).toEqual({ recipe: 'q8_0', pure: true, rules: [{ pattern: 'ffn_', scheme: 'q4_k' }, { pattern: 'token_embd', scheme: 'q6_k' }] });
    expect(resolvePolicy('q4_k').recipe.name).toBe('q4_k_m');
    expect(resolvePolicy('Q5_K').recipe.name).toBe('q5_k_m');
    expect(resolvePolicy('q4_k/pure+attn_v=q8_0').label).toBe('q4_k_m/pure+attn_v=q8_0');
  });

  it('gemma-ts quantize: --type, --tensor-type (repeatable, comma lists), --token-embedding-type', async () => {
    const input = await quantTestGgufFile('tiny-gemma-3-k256', 'f32');
    const out = join(QUANT_TEST_DIR, 'cli-rules.gguf');
    const err = console.error;
    console.error = () => {};
    try {
      await quantizeCommand.run([input, out, '--type', 'q4_k_s', '--tensor-type', 'attn_v=q8_0,ffn_down=q5_0', '--tensor-type=blk\\.5\\.ffn_up=q6_k', '--token-embedding-type', 'q4_k']);
    } finally {
      console.error = err;
    }
    const src = await FileSource.open(out);
    const f = await readGguf(src);
    const type = (n: string) => f.tensorByName.get(n)!.dtype;
    expect(f.metadata.get('general.file_type')).toBe(14);
    expect(type('blk.0.attn_v.weight')).toBe('q8_0');
    expect(type('blk.3.ffn_down.weight')).toBe('q5_0');
    expect(type('blk.5.ffn_up.weight')).toBe('q6_k');
    expect(type('blk.4.ffn_up.weight')).toBe('q4_k');
    expect(type('token_embd.weight')).toBe('q4_k');
    expect(type('blk.0.attn_norm.weight')).toBe('f32');
    await src.close();
    await expect(quantizeCommand.run([input, out])).rejects.toThrow('--type is required');
  });
});
