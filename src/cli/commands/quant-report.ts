import { readFile, writeFile } from 'node:fs/promises';
import { ReferenceBackend } from '../../kernels/reference/index.js';
import { formatQuantReport, quantReport, type QuantReport } from '../../quant/lab.js';
import type { GemmaTokenizer } from '../../tokenizer/index.js';
import { mulberry32 } from '../../util/rng.js';
import { type Command, flagNumber, flagString, parseArgs, UsageError } from '../command.js';
import { openSourceModel } from './quantize.js';

/** Built-in prompts (when the model has a tokenizer and no --prompts file is given). */
const DEFAULT_PROMPTS = [
  'The quick brown fox jumps over the lazy dog, and then it runs into the forest to find its friends.',
  'In 1905 Albert Einstein published four papers that changed physics: on the photoelectric effect, Brownian motion,',
  'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n    if n < 2:\n        return n\n',
  'Question: What is the capital of France?\nAnswer: The capital of France is',
];

const DEFAULT_TEXT = `Quantization stores the weights of a neural network with fewer bits than they were trained with.
A block format keeps a scale for every small group of weights, so that each group uses its own range, and the
numbers inside the group are stored as small integers. The fewer the bits, the smaller the model and the faster it
loads, but the further its predictions drift from those of the original. Measuring that drift on real text tells
which tensors can afford fewer bits and which cannot.`;

/** seeded token sequences for models without a tokenizer: bos, then ids spread over the vocabulary */
function randomPrompts(n: number, len: number, vocab: number, bos: number): number[][] {
  const rand = mulberry32(0x5eed);
  return Array.from({ length: n }, () => [bos, ...Array.from({ length: len - 1 }, () => 4 + Math.floor(rand() * (vocab - 4)))]);
}

function encode(t: GemmaTokenizer, text: string, max: number): number[] {
  return t.encode(text, { addBos: true, allowSpecial: false }).slice(0, max);
}

export const quantReportCommand: Command = {
  name: 'quant-report',
  summary: 'measure quantization schemes: per-tensor error, KL / top-1 vs the source model, perplexity, size',
  usage: `usage: gemma-ts quant-report MODEL --schemes S1,S2,... [--prompts FILE | --tokens IDS[;IDS...]] [--text FILE]
                             [--positions N] [--json FILE|-] [--tensors]

MODEL is a .gguf file or a Hugging Face directory. Each scheme is a recipe (q8_0, q4_0, q4_k_m, ...;
see gemma-ts quantize --help) with optional flags and rules: RECIPE[/pure][+PATTERN=TYPE]...
e.g. q8_0+ffn_=q4_k+token_embd=q6_k. Every scheme is compared with the source model computed in
f32 maths (reference backend): mean/max KL divergence of next-token distributions and top-1
agreement over the prompts, perplexity on a text, weight RMSE, bits per weight and size.
  --prompts FILE   one prompt per line (needs the model's tokenizer); default: built-in prompts,
                   or seeded random token ids when the model has no tokenizer
  --tokens IDS     prompts as token ids: comma-separated ids, prompts separated by ';'
  --text FILE      text for perplexity (default: a built-in paragraph; skipped without tokenizer)
  --positions N    longest prompt / text in tokens (default 64)
  --json FILE      also write the full report (per-tensor errors included) as JSON ('-' = stdout)
  --tensors        print the per-tensor table too`,
  async run(argv) {
    const p = parseArgs(argv, ['tensors']);
    const path = p.positionals[0];
    if (!path) throw new UsageError('missing MODEL');
    const schemesArg = flagString(p, 'schemes');
    if (!schemesArg) throw new UsageError('--schemes is required');
    const schemes = schemesArg.split(',').map((s) => s.trim()).filter(Boolean);
    const maxLen = flagNumber(p, 'positions') ?? 64;
    if (!Number.isInteger(maxLen) || maxLen < 2) throw new UsageError('--positions must be an integer >= 2');
    const model = await openSourceModel(path);
    try {
      const cfg = model.config;
      const max = Math.min(maxLen, cfg.maxPositions);
      const tok = model.tokenizer;
      let prompts: number[][];
      const tokensArg = flagString(p, 'tokens');
      const promptsFile = flagString(p, 'prompts');
      if (tokensArg) {
        prompts = tokensArg.split(';').map((s) => s.split(',').map((x) => Number(x.trim())).filter((x) => !Number.isNaN(x)));
        if (prompts.some((q) => !q.length || q.some((x) => !Number.isInteger(x) || x < 0))) throw new UsageError(`--tokens: expected ids like 2,17,99;2,5`);
      } else if (promptsFile) {
        if (!tok) throw new UsageError('--prompts needs a model with a tokenizer (use --tokens)');
        prompts = (await readFile(promptsFile, 'utf8')).split('\n').filter((l) => l.trim()).map((l) => encode(tok, l, max));
      } else {
        prompts = tok ? DEFAULT_PROMPTS.map((t) => encode(tok, t, max)) : randomPrompts(4, max, cfg.vocabSize, cfg.bosId);
      }
      if (!prompts.length) throw new UsageError('no prompts');
      const textFile = flagString(p, 'text');
      if (textFile && !tok) throw new UsageError('--text needs a model with a tokenizer');
      const textTokens = tok ? encode(tok, textFile ? await readFile(textFile, 'utf8') : DEFAULT_TEXT, max) : undefined;
      const report: QuantReport = await quantReport(model, {
        schemes, prompts, textTokens, backend: () => new ReferenceBackend(),
        onProgress: (m) => console.error(`evaluating ${m} ...`),
      });
      console.log(formatQuantReport(report, { perTensor: p.flags.has('tensors') }));
      const json = flagString(p, 'json');
      if (json) {
        const text = JSON.stringify(report, null, 1);
        if (json === '-') console.log(text); else await writeFile(json, text + '\n');
      }
    } finally {
      await model.close();
    }
  },
};
