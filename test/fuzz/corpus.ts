/**
 * The fuzz corpus: small valid inputs, one list per target, built deterministically from
 * code (the same bytes on every machine), so a case is reproducible from
 * (target, seed, case index) alone. Models are deliberately tiny (d = 32, 2 layers,
 * 320-piece vocabulary) so that the header and tokenizer metadata are a large share of
 * each file and a load + 2-token forward costs a few milliseconds.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GgufType, type GgufWriteTensor, ggufToBuffer, writeGguf } from '../../src/format/gguf.js';
import { type GemmaConfig, configToHf, getPreset, layerTypesFromPattern } from '../../src/model/config.js';
import { type FloatDType, ggufConfigMetadata, ggufVocabMetadata, synthGgufTensors, synthHfTensors } from '../../src/model/synth.js';
import { builtinChatTemplate, synthTokenizerJson } from '../../src/model/synth-extras.js';
import { synthVocab } from '../../src/model/synth-vocab.js';
import { writeSafetensors } from '../../src/format/safetensors.js';
import { getCodec } from '../../src/quant/index.js';
import { writeModelProto } from '../tokenizer/proto-writer.js';

export const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

export interface CorpusEntry {
  name: string;
  bytes: Uint8Array;
  /** present only in some checkouts: used by the long run, not by CI */
  optional?: boolean;
}

/** A Gemma config of the given family, small enough that a fuzz case is milliseconds. */
export function fuzzConfig(family: 1 | 2 | 3): GemmaConfig {
  const c = getPreset(family === 1 ? 'tiny-gemma' : family === 2 ? 'tiny-gemma-2' : 'tiny-gemma-3');
  Object.assign(c, {
    vocabSize: 320, hiddenSize: 32, intermediateSize: 64, numLayers: 2, numHeads: 2, numKvHeads: 1,
    headDim: 16, queryPreAttnScalar: 16, maxPositions: 64,
  });
  c.slidingWindow = family === 1 ? null : 8;
  // the layer pattern a GGUF implies (llama.cpp: Gemma 2 alternates, Gemma 3 one global in 6)
  c.layerTypes = family === 1 ? ['full', 'full'] : layerTypesFromPattern(2, family === 2 ? 2 : 6);
  return c;
}

const enc = new TextEncoder();

async function gguf(c: GemmaConfig, dtype: FloatDType | 'q8_0', seed: number, template?: string): Promise<Uint8Array> {
  const meta = ggufConfigMetadata(c, `fuzz-gemma-${c.family}`);
  for (const [k, v] of ggufVocabMetadata(synthVocab(c.vocabSize))) meta.set(k, v);
  if (template) meta.set('tokenizer.chat_template', { type: GgufType.STRING, value: template });
  let tensors: GgufWriteTensor[] = synthGgufTensors(c, { seed, dtype: dtype === 'q8_0' ? 'f32' : dtype, embedStd: 0.1 });
  if (dtype === 'q8_0') {
    // quantize the projections (rows of 32 or 64: whole q8_0 blocks); norms stay f32
    const codec = getCodec('q8_0');
    tensors = tensors.map((t) => t.shape.length < 2 ? t : {
      ...t, dtype: 'q8_0',
      data: async () => {
        const raw = typeof t.data === 'function' ? await t.data() : t.data;
        const f = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
        const [rows, cols] = t.shape as [number, number];
        const rb = (cols / codec.blockSize) * codec.blockBytes;
        const out = new Uint8Array(rows * rb);
        for (let r = 0; r < rows; r++) codec.quantizeRow(f, r * cols, cols, out, r * rb);
        return out;
      },
    });
  }
  return ggufToBuffer(writeGguf(meta, tensors));
}

function safetensors(c: GemmaConfig, dtype: FloatDType, seed: number): Uint8Array {
  return writeSafetensors(synthHfTensors(c, { seed, dtype, embedStd: 0.1 }).map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: t.data() })), { format: 'pt' });
}

function hfConfig(c: GemmaConfig, dtype: FloatDType): Uint8Array {
  const torch = dtype === 'f32' ? 'float32' : dtype === 'f16' ? 'float16' : 'bfloat16';
  return enc.encode(JSON.stringify({ ...configToHf(c), torch_dtype: torch }, null, 2));
}

function tokenizerModel(vocab: number): Uint8Array {
  const v = synthVocab(vocab);
  return writeModelProto({ pieces: v.pieces, scores: v.scores, types: v.types, unkId: v.unkId, bosId: v.bosId, eosId: v.eosId, padId: v.padId,
    byteFallback: true, addDummyPrefix: false, removeExtraWhitespaces: false });
}

function tokenizerConfig(template: string): Uint8Array {
  return enc.encode(JSON.stringify({ bos_token: '<bos>', eos_token: '<eos>', pad_token: '<pad>', unk_token: '<unk>', add_bos_token: true, add_eos_token: false, chat_template: template }, null, 2));
}

let cache: Map<string, CorpusEntry[]> | undefined;

/** Valid inputs per target. The HF targets pair one mutated file with valid companions (`companions`). */
export async function corpus(): Promise<Map<string, CorpusEntry[]>> {
  if (cache) return cache;
  const [c1, c2, c3] = [fuzzConfig(1), fuzzConfig(2), fuzzConfig(3)];
  const m = new Map<string, CorpusEntry[]>();
  m.set('gguf', [
    { name: 'g1-f32', bytes: await gguf(c1, 'f32', 1) },
    { name: 'g2-f16', bytes: await gguf(c2, 'f16', 2, builtinChatTemplate(2)) },
    { name: 'g3-bf16', bytes: await gguf(c3, 'bf16', 3, builtinChatTemplate(3)) },
    { name: 'g3-q8_0', bytes: await gguf(c3, 'q8_0', 4) },
  ]);
  m.set('safetensors', [
    { name: 'g1-f32', bytes: safetensors(c1, 'f32', 1) },
    { name: 'g2-bf16', bytes: safetensors(c2, 'bf16', 2) },
    { name: 'g3-f16', bytes: safetensors(c3, 'f16', 3) },
  ]);
  m.set('config', [
    { name: 'g1', bytes: hfConfig(c1, 'f32') },
    { name: 'g2', bytes: hfConfig(c2, 'bf16') },
    { name: 'g3', bytes: hfConfig(c3, 'f16') },
  ]);
  const tj = enc.encode(synthTokenizerJson(320));
  m.set('tokenizer-json', [{ name: 'synth-320', bytes: tj }]);
  const tm: CorpusEntry[] = [{ name: 'synth-320', bytes: tokenizerModel(320) }];
  // a real-sized SentencePiece model when the demo model is present (not in every checkout)
  const demo = join(ROOT, 'models', 'demo', 'tokenizer.model');
  if (existsSync(demo)) tm.push({ name: 'demo', bytes: new Uint8Array(readFileSync(demo)), optional: true });
  m.set('tokenizer-model', tm);
  m.set('tokenizer-config', [1, 2, 3].map((f) => ({ name: `gemma-${f}`, bytes: tokenizerConfig(builtinChatTemplate(f as 1 | 2 | 3)) })));
  m.set('template', [1, 2, 3].map((f) => ({ name: `gemma-${f}`, bytes: enc.encode(builtinChatTemplate(f as 1 | 2 | 3)) })));
  cache = m;
  return m;
}

/** The valid files a mutated HF-directory file is loaded with. */
export async function companions(): Promise<{ safetensors: Uint8Array[]; config: Uint8Array[]; tokenizerJson: Uint8Array }> {
  const m = await corpus();
  return {
    safetensors: m.get('safetensors')!.map((e) => e.bytes),
    config: m.get('config')!.map((e) => e.bytes),
    tokenizerJson: m.get('tokenizer-json')![0]!.bytes,
  };
}
