import { resolveSource, type ResolvedSource } from '../../api/sources.js';
import { openPath } from '../../api/node-platform.js';
import { estimateMemory, formatBytes, kvCacheBytes } from '../../api/memory.js';
import { GemmaError } from '../../errors.js';
import { readGguf } from '../../format/gguf.js';
import { checkJsonDepth, depthChecked } from '../../format/json-depth.js';
import { openSafetensorsSet, readText, type TensorStore, ggufStore } from '../../format/store.js';
import { configFromHf, type GemmaConfig } from '../../model/config.js';
import { configFromGguf } from '../../model/gguf-config.js';
import { lookupTensor } from '../../model/load-weights.js';
import { tensorSpecs } from '../../model/weights.js';
import { type Command, flagNumber, parseArgs, UsageError } from '../command.js';

export interface InspectReport {
  source: string;
  format: 'gguf' | 'safetensors';
  formatVersion?: number;
  files: string[];
  architecture: string;
  family: number;
  name?: string;
  config: GemmaConfig;
  tokenizer: { source: string; pieces?: number; chatTemplate: boolean } | null;
  tensors: { name: string; dtype: string; shape: number[]; bytes: number; used: boolean }[];
  byDtype: Record<string, { count: number; bytes: number }>;
  parameters: number;
  /** tensors in the file that the text model does not use (e.g. a vision tower) */
  unusedTensors: number;
  memory: { contextLength: number; weights: number; kvCache: number; scratch: number; total: number };
}

const ARCH = { 1: 'gemma', 2: 'gemma2', 3: 'gemma3' } as const;

async function describe(r: ResolvedSource): Promise<{ store: TensorStore; config: GemmaConfig; extra: Partial<InspectReport>; close(): Promise<void> }> {
  if (r.kind === 'gguf') {
    const f = await readGguf(r.source);
    const tokens = f.metadata.get('tokenizer.ggml.tokens');
    const name = f.metadata.get('general.name');
    return {
      store: ggufStore(f), config: configFromGguf(f),
      extra: {
        formatVersion: f.version, files: [r.source.name], name: typeof name === 'string' ? name : undefined,
        tokenizer: Array.isArray(tokens) ? { source: 'gguf', pieces: tokens.length, chatTemplate: f.metadata.has('tokenizer.chat_template') } : null,
      },
      close: async () => { await r.source.close?.(); },
    };
  }
  const fs = r.files;
  if (!(await fs.has('config.json'))) throw new GemmaError('IO', 'no config.json in the model directory', { file: fs.name });
  let json: unknown;
  try { json = JSON.parse(depthChecked(await readText(fs, 'config.json', 1 << 20), `${fs.name}/config.json`)); } catch (cause) {
    if (cause instanceof GemmaError) throw cause;
    throw new GemmaError('BAD_CONFIG', 'config.json is not valid JSON', { file: `${fs.name}/config.json`, cause });
  }
  const config = configFromHf(json, `${fs.name}/config.json`);
  const { store, sources } = await openSafetensorsSet(fs);
  let tokenizer: InspectReport['tokenizer'] = null;
  const hasJson = await fs.has('tokenizer.json'), hasModel = await fs.has('tokenizer.model');
  if (hasJson || hasModel) {
    let chatTemplate = false;
    if (await fs.has('tokenizer_config.json')) {
      try {
        const text = await readText(fs, 'tokenizer_config.json', 16 << 20);
        checkJsonDepth(text, 'tokenizer_config.json');
        chatTemplate = 'chat_template' in JSON.parse(text);
      } catch { /* reported when loading */ }
    }
    tokenizer = { source: hasJson ? 'tokenizer.json' : 'tokenizer.model', chatTemplate };
  }
  return {
    store, config,
    extra: { files: sources.map((s) => s.name), tokenizer },
    close: async () => { for (const s of sources) await s.close?.(); },
  };
}

/** Everything `inspect` prints, from the headers only (no weights are read). */
export async function inspectModel(source: string, contextLength?: number): Promise<InspectReport> {
  const r = await resolveSource(source, { openPath });
  let d: Awaited<ReturnType<typeof describe>>;
  try {
    d = await describe(r);
  } catch (e) {
    if (r.kind === 'gguf') await r.source.close?.().catch(() => {});
    throw e;
  }
  try {
    const { store, config } = d;
    const specs = tensorSpecs(config);
    const used = new Set<string>();
    let weights = 0, params = 0;
    for (const s of specs) {
      const t = lookupTensor(store, s);
      if (!t) throw new GemmaError('MISSING_TENSOR', 'the model needs this tensor but the file does not have it', { file: store.name, tensor: store.format === 'gguf' ? s.gguf : s.hf });
      used.add(t.name);
      const n = s.shape.reduce((a, b) => a * b, 1);
      params += n;
      weights += s.isNorm ? n * 4 : t.byteLength;
    }
    const tensors = store.names().map((n) => {
      const t = store.get(n)!;
      return { name: n, dtype: t.dtype ?? t.fileType, shape: t.shape, bytes: t.byteLength, used: used.has(n) };
    });
    const byDtype: InspectReport['byDtype'] = {};
    for (const t of tensors) { const e = (byDtype[t.dtype] ??= { count: 0, bytes: 0 }); e.count++; e.bytes += t.bytes; }
    const est = estimateMemory(config, { contextLength });
    const kv = kvCacheBytes(config, est.contextLength);
    return {
      source, format: store.format, files: [], ...d.extra,
      architecture: ARCH[config.family], family: config.family, config,
      tokenizer: d.extra.tokenizer ?? null,
      tensors, byDtype, parameters: params, unusedTensors: tensors.length - used.size,
      memory: { contextLength: est.contextLength, weights, kvCache: kv, scratch: est.scratch, total: weights + kv + est.scratch },
    } as InspectReport;
  } finally {
    await d.close();
  }
}

function fmtParams(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} B` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} M` : `${(n / 1e3).toFixed(1)} K`;
}

export function formatReport(r: InspectReport, withTensors: boolean): string {
  const c = r.config;
  const sliding = c.layerTypes.filter((t) => t === 'sliding').length;
  const lines = [
    `source:        ${r.source}`,
    `format:        ${r.format}${r.formatVersion ? ` v${r.formatVersion}` : ''} (${r.files.length} file${r.files.length === 1 ? '' : 's'})`,
    `architecture:  ${r.architecture} (Gemma ${r.family})${r.name ? `, name "${r.name}"` : ''}`,
    `parameters:    ${fmtParams(r.parameters)}`,
    `config:        hidden ${c.hiddenSize}, ffn ${c.intermediateSize}, layers ${c.numLayers}, heads ${c.numHeads} (kv ${c.numKvHeads}), head dim ${c.headDim}, vocab ${c.vocabSize}`,
    `               context ${c.maxPositions}, rope θ ${c.ropeTheta}${c.family === 3 ? ` / local ${c.ropeLocalTheta}` : ''}${c.ropeScaling !== 1 ? `, linear scaling ${c.ropeScaling}` : ''}, query scale ${c.queryPreAttnScalar}^-0.5`,
    `               ${c.slidingWindow !== null ? `sliding window ${c.slidingWindow} on ${sliding} of ${c.numLayers} layers` : 'global attention on every layer'}${c.attnSoftcap !== null ? `, attention soft-cap ${c.attnSoftcap}` : ''}${c.finalSoftcap !== null ? `, final soft-cap ${c.finalSoftcap}` : ''}${c.qkNorm ? ', QK-norm' : ''}${c.sandwichNorms ? ', sandwich norms' : ''}`,
    `tokenizer:     ${r.tokenizer ? `${r.tokenizer.source}${r.tokenizer.pieces ? `, ${r.tokenizer.pieces} pieces` : ''}, chat template ${r.tokenizer.chatTemplate ? 'yes' : 'no (Gemma default)'}` : 'none'}`,
    `tensors:       ${r.tensors.length} (${Object.entries(r.byDtype).map(([k, v]) => `${k}: ${v.count}, ${formatBytes(v.bytes)}`).join('; ')})${r.unusedTensors ? `; ${r.unusedTensors} not used by the text model` : ''}`,
    `memory:        weights ${formatBytes(r.memory.weights)} + KV cache ${formatBytes(r.memory.kvCache)} (context ${r.memory.contextLength}, f32) + scratch ${formatBytes(r.memory.scratch)} = ${formatBytes(r.memory.total)}`,
  ];
  if (withTensors) {
    const w = Math.max(...r.tensors.map((t) => t.name.length));
    lines.push('', `${'name'.padEnd(w)}  ${'dtype'.padEnd(6)}  ${'shape'.padEnd(16)}  size`);
    for (const t of r.tensors) lines.push(`${t.name.padEnd(w)}  ${t.dtype.padEnd(6)}  ${`[${t.shape.join(', ')}]`.padEnd(16)}  ${formatBytes(t.bytes)}${t.used ? '' : '  (unused)'}`);
  }
  return lines.join('\n');
}

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'show format, architecture, config, tensors and a memory estimate (reads headers only)',
  usage: `usage: gemma-ts inspect <model> [--tensors] [--context N] [--json]

<model> is a .gguf file, a model directory, or an http(s) URL of either. Only headers are
read. The memory estimate is weights (as stored; norms as f32) + KV cache (f32, sliding-window
layers as ring buffers) for --context tokens (default min(model max, 4096)) + scratch.

  --tensors     list every tensor (name, dtype, shape, size)
  --json        machine-readable output (always includes the tensor list)`,
  async run(argv) {
    const p = parseArgs(argv, ['json', 'tensors']);
    const src = p.positionals[0];
    if (!src) throw new UsageError('missing <model>');
    const r = await inspectModel(src, flagNumber(p, 'context'));
    if (p.flags.has('json')) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else process.stdout.write(formatReport(r, p.flags.has('tensors')) + '\n');
  },
};
