/**
 * Write the synthetic Gemma 3 model both engines run: our safetensors directory (F32,
 * seeded weights from src/model/synth.ts). make-onnx.py then reads the same file.
 *
 *   npx tsx bench/webgpu-compare/synth.ts --size demo|small|mid --out DIR [--seed 7]
 *
 * demo:  the `demo` preset (hidden 128, FFN 384, 4 heads / 1 KV head, head_dim 32, 6 layers,
 *        window 32, vocab 512: 1.2M parameters).
 * small: hidden 256, FFN 1024, 4 heads / 1 KV head, head_dim 64, 6 layers (5 local + 1
 *        global), window 32, vocab 512 (5.8M parameters).
 * mid:  Gemma 3 270M layer shapes (hidden 640, FFN 2048, 4 heads / 1 KV head, head_dim 256,
 *       window 512 scaled down to 32 so a short run crosses it) with 6 layers (5 local + 1
 *       global) and vocab 512, so a CPU Vulkan driver decodes it in seconds.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type GemmaConfig, getPreset } from '../../src/model/config.js';
import { synthHfDir } from '../../src/model/synth.js';
import { builtinChatTemplate, synthTokenizerJson } from '../../src/model/synth-extras.js';

const SIZES: Record<string, () => GemmaConfig> = {
  demo: () => getPreset('demo'),
  small: () => ({
    ...getPreset('demo'), hiddenSize: 256, intermediateSize: 1024, headDim: 64, queryPreAttnScalar: 64,
  }),
  mid: () => ({
    ...getPreset('gemma-3-270m'), vocabSize: 512, numLayers: 6, slidingWindow: 32, maxPositions: 2048,
    layerTypes: ['sliding', 'sliding', 'sliding', 'sliding', 'sliding', 'full'],
  }),
};

function flag(name: string, def?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : def;
  if (v === undefined) throw new Error(`--${name} is required`);
  return v;
}

async function main(): Promise<void> {
  const size = flag('size', 'demo');
  const make = SIZES[size];
  if (!make) throw new Error(`--size must be one of ${Object.keys(SIZES).join(', ')}`);
  const cfg = make();
  const out = flag('out');
  const seed = Number(flag('seed', '7'));
  await mkdir(out, { recursive: true });
  const files = synthHfDir(cfg, { seed, dtype: 'f32' }, 1, { tokenizerJson: synthTokenizerJson(cfg.vocabSize), chatTemplate: builtinChatTemplate(3) });
  for (const f of files) {
    const p = join(out, f.name);
    if (typeof f.data !== 'function') { await writeFile(p, f.data); continue; }
    const ws = createWriteStream(p);
    for await (const c of f.data()) if (!ws.write(c)) await new Promise((r) => ws.once('drain', r));
    await new Promise<void>((res, rej) => ws.end((e?: Error | null) => (e ? rej(e) : res())));
  }
  console.error(`wrote ${size} (seed ${seed}, f32) to ${out}`);
}

main().catch((e) => { console.error(e); process.exit(1); });
