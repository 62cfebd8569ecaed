/** Loading a model that does not fit its config: typed errors naming file, tensor and problem. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSynth } from '../../src/cli/commands/synth.js';
import { GemmaError } from '../../src/errors.js';
import { ReferenceBackend } from '../../src/kernels/reference/index.js';
import { configFromHf } from '../../src/model/config.js';
import { loadPath } from '../../src/node.js';
import { TEST_DIR } from '../helpers/models.js';

async function loadErr(path: string): Promise<GemmaError> {
  try { await loadPath(path, { backend: new ReferenceBackend() }); } catch (e) { if (e instanceof GemmaError) return e; throw e; }
  throw new Error('expected a GemmaError');
}

describe('model loading errors', () => {
  it('missing tensor, wrong shape, unknown model type, truncated weights, bad JSON', async () => {
    const dir = await mkdtemp(join(TEST_DIR, 'err-'));
    const st = await writeSynth('tiny-gemma-3', 'f32', 'safetensors', 1, join(dir, 'st'));
    const cfgPath = join(st, 'config.json');
    const cfg = JSON.parse(await readFile(cfgPath, 'utf8'));

    await writeFile(cfgPath, JSON.stringify({ ...cfg, num_hidden_layers: 7, layer_types: undefined }));
    let e = await loadErr(st);
    expect(e.code).toBe('MISSING_TENSOR');
    expect(e.tensor).toBe('model.layers.6.input_layernorm.weight');

    await writeFile(cfgPath, JSON.stringify({ ...cfg, intermediate_size: 96 }));
    e = await loadErr(st);
    expect(e.code).toBe('BAD_SHAPE');
    expect(e.tensor).toBe('model.layers.0.mlp.gate_proj.weight');
    expect(e.message).toContain('[160,64]');

    await writeFile(cfgPath, JSON.stringify({ ...cfg, model_type: 'llama' }));
    expect((await loadErr(st)).code).toBe('UNKNOWN_MODEL');

    await writeFile(cfgPath, '{ not json');
    expect((await loadErr(st)).code).toBe('BAD_CONFIG');

    await writeFile(cfgPath, JSON.stringify(cfg));
    const w = join(st, 'model.safetensors');
    const bytes = await readFile(w);
    await writeFile(w, bytes.subarray(0, bytes.length - 100));
    e = await loadErr(st);
    expect(e.code).toBe('TRUNCATED');
    expect(e.file).toBe(w);

    await rm(w);
    expect((await loadErr(st)).code).toBe('IO');

    const gg = await writeSynth('tiny-gemma-2', 'f16', 'gguf', 1, join(dir, 'm.gguf'));
    const gb = await readFile(gg);
    await writeFile(gg, gb.subarray(0, gb.length - 1000));
    e = await loadErr(gg);
    expect(e.code).toBe('TRUNCATED');
    expect(e.tensor).toBeDefined();
    expect((await loadErr(join(dir, 'nope.gguf'))).code).toBe('IO');
  });

  it('config pitfalls: Gemma 1 "gelu" means tanh-GELU, Gemma 3 wrapper configs, rope scaling on global layers', () => {
    const g1 = configFromHf({ model_type: 'gemma', hidden_act: 'gelu', vocab_size: 10, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 4 });
    expect(g1.queryPreAttnScalar).toBe(4);
    expect(g1.layerTypes).toEqual(['full']);
    const g3 = configFromHf({ model_type: 'gemma3', text_config: { vocab_size: 10, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 6, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 4, sliding_window: 4, query_pre_attn_scalar: 8, rope_scaling: { rope_type: 'linear', factor: 8 } } });
    expect(g3.family).toBe(3);
    expect(g3.layerTypes).toEqual(['sliding', 'sliding', 'sliding', 'sliding', 'sliding', 'full']);
    expect(g3.ropeScaling).toBe(8);
    expect(g3.ropeLocalTheta).toBe(10000);
    expect(g3.ropeTheta).toBe(1_000_000);
    expect(g3.queryPreAttnScalar).toBe(8);
    expect(() => configFromHf({ ...{ model_type: 'gemma2', vocab_size: 10, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 2, num_attention_heads: 3, num_key_value_heads: 2 } })).toThrow(GemmaError);
  });
});

describe('KV cache allocation failure', () => {
  it('a backend that runs out of memory part-way through a cache gets every layer made so far back', async () => {
    const { KvCache } = await import('../../src/model/kv-cache.js');
    const { getPreset } = await import('../../src/model/config.js');
    const ref = new ReferenceBackend();
    let made = 0, freed = 0;
    const failing = new Proxy(ref, {
      get(t, k) {
        if (k === 'createKvLayer') return (cap: number, dim: number) => {
          if (made === 3) throw new GemmaError('BACKEND', 'out of memory (test)');
          made++;
          return t.createKvLayer(cap, dim);
        };
        if (k === 'freeKvLayer') return (l: unknown) => { freed++; (t.freeKvLayer as (x: unknown) => void)(l); };
        const v = Reflect.get(t, k);
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
    const cfg = getPreset('tiny-gemma-3');
    expect(() => new KvCache(failing, cfg, 64, 16)).toThrow(/out of memory/);
    expect(made).toBe(3);
    expect(freed).toBe(3);
  });
});
