/**
 * The trained demo model (tools/train-demo) against independent references:
 * - the training script's own PyTorch forward pass (float64 on the exported BF16 weights),
 * - Debian's python3-sentencepiece on the exported tokenizer.model,
 * - llama.cpp on the committed GGUF.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { quantizeModelFile } from '../../src/cli/commands/quantize.js';
import { GemmaTokenizer } from '../../src/index.js';
import { createBackend } from '../../src/kernels/index.js';
import { ReferenceBackend } from '../../src/kernels/reference/index.js';
import '../../src/kernels/wasm/index.js';
import { loadPath } from '../../src/node.js';
import { llamaLogProbs } from '../helpers/llama-ref.js';
import { compareLogProbs, logSoftmaxRows, TEST_DIR } from '../helpers/models.js';

const DIR = 'models/demo';
const GGUF = 'models/demo-q8_0.gguf';
const FIX = 'test/fixtures/demo';

interface RefPrompt { name: string; ids: number[]; logits_file: string }
const ref = JSON.parse(await readFile(join(FIX, 'reference.json'), 'utf8')) as { vocab_size: number; prompts: RefPrompt[] };
const V = ref.vocab_size;
async function refLogProbs(p: RefPrompt): Promise<Float64Array[]> {
  const b = await readFile(join(FIX, p.logits_file));
  return logSoftmaxRows(new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4), V);
}

const lines: string[] = [];
afterAll(() => console.log(['demo model parity:', ...lines].join('\n  ')));

describe('demo model vs the PyTorch reference', () => {
  for (const backend of ['reference', 'wasm'] as const) {
    it(`${backend} backend: log-softmax within ${backend === 'reference' ? '1e-4' : '1e-3'} on every prompt (crossing the 64-token window)`, async () => {
      const l = await loadPath(DIR, { backend: backend === 'reference' ? new ReferenceBackend() : await createBackend('wasm'), contextLength: 512 });
      try {
        for (const p of ref.prompts) {
          expect(p.ids.length).toBeGreaterThan(64);
          const ours = logSoftmaxRows(await l.model.logits(p.ids, { allLogits: true }), V);
          const a = compareLogProbs(ours, await refLogProbs(p));
          lines.push(`${backend} ${p.name} (${p.ids.length} tokens): max |Δ| ${a.maxAbs.toExponential(2)}, top-1 ${(a.top1 * 100).toFixed(1)}%`);
          expect(a.maxAbs).toBeLessThanOrEqual(backend === 'reference' ? 1e-4 : 1e-3);
          expect(a.top1).toBe(1);
        }
      } finally { l.model.dispose(); await l.close(); }
    });
  }

  it('the committed GGUF is what our quantizer makes from the committed safetensors', async () => {
    const out = join(TEST_DIR, 'demo-q8_0.gguf');
    await quantizeModelFile(DIR, out, 'q8_0');
    expect(Buffer.compare(await readFile(out), await readFile(GGUF))).toBe(0);
  });

  it('llama.cpp on the GGUF agrees with our engine (ggml-compat) and with PyTorch (top-1)', async () => {
    const l = await loadPath(GGUF, { backend: new ReferenceBackend({ ggmlCompat: true }), contextLength: 512 });
    try {
      for (const p of ref.prompts) {
        const lc = await llamaLogProbs(GGUF, p.ids, V);
        const ours = logSoftmaxRows(await l.model.logits(p.ids, { allLogits: true }), V);
        const a = compareLogProbs(ours, lc);
        const b = compareLogProbs(lc, await refLogProbs(p));
        lines.push(`llama.cpp q8_0 ${p.name}: vs ours (compat) max |Δ| ${a.maxAbs.toExponential(2)} KL ${a.meanKl.toExponential(2)}; vs PyTorch bf16 top-1 ${(b.top1 * 100).toFixed(1)}% KL ${b.meanKl.toExponential(2)}`);
        expect(a.top1).toBeGreaterThanOrEqual(0.98);
        expect(a.meanKl).toBeLessThanOrEqual(1e-4);
        expect(b.top1).toBeGreaterThanOrEqual(0.9);
        expect(b.meanKl).toBeLessThanOrEqual(1e-2);
      }
    } finally { l.model.dispose(); await l.close(); }
  });
});

describe('demo tokenizer.model vs python sentencepiece', () => {
  it("exact ids on every reference string ('userDefined' special mode = SentencePiece's encode), and decode round-trips", async () => {
    const sp = JSON.parse(await readFile(join(FIX, 'sp_reference.json'), 'utf8')) as { cases: { text: string; ids: number[]; decoded?: string }[] };
    expect(sp.cases.length).toBeGreaterThanOrEqual(2000);
    const tok = GemmaTokenizer.fromSentencePieceModel(new Uint8Array(await readFile(join(DIR, 'tokenizer.model'))), 'tokenizer.model');
    let bad = 0;
    const firstBad: string[] = [];
    for (const c of sp.cases) {
      // SentencePiece matches user-defined pieces (<start_of_turn>) in text but never control ones (<bos>)
      const ids = tok.encode(c.text, { allowSpecial: 'userDefined' });
      if (JSON.stringify(ids) !== JSON.stringify(c.ids)) { bad++; if (firstBad.length < 3) firstBad.push(`${JSON.stringify(c.text)}: ours ${JSON.stringify(ids)} sp ${JSON.stringify(c.ids)}`); }
      expect(tok.decode(c.ids)).toBe(c.decoded ?? c.text);
    }
    expect(bad, firstBad.join('\n')).toBe(0);
  });
});

describe('quantization lab on the demo model', () => {
  it('held-out perplexity is that of a trained model, and more bits stay closer to the BF16 source', async () => {
    const { openHfModel } = await import('../../src/quant/source-model.js');
    const { quantReport } = await import('../../src/quant/lab.js');
    const { nodeDirFileSet } = await import('../../src/io/node-dir.js');
    const tok = GemmaTokenizer.fromSentencePieceModel(new Uint8Array(await readFile(join(DIR, 'tokenizer.model'))));
    const text = [2, ...tok.encode(await readFile(join(FIX, 'heldout.txt'), 'utf8'), { allowSpecial: false })].slice(0, 160);
    const prompts = (await readFile(join(FIX, 'prompts.txt'), 'utf8')).trim().split('\n').slice(0, 4).map((l) => [2, ...tok.encode(l, { allowSpecial: false })]);
    const src = await openHfModel(nodeDirFileSet(DIR));
    let r: Awaited<ReturnType<typeof quantReport>>;
    try {
      r = await quantReport(src, { schemes: ['q8_0', 'q4_0'], prompts, textTokens: text });
    } finally {
      await src.close(); // its file handles (else Node closes them on GC, with a warning)
    }
    const [q8, q4] = r.schemes as [typeof r.schemes[0], typeof r.schemes[0]];
    lines.push(`quant lab: source ppl ${r.source.perplexity?.toFixed(2)}; q8_0 ppl ${q8.perplexity?.toFixed(2)} KL ${q8.meanKl.toExponential(2)} top-1 ${(q8.top1 * 100).toFixed(1)}%; q4_0 ppl ${q4.perplexity?.toFixed(2)} KL ${q4.meanKl.toExponential(2)} top-1 ${(q4.top1 * 100).toFixed(1)}%`);
    // random weights would give a perplexity near the vocabulary size (4096)
    expect(r.source.perplexity!).toBeLessThan(60);
    expect(q8.meanKl).toBeLessThan(q4.meanKl);
    expect(q8.meanKl).toBeLessThan(2e-3);
    expect(Math.abs(q8.perplexity! / r.source.perplexity! - 1)).toBeLessThan(0.02);
    expect(q4.perplexity!).toBeGreaterThan(r.source.perplexity! * 0.98);
  });
});
