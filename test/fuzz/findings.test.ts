/**
 * Regression tests for what the fuzzer found, written as plain inputs (not replayed seeds,
 * so they stay meaningful when the mutators change). Each input is built here from the
 * format's spec, and each must end quickly in a GemmaError with the stated code.
 */
import { describe, expect, it } from 'vitest';
import { GemmaError } from '../../src/errors.js';
import { jsonDepth } from '../../src/format/json-depth.js';
import { readSafetensors } from '../../src/format/safetensors.js';
import { BufferSource } from '../../src/io/source.js';
import { synthTokenizerJson } from '../../src/model/synth-extras.js';
import { GemmaTokenizer, tokenizerFromFiles } from '../../src/tokenizer/index.js';
import type { FileSet } from '../../src/format/store.js';
import { ReferenceBackend } from '../../src/kernels/reference/index.js';
import { loadFileSet } from '../../src/load.js';
import { configToHf } from '../../src/model/config.js';
import { fuzzConfig } from './corpus.js';

async function codeOf(f: () => unknown): Promise<string> {
  try { await f(); } catch (e) { if (e instanceof GemmaError) return e.code; throw e; }
  return 'ok';
}

function timed<T>(f: () => T): { value: T; ms: number } {
  const t0 = performance.now();
  const value = f();
  return { value, ms: performance.now() - t0 };
}

/** u64 header length + header + data, as the safetensors spec lays it out */
function safetensorsBytes(header: string, data = new Uint8Array(0)): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

describe('JSON nesting depth (fuzz: safetensors/tokenizer_config.json nested millions deep blocked the event loop for seconds; tokenizer.json normalizer nested 200 000 deep threw RangeError)', () => {
  it('jsonDepth counts brackets outside strings only', () => {
    expect(jsonDepth('{"a":[1,{"b":[]}]}')).toBe(4);
    expect(jsonDepth('{"a":"[[[[[[\\"[[["}')).toBe(1);
    expect(jsonDepth(new TextEncoder().encode('[[["]]]"]]]'))).toBe(3);
    expect(jsonDepth('['.repeat(300) + ']'.repeat(300))).toBe(-1);
    expect(jsonDepth('['.repeat(256) + ']'.repeat(256))).toBe(256);
  });

  it('a safetensors header of 3 000 000 nested brackets is LIMIT, in well under a second', async () => {
    const deep = '['.repeat(3_000_000) + ']'.repeat(3_000_000);
    const bytes = safetensorsBytes(`{"__metadata__":{"format":"pt"},"x":${deep}}`);
    const t0 = performance.now();
    expect(await codeOf(() => readSafetensors(new BufferSource(bytes, 'deep.safetensors')))).toBe('LIMIT');
    // JSON.parse alone would take ~6 s (2 µs per level)
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('tokenizer_config.json nested 2 000 000 deep is LIMIT', () => {
    const tj = synthTokenizerJson(320);
    const cfg = `{"chat_template":"x","deep":${'{"a":'.repeat(2_000_000)}1${'}'.repeat(2_000_000)}}`;
    const r = timed(() => { try { tokenizerFromFiles({ 'tokenizer.json': tj, 'tokenizer_config.json': cfg }); return 'ok'; } catch (e) { return (e as GemmaError).code; } });
    expect(r.value).toBe('LIMIT');
    expect(r.ms).toBeLessThan(1000);
  });

  it('a tokenizer.json normalizer nested 200 000 deep is a TOKENIZER error, not a stack overflow', () => {
    const j = JSON.parse(synthTokenizerJson(320)) as Record<string, unknown>;
    j['normalizer'] = '\u0000N';
    const text = JSON.stringify(j).replace('"\\u0000N"', '['.repeat(200_000) + ']'.repeat(200_000));
    let err: unknown;
    try { GemmaTokenizer.fromTokenizerJson(text); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(GemmaError);
    expect((err as GemmaError).code).toBe('TOKENIZER');
    expect((err as GemmaError).message).toMatch(/nested deeper than 256/);
  });

  it('deep values the reader skips are still fine (unknown keys)', () => {
    const j = JSON.parse(synthTokenizerJson(320)) as Record<string, unknown>;
    j['unknown_extension'] = '\u0000N';
    const text = JSON.stringify(j).replace('"\\u0000N"', '['.repeat(10_000) + ']'.repeat(10_000));
    expect(GemmaTokenizer.fromTokenizerJson(text).encode('the cat', { addBos: false }).length).toBeGreaterThan(0);
  });

  it('config.json values nested 200 000 deep are LIMIT, not a stack overflow (fuzz: config seed 3 cases 586 and 1213, RangeError in configFromHf)', async () => {
    const base = configToHf(fuzzConfig(2));
    for (const key of ['layer_types', 'eos_token_id', 'model_type']) {
      const text = JSON.stringify({ ...base, [key]: '\u0000D' }).replace('"\\u0000D"', '['.repeat(200_000) + '1' + ']'.repeat(200_000));
      const files: FileSet = {
        name: 'deep', has: async (f) => f === 'config.json',
        open: async () => new BufferSource(new TextEncoder().encode(text), 'deep/config.json'),
      };
      expect(await codeOf(() => loadFileSet(files, { backend: new ReferenceBackend() })), key).toBe('LIMIT');
    }
  });
});

describe('safetensors duplicate tensor names (the issue: "duplicate names"; JSON.parse keeps the last silently)', () => {
  const f32 = (n: number) => new Uint8Array(n * 4);
  it('a tensor named twice is DUPLICATE, however its name is escaped', async () => {
    for (const second of ['"w"', '"\\u0077"']) {
      const header = `{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},${second}:{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}`;
      let err: unknown;
      try { await readSafetensors(new BufferSource(safetensorsBytes(header, f32(4)), 'dup.safetensors')); } catch (e) { err = e; }
      expect(err, header).toBeInstanceOf(GemmaError);
      expect((err as GemmaError).code).toBe('DUPLICATE');
      expect((err as GemmaError).tensor).toBe('w');
    }
  });

  it('equal names at other depths, and in string values, are not duplicates', async () => {
    const header = '{"__metadata__":{"w":"w","a":"x"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}';
    const f = await readSafetensors(new BufferSource(safetensorsBytes(header, f32(3)), 'ok.safetensors'));
    expect([...f.tensors.keys()]).toEqual(['w', 'a']);
  });
});

describe('inconsistent files fail at load, not at the first prompt (fuzz: gguf seed 1 cases 629, 1405, 1628 and config cases 15, 462 loaded, then generation failed with BAD_ARGUMENT blaming the caller)', () => {
  it('a GGUF whose embedding has fewer rows than the tokenizer has pieces is TOKENIZER', async () => {
    const { corpus } = await import('./corpus.js');
    const { ggufFields } = await import('./layout.js');
    const bytes = (await corpus()).get('gguf')!.find((e) => e.name === 'g1-f32')!.bytes.slice();
    // token_embd.weight ne = [32, 320] (hidden, vocab): claim 160 rows — a smaller tensor, still inside the file
    const ne1 = ggufFields(bytes).filter((f) => f.kind === 'ne' && f.key === 'token_embd.weight')[1]!;
    new DataView(bytes.buffer).setBigUint64(ne1.pos, 160n, true);
    const { loadModel } = await import('../../src/index.js');
    let err: unknown;
    try { await loadModel(bytes, { backend: new ReferenceBackend() }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(GemmaError);
    expect((err as GemmaError).code).toBe('TOKENIZER');
    expect((err as GemmaError).message).toContain('320 pieces');
    expect((err as GemmaError).message).toContain('160 rows');
  });

  it('bos/eos/pad ids that are not token ids are BAD_CONFIG naming the field', async () => {
    const { configFromHf } = await import('../../src/model/config.js');
    const base = configToHf(fuzzConfig(1));
    for (const [k, v] of [['bos_token_id', 2.5], ['eos_token_id', 1e-6], ['pad_token_id', 320], ['bos_token_id', -2], ['eos_token_id', []]] as const) {
      let err: unknown;
      try { configFromHf({ ...base, [k]: v }); } catch (e) { err = e; }
      expect(err, `${k} = ${JSON.stringify(v)}`).toBeInstanceOf(GemmaError);
      expect((err as GemmaError).code).toBe('BAD_CONFIG');
      expect((err as GemmaError).field).toBe(k);
    }
    expect(configFromHf({ ...base, eos_token_id: [1, 106] }).eosId).toBe(1);
  });
});

describe('claimed sizes (fuzz: tokenizer-json seed 7 case 3534 — one vocab id of 4 000 000 in a 20 KB file sized ~100 MB of arrays)', () => {
  it('a vocab id far past the pieces the file holds is TOKENIZER before anything is sized by it', () => {
    const j = JSON.parse(synthTokenizerJson(320)) as { model: { vocab: Record<string, number> } };
    j.model.vocab['<start_of_turn>'] = 4_000_000;
    const before = process.memoryUsage().arrayBuffers;
    let err: unknown;
    try { GemmaTokenizer.fromTokenizerJson(JSON.stringify(j)); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(GemmaError);
    expect((err as GemmaError).code).toBe('TOKENIZER');
    expect((err as GemmaError).field).toBe('model.vocab');
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(8 << 20);
  });
});

