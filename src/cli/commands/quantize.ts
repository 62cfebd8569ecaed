import { stat } from 'node:fs/promises';
import { GemmaError } from '../../errors.js';
import { nodeDirFileSet } from '../../io/node-dir.js';
import { FileSource } from '../../io/node-file.js';
import { writeFileChunks } from '../../io/node-write.js';
import { type QuantPolicy, RECIPES, RECIPE_ALIASES, type TensorRule } from '../../quant/policy.js';
import { planQuantizedGguf, type PlannedTensor } from '../../quant/quantize-model.js';
import { openGgufModel, openHfModel, type SourceModel } from '../../quant/source-model.js';
import { type Command, flagString, parseArgs, UsageError } from '../command.js';

/** A .gguf file or a Hugging Face directory, opened for quantizing or measuring. */
export async function openSourceModel(path: string): Promise<SourceModel> {
  let st;
  try { st = await stat(path); } catch (cause) { throw new GemmaError('IO', `cannot open ${path}`, { file: path, cause }); }
  if (st.isDirectory()) return openHfModel(nodeDirFileSet(path));
  const src = await FileSource.open(path);
  try {
    return await openGgufModel(src);
  } catch (e) {
    await src.close();
    throw e;
  }
}

export interface QuantizeFileResult { tensors: PlannedTensor[]; tensorBytes: number; fileBytes: number; label: string }

/**
 * Quantize a model file or directory into a GGUF at `out`. The file is streamed to
 * `out.partial` and renamed when complete, so a failure never leaves a half-written `out`.
 */
export async function quantizeModelFile(input: string, out: string, policy: QuantPolicy | string): Promise<QuantizeFileResult> {
  const model = await openSourceModel(input);
  try {
    const plan = planQuantizedGguf(model, policy);
    const fileBytes = await writeFileChunks(out, plan.stream());
    return { tensors: plan.tensors, tensorBytes: plan.tensorBytes, fileBytes, label: plan.policy.label };
  } finally {
    await model.close();
  }
}

/** --tensor-type values, repeatable and comma-separable: PATTERN=TYPE */
function tensorRules(argv: string[]): TensorRule[] {
  const rules: TensorRule[] = [];
  for (let i = 0; i < argv.length; i++) {
    let v: string | undefined;
    if (argv[i] === '--tensor-type') v = argv[++i];
    else if (argv[i]!.startsWith('--tensor-type=')) v = argv[i]!.slice('--tensor-type='.length);
    else continue;
    if (!v) throw new UsageError('--tensor-type needs PATTERN=TYPE');
    for (const part of v.split(',')) {
      const eq = part.lastIndexOf('=');
      if (eq <= 0 || eq === part.length - 1) throw new UsageError(`--tensor-type ${JSON.stringify(part)} is not PATTERN=TYPE`);
      rules.push({ pattern: part.slice(0, eq), scheme: part.slice(eq + 1) });
    }
  }
  return rules;
}

function mib(n: number): string { return `${(n / (1 << 20)).toFixed(2)} MiB`; }

export const quantizeCommand: Command = {
  name: 'quantize',
  summary: 'write a quantized GGUF (llama.cpp recipes: q8_0, q4_0, q4_k_m, ...) from a GGUF or safetensors model',
  usage: `usage: gemma-ts quantize IN OUT.gguf --type TYPE [--pure] [--tensor-type PATTERN=TYPE]... [--token-embedding-type TYPE] [--quiet]

IN is a .gguf file or a Hugging Face directory (config.json, *.safetensors, tokenizer files).
TYPE is a recipe, chosen per tensor as llama-quantize does (same types, same bytes):
${Object.values(RECIPES).map((r) => `  ${r.name.padEnd(7)} ${r.summary}`).join('\n')}
  ${Object.entries(RECIPE_ALIASES).map(([a, b]) => `${a} = ${b}`).join(', ')} (as in llama-quantize)
Rows that are not whole blocks fall back (q4_k->q5_0, q5_k->q5_1, q6_k->q8_0, else f16).
  --pure                    every weight matrix in the recipe's base type
  --tensor-type P=T         tensors whose name matches regex P get type T (first match wins;
                            repeat the flag or separate rules with commas)
  --token-embedding-type T  type of token_embd.weight
Norms are stored as f32 (1 + w); metadata and tokenizer are carried over.`,
  async run(argv) {
    const p = parseArgs(argv, ['pure', 'quiet']);
    const [input, out] = p.positionals;
    if (!input || !out) throw new UsageError('IN and OUT are required');
    const type = flagString(p, 'type');
    if (!type) throw new UsageError('--type is required');
    const policy: QuantPolicy = { recipe: type, pure: p.flags.has('pure'), rules: tensorRules(argv) };
    const te = flagString(p, 'token-embedding-type');
    if (te) policy.tokenEmbedding = te;
    const t0 = performance.now();
    const r = await quantizeModelFile(input, out, policy);
    if (!p.flags.has('quiet')) {
      const w = Math.max(...r.tensors.map((t) => t.name.length));
      for (const t of r.tensors) {
        const note = t.choice.fallbackFrom ? ` (fallback from ${t.choice.fallbackFrom})` : t.choice.reason === 'rule' ? ' (rule)' : '';
        console.error(`${t.name.padEnd(w)}  [${t.shape.join(', ')}]  ${t.source} -> ${t.dtype}${note}`);
      }
    }
    const params = r.tensors.reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
    const fallbacks = r.tensors.filter((t) => t.choice.fallbackFrom).length;
    console.error(`wrote ${out}: ${r.label}, ${mib(r.fileBytes)}, ${((8 * r.tensorBytes) / params).toFixed(2)} bits per weight` +
      `${fallbacks ? `, ${fallbacks} tensors used the block-size fallback` : ''} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  },
};
