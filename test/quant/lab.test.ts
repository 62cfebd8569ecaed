/**
 * The quantization lab: quant reports whose numbers are checked as properties and against
 * metrics recomputed here from the models' logits; a user-registered block format and
 * per-tensor rules running through the same machinery; the quant-report command.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { quantReportCommand } from '../../src/cli/commands/quant-report.js';
import { quantizeModelFile } from '../../src/cli/commands/quantize.js';
import { readGguf, readGgufTensor } from '../../src/format/gguf.js';
import { ggufStore } from '../../src/format/store.js';
import { BufferSource } from '../../src/io/source.js';
import { ReferenceBackend } from '../../src/kernels/reference/index.js';
import { loadWeights } from '../../src/model/load-weights.js';
import { GemmaModel } from '../../src/model/model.js';
import { type BlockCodec, getCodec, hasCodec, registerCodec } from '../../src/quant/index.js';
import { formatQuantReport, type QuantReport, quantReport } from '../../src/quant/lab.js';
import { quantizeTransform, type TensorQuantRecord } from '../../src/quant/quantize-model.js';
import { openGgufModel } from '../../src/quant/source-model.js';
import { f16ToF32, f32ToF16 } from '../../src/tensor/half.js';
import { logSoftmaxRows, testTokens } from '../helpers/models.js';
import { QUANT_TEST_DIR, quantTestGgufBytes, quantTestGgufFile } from './quant-models.js';

/**
 * A user block format written for this test: 16 elements in 10 bytes (5 bits per weight).
 * f16 scale d = max|x| / 7, then 16 signed 4-bit levels round(x/d) in -7..7 stored as l + 8.
 */
const toy4: BlockCodec = {
  name: 'toy4', blockSize: 16, blockBytes: 10, bitsPerWeight: 5,
  dequantizeRow(src, so, out, oo, n) {
    for (let b = 0; b < n / 16; b++) {
      const d = f16ToF32(src[so + 10 * b]! | (src[so + 10 * b + 1]! << 8));
      for (let j = 0; j < 16; j++) out[oo + 16 * b + j] = (((src[so + 10 * b + 2 + (j >> 1)]! >> (4 * (j & 1))) & 15) - 8) * d;
    }
  },
  quantizeRow(src, so, n, dst, dOff) {
    for (let b = 0; b < n / 16; b++) {
      let amax = 0;
      for (let j = 0; j < 16; j++) amax = Math.max(amax, Math.abs(src[so + 16 * b + j]!));
      const h = f32ToF16(amax / 7);
      const d = f16ToF32(h);
      const o = dOff + 10 * b;
      dst[o] = h & 255; dst[o + 1] = h >> 8;
      dst.fill(0, o + 2, o + 10);
      for (let j = 0; j < 16; j++) {
        const l = d ? Math.max(-7, Math.min(7, Math.round(src[so + 16 * b + j]! / d))) : 0;
        dst[o + 2 + (j >> 1)]! |= (l + 8) << (4 * (j & 1));
      }
    }
  },
  dotRow(src, so, x, xo, n) {
    const y = new Float32Array(n);
    this.dequantizeRow(src, so, y, 0, n);
    let s = 0;
    for (let i = 0; i < n; i++) s += y[i]! * x[xo + i]!;
    return s;
  },
};
if (!hasCodec('toy4')) registerCodec(toy4);

/** bytes per block / elements per block of each GGUF type, from ggml's block structs */
const BLOCK: Record<string, [number, number]> = {
  f32: [4, 1], f16: [2, 1], q8_0: [34, 32], q4_0: [18, 32], q4_1: [20, 32], q5_0: [22, 32], q5_1: [24, 32],
  q4_k: [144, 256], q5_k: [176, 256], q6_k: [210, 256], toy4: [10, 16],
};

const PROMPTS = [testTokens(24, 512, 0), testTokens(24, 512, 1), testTokens(24, 512, 2)];
const TEXT = testTokens(32, 512, 3);
let report: QuantReport;
const log: string[] = [];
afterAll(() => console.log(log.join('\n')));

async function model(buf: Uint8Array, transform?: ReturnType<typeof quantizeTransform>): Promise<GemmaModel> {
  const src = await openGgufModel(new BufferSource(buf, 'm.gguf'));
  const backend = new ReferenceBackend();
  return new GemmaModel(src.config, backend, await loadWeights(src.store, src.config, backend, { transform }), { contextLength: 32 });
}

describe('quant report', () => {
  it('runs on tiny-gemma-3 and its numbers are sane', async () => {
    const src = await openGgufModel(new BufferSource(await quantTestGgufBytes('tiny-gemma-3', 'f32'), 'tiny-gemma-3.gguf'));
    report = await quantReport(src, { schemes: ['f32', 'f16', 'q8_0', 'q5_0/pure', 'q4_0/pure', 'q8_0+ffn_=toy4'], prompts: PROMPTS, textTokens: TEXT });
    log.push(formatQuantReport(report));
    const [f32, f16, q8, q5, q4, toy] = report.schemes;
    expect(report.positions).toBe(72);
    // f32 of an f32 source: nothing changes
    expect(f32!.weightRmse).toBe(0);
    expect(f32!.meanKl).toBeLessThan(1e-12);
    expect(f32!.top1).toBe(1);
    expect(f32!.perplexity).toBeCloseTo(report.source.perplexity!, 10);
    // more bits, less error: weights, distributions, agreement
    for (const [hi, lo] of [[f16, q8], [q8, q5], [q5, q4]] as const) {
      expect(hi!.weightRmse).toBeLessThan(lo!.weightRmse);
      expect(hi!.meanKl).toBeLessThan(lo!.meanKl);
      expect(hi!.top1).toBeGreaterThanOrEqual(lo!.top1);
      expect(hi!.bytes).toBeGreaterThan(lo!.bytes);
      expect(hi!.maxKl).toBeGreaterThanOrEqual(hi!.meanKl);
    }
    expect(q4!.meanKl).toBeLessThan(1); // 4-bit is lossy, not broken
    // sizes from ggml's block sizes: every matrix in its type, norms f32
    for (const s of report.schemes) {
      let bytes = 0, params = 0;
      for (const t of s.tensors) {
        const n = t.shape.reduce((a, b) => a * b, 1);
        const [bb, bs] = BLOCK[t.scheme]!;
        expect(t.bytes, `${s.label} ${t.name}`).toBe((n / bs) * bb);
        bytes += t.bytes;
        params += n;
      }
      const norms = (report.params - params) * 4;
      expect(s.bytes).toBe(bytes + norms);
      expect(s.bitsPerWeight).toBeCloseTo((8 * s.bytes) / report.params, 12);
    }
    // the rule: ffn tensors in the user format, the rest Q8_0
    for (const t of toy!.tensors) expect(t.scheme, t.name).toBe(t.name.includes('ffn_') ? 'toy4' : 'q8_0');
    expect(toy!.bytes).toBeLessThan(q8!.bytes);
    expect(toy!.meanKl).toBeGreaterThan(q8!.meanKl);
    expect(report.source.bytes).toBe(report.schemes[0]!.bytes);
  }, 120_000);

  it("agrees with KL, top-1, perplexity and RMSE recomputed here from the models' logits and weights", async () => {
    const buf = await quantTestGgufBytes('tiny-gemma-3', 'f32');
    const src = await openGgufModel(new BufferSource(buf, 'tiny-gemma-3.gguf'));
    const ref = await model(buf);
    const q4 = await model(buf, quantizeTransform('q4_0/pure', src.config));
    const V = 512;
    let kl = 0, top = 0, n = 0;
    for (const p of PROMPTS) {
      const a = logSoftmaxRows(await ref.logits(p, { allLogits: true }), V);
      const b = logSoftmaxRows(await q4.logits(p, { allLogits: true }), V);
      a.forEach((pa, i) => {
        let s = 0, ia = 0, ib = 0;
        for (let v = 0; v < V; v++) {
          s += Math.exp(pa[v]!) * (pa[v]! - b[i]![v]!);
          if (pa[v]! > pa[ia]!) ia = v;
          if (b[i]![v]! > b[i]![ib]!) ib = v;
        }
        kl += s; n++; if (ia === ib) top++;
      });
    }
    const lt = logSoftmaxRows(await q4.logits(TEXT, { allLogits: true }), V);
    let nll = 0;
    for (let i = 0; i + 1 < TEXT.length; i++) nll -= lt[i]![TEXT[i + 1]!]!;
    const s = report.schemes.find((x) => x.label === 'q4_0/pure')!;
    expect(s.meanKl).toBeCloseTo(kl / n, 9);
    expect(s.top1).toBe(top / n);
    expect(s.perplexity!).toBeCloseTo(Math.exp(nll / (TEXT.length - 1)), 6);
    // RMSE of one tensor from the GGUF that `quantize` writes, decoded here
    const out = join(QUANT_TEST_DIR, 'lab-q4.gguf');
    await quantizeModelFile(await quantTestGgufFile('tiny-gemma-3', 'f32'), out, 'q4_0/pure');
    const g = await readGguf(new BufferSource(new Uint8Array(await readFile(out)), out));
    const t = g.tensorByName.get('blk.4.ffn_gate.weight')!;
    const deq = new Float32Array(t.shape[0]! * t.shape[1]!);
    getCodec('q4_0').dequantizeRow(await readGgufTensor(g, t), 0, deq, 0, deq.length);
    const orig = new Float32Array((await src.store.get('blk.4.ffn_gate.weight')!.read()).slice().buffer);
    let se = 0, mx = 0;
    for (let i = 0; i < deq.length; i++) { se += (deq[i]! - orig[i]!) ** 2; mx = Math.max(mx, Math.abs(deq[i]! - orig[i]!)); }
    const tr = s.tensors.find((x) => x.name === 'blk.4.ffn_gate.weight')!;
    expect(tr.rmse).toBeCloseTo(Math.sqrt(se / deq.length), 12);
    expect(tr.maxAbs).toBe(mx);
    ref.dispose(); q4.dispose();
  }, 120_000);

  it('a user format runs the model through quantize-on-load (simulated as f32 of its decoded values)', async () => {
    const buf = await quantTestGgufBytes('tiny-gemma', 'f32');
    const src = await openGgufModel(new BufferSource(buf, 'tiny-gemma.gguf'));
    const records: TensorQuantRecord[] = [];
    const m = await model(buf, quantizeTransform({ recipe: 'q8_0', pure: true, rules: [{ pattern: /attn_(q|k)\b/, scheme: 'toy4' }] }, src.config, { onTensor: (r) => records.push(r) }));
    const q = records.find((r) => r.name === 'blk.1.attn_q.weight')!;
    expect([q.scheme, q.stored, q.bytes]).toEqual(['toy4', 'f32', (64 * 64 / 16) * 10]);
    expect(records.find((r) => r.name === 'blk.1.attn_v.weight')!.stored).toBe('q8_0');
    // the stored f32 values are exactly toy4's decoding of its own encoding
    const wq = (m.weights.layers[1]!.wq as unknown as { data: Uint8Array }).data;
    const x = new Float32Array((await src.store.get('blk.1.attn_q.weight')!.read()).slice().buffer);
    const enc = new Uint8Array((x.length / 16) * 10);
    toy4.quantizeRow(x, 0, x.length, enc, 0);
    const dec = new Float32Array(x.length);
    toy4.dequantizeRow(enc, 0, dec, 0, x.length);
    expect(Buffer.compare(Buffer.from(wq), Buffer.from(dec.buffer))).toBe(0);
    const logits = await m.logits(testTokens(8, 512));
    expect(logits.every(Number.isFinite)).toBe(true);
    m.dispose();
  });

  it('gemma-ts quant-report prints the table and writes the JSON report', async () => {
    const path = await quantTestGgufFile('tiny-gemma-2', 'f32');
    const json = join(QUANT_TEST_DIR, 'report.json');
    const lines: string[] = [];
    const orig = console.log;
    console.log = (...a: unknown[]) => { lines.push(a.join(' ')); };
    const origErr = console.error;
    console.error = () => {};
    try {
      await quantReportCommand.run([path, '--schemes', 'q8_0,q4_k_m,q8_0+attn_v=q4_0', '--positions', '24', '--json', json, '--tensors']);
    } finally {
      console.log = orig;
      console.error = origErr;
    }
    const out = lines.join('\n');
    expect(out).toMatch(/^q8_0 /m);
    expect(out).toMatch(/^q4_k_m /m);
    expect(out).toContain('blk.3.attn_v.weight');
    expect(out).toContain('(q6_k: fallback)'); // token_embd: Q6_K falls back to Q8_0 at hidden 64
    const r = JSON.parse(await readFile(json, 'utf8')) as QuantReport;
    expect(r.schemes.map((s) => s.label)).toEqual(['q8_0', 'q4_k_m', 'q8_0+attn_v=q4_0']);
    expect(r.textTokens).toBe(24);
    expect(r.schemes[2]!.tensors.filter((t) => t.scheme === 'q4_0').map((t) => t.name)).toEqual(['blk.0.attn_v.weight', 'blk.1.attn_v.weight', 'blk.2.attn_v.weight', 'blk.3.attn_v.weight']);
    for (const s of r.schemes) expect(s.meanKl).toBeGreaterThan(0);
  }, 120_000);
});
