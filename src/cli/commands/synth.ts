import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getPreset, PRESETS } from '../../model/config.js';
import { type FloatDType, synthGguf, synthHfDir } from '../../model/synth.js';
import { writeFileChunks } from '../../io/node-write.js';
import { type Command, flagNumber, flagString, parseArgs, UsageError } from '../command.js';
import { synthTokenizerJson, builtinChatTemplate } from '../../model/synth-extras.js';

/** Write a synthetic model; returns the output path. */
export async function writeSynth(preset: string, dtype: FloatDType, format: 'gguf' | 'safetensors', seed: number, out: string, shards = 1): Promise<string> {
  const cfg = getPreset(preset);
  const o = { seed, dtype };
  const chatTemplate = builtinChatTemplate(cfg.family);
  if (format === 'gguf') {
    await writeFileChunks(out, synthGguf(cfg, o, `synthetic-${preset}`, chatTemplate));
  } else {
    await mkdir(out, { recursive: true });
    for (const f of synthHfDir(cfg, o, shards, { tokenizerJson: synthTokenizerJson(cfg.vocabSize), chatTemplate })) {
      const p = join(out, f.name);
      if (typeof f.data === 'function') await writeFileChunks(p, f.data());
      else await writeFile(p, f.data);
    }
  }
  return out;
}

export const synthCommand: Command = {
  name: 'synth',
  summary: 'write a synthetic Gemma model (real architecture, seeded random weights)',
  usage: `usage: gemma-ts synth --preset NAME --out PATH [--dtype f32|f16|bf16] [--format safetensors|gguf] [--seed N] [--shards N]

Writes a model with the exact architecture of a Gemma variant and seeded random weights
(normal; std 0.02 for real sizes). The same seed gives the same weights in both formats.
  safetensors: a HF-style directory (config.json, model.safetensors or shards + index, tokenizer files)
  gguf:        one file with llama.cpp's architecture names and keys (norms stored as 1+w)
presets: ${Object.keys(PRESETS).join(', ')}`,
  async run(argv) {
    const p = parseArgs(argv);
    const preset = flagString(p, 'preset');
    const out = flagString(p, 'out');
    if (!preset || !out) throw new UsageError('--preset and --out are required');
    const dtype = (flagString(p, 'dtype') ?? 'f32') as FloatDType;
    if (!['f32', 'f16', 'bf16'].includes(dtype)) throw new UsageError(`--dtype must be f32, f16 or bf16`);
    const format = (flagString(p, 'format') ?? (out.endsWith('.gguf') ? 'gguf' : 'safetensors')) as 'gguf' | 'safetensors';
    if (!['gguf', 'safetensors'].includes(format)) throw new UsageError('--format must be safetensors or gguf');
    const seed = flagNumber(p, 'seed') ?? 0;
    const shards = flagNumber(p, 'shards') ?? 1;
    await writeSynth(preset, dtype, format, seed, out, shards);
    console.error(`wrote ${format} ${preset} (${dtype}, seed ${seed}) to ${out}`);
  },
};
