import { formatBytes, parseByteSize } from '../../api/memory.js';
import { PRECISIONS, recommend } from '../../api/recommend.js';
import { type Command, flagNumber, flagString, parseArgs, UsageError } from '../command.js';

function size(p: ReturnType<typeof parseArgs>, key: string): number | undefined {
  const s = flagString(p, key);
  if (s === undefined) return undefined;
  const n = parseByteSize(s);
  if (n === undefined) throw new UsageError(`--${key} expects a size like 8GB, 512MB or 1.5G, got ${JSON.stringify(s)}`);
  return n;
}

export const recommendCommand: Command = {
  name: 'recommend',
  summary: 'list the Gemma variants and precisions that fit your memory',
  usage: `usage: gemma-ts recommend --memory 8GB [--gpu-memory 6GB] [--context 8192] [--all] [--json]

Lists the Gemma variants (instruction-tuned first, smallest first) with the most precise
storage type (${PRECISIONS.join(', ')}) that fits each backend, and the estimated memory: weights + KV cache
(f32, for --context tokens, sliding-window layers as ring buffers) + scratch.
A variant fits 'webgpu' within --gpu-memory (default: --memory, as for integrated GPUs) and
'wasm' within --memory and the 4 GiB a wasm32 module can address. Sizes are binary (1 GB = 2^30 B).
Text model only: Gemma 3 4B+ also ship a ~0.4B-parameter vision tower that is not loaded.

  --all    every precision that fits, not only the most precise per variant and backend
  --json   machine-readable output`,
  async run(argv) {
    const p = parseArgs(argv, ['json', 'all']);
    const memory = size(p, 'memory');
    if (memory === undefined) throw new UsageError('--memory is required (e.g. --memory 8GB)');
    const gpuMemory = size(p, 'gpu-memory');
    const context = flagNumber(p, 'context') ?? 8192;
    if (!Number.isInteger(context) || context < 1) throw new UsageError('--context must be a positive integer');
    const rows = recommend({ memory, gpuMemory, contextLength: context, all: p.flags.has('all') });
    if (p.flags.has('json')) {
      process.stdout.write(JSON.stringify({ memory, gpuMemory: gpuMemory ?? memory, context, models: rows.map((r) => ({
        variant: r.variant, hf: r.hf, instructionTuned: r.it, precision: r.precision, parameters: r.parameters,
        contextLength: r.estimate.contextLength, weightsBytes: r.estimate.weights, kvCacheBytes: r.estimate.kvCache,
        scratchBytes: r.estimate.scratch, totalBytes: r.estimate.total, fits: r.fits,
      })) }, null, 2) + '\n');
      return;
    }
    if (rows.length === 0) { console.log(`nothing fits in ${formatBytes(memory)} with a ${context}-token context; try a smaller --context`); return; }
    const head = ['variant', 'precision', 'weights', 'KV cache', 'total', 'context', 'fits', 'Hugging Face repo'];
    const table = rows.map((r) => [r.variant, r.precision, formatBytes(r.estimate.weights), formatBytes(r.estimate.kvCache), formatBytes(r.estimate.total), String(r.estimate.contextLength), r.fits.join('+'), r.hf]);
    const w = head.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
    console.log(`memory ${formatBytes(memory)}${gpuMemory !== undefined ? `, GPU ${formatBytes(gpuMemory)}` : ''}, context ${context}:`);
    console.log(line(head));
    for (const t of table) console.log(line(t));
  },
};
