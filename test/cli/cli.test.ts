import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { writeSynth } from '../../src/cli/commands/synth.js';
import { inspectModel } from '../../src/cli/commands/inspect.js';
import { estimateMemory, parseByteSize } from '../../src/api/memory.js';
import { recommend } from '../../src/api/recommend.js';
import { loadModel } from '../../src/index.js';
import { tensorSpecs } from '../../src/model/weights.js';
import { getPreset } from '../../src/model/config.js';

const run = promisify(execFile);
const BIN = join(__dirname, '..', '..', 'bin', 'gemma-ts.js');
const dir = mkdtempSync(join(tmpdir(), 'gemma-ts-cli-'));
const gguf = join(dir, 'tiny.gguf');
const hf = join(dir, 'tiny-hf');

function cli(args: string[], input?: string): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], { env: { ...process.env, GEMMA_TS_FROM_SOURCE: '1' }, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ stdout, stderr, code: err ? (typeof err.code === 'number' ? err.code : 1) : 0 });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

beforeAll(async () => {
  await writeSynth('tiny-gemma-3', 'f32', 'gguf', 3, gguf);
  await writeSynth('tiny-gemma-2', 'bf16', 'safetensors', 4, hf, 2);
});

describe('gemma-ts CLI', () => {
  it('every command has --help usage text, and --help works from the shell', async () => {
    const names = COMMANDS.map((c) => c.name);
    for (const n of ['generate', 'chat', 'inspect', 'serve', 'recommend', 'logits', 'synth']) expect(names).toContain(n);
    for (const c of COMMANDS) expect(c.usage).toMatch(new RegExp(`^usage: gemma-ts ${c.name}\\b`));
    const h = await cli(['generate', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('usage: gemma-ts generate');
    const top = await cli(['--help']);
    for (const n of names) expect(top.stdout).toContain(n);
  });

  it('generate --json gives the same greedy tokens as the API', async () => {
    const r = await cli(['generate', gguf, '--prompt', 'The cat', '--temperature', '0', '--max-tokens', '8', '--ignore-eos', '--backend', 'reference', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    const m = await loadModel(gguf, { backend: 'reference' });
    const api = await m.generate('The cat', { temperature: 0, maxTokens: 8, ignoreEos: true });
    await m.dispose();
    expect(out.tokens).toEqual(api.tokens);
    expect(out.text).toBe(api.text);
    expect(out.finishReason).toBe('length');
    expect(out.backend).toBe('reference');
  });

  it('generate with no model uses the demo model: prompt, text and tokens/s, reproducibly', async () => {
    const a = await cli(['generate', '--max-tokens', '6']);
    expect(a.code).toBe(0);
    expect(a.stdout.startsWith('And God said')).toBe(true);
    expect(a.stdout.length).toBeGreaterThan('And God said'.length);
    expect(a.stderr).toMatch(/\[6 tokens, [\d.]+ tokens\/s/);
    const b = await cli(['generate', '--max-tokens', '6', '--quiet']);
    expect(b.stdout).toBe(a.stdout);
  });

  it('chat answers piped lines with /system and /reset', async () => {
    const input = 'Hello\n/system Be brief.\nHi again\n/reset\n/bogus\n';
    const r = await cli(['chat', gguf, '--temperature', '0', '--max-tokens', '4', '--backend', 'reference', '--quiet'], input);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('(system prompt set, conversation reset)');
    expect(r.stdout).toContain('(conversation reset)');
    expect(r.stdout).toContain('unknown command /bogus');
    // the first reply is the model's greedy chat reply to "Hello"
    const m = await loadModel(gguf, { backend: 'reference' });
    const want = await m.chat([{ role: 'user', content: 'Hello' }], { temperature: 0, maxTokens: 4 });
    const want2 = await m.chat([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi again' }], { temperature: 0, maxTokens: 4 });
    await m.dispose();
    expect(r.stdout.startsWith(`${want.text}\n(system prompt set, conversation reset)\n${want2.text}\n(conversation reset)\nunknown command /bogus`)).toBe(true);
  });

  it('inspect reports format, config, tensors and memory from the headers', async () => {
    const rep = await inspectModel(hf, 64);
    const cfg = getPreset('tiny-gemma-2');
    const specs = tensorSpecs(cfg);
    expect(rep.format).toBe('safetensors');
    expect(rep.files).toHaveLength(2);
    expect(rep.architecture).toBe('gemma2');
    expect(rep.config.hiddenSize).toBe(cfg.hiddenSize);
    expect(rep.tensors).toHaveLength(specs.length);
    expect(rep.byDtype).toEqual({ bf16: { count: specs.length, bytes: specs.reduce((s, t) => s + 2 * t.shape.reduce((a, b) => a * b, 1), 0) } });
    // loaded weights: matrices as stored (bf16), norms as f32 multipliers
    const weights = specs.reduce((s, t) => s + (t.isNorm ? 4 : 2) * t.shape.reduce((a, b) => a * b, 1), 0);
    expect(rep.memory.weights).toBe(weights);
    // KV: 4 layers, sliding ones (window 16) keep 16 + 128 - 1 slots, capped at the context 64
    expect(rep.memory.kvCache).toBe(4 * 64 * (cfg.numKvHeads * cfg.headDim) * 2 * 4);
    const r = await cli(['inspect', gguf, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.format).toBe('gguf');
    expect(j.tokenizer.pieces).toBe(512);
    const t = await cli(['inspect', gguf, '--tensors']);
    expect(t.stdout).toContain('token_embd.weight');
    expect(t.stdout).toMatch(/memory: +weights/);
  });

  it('recommend lists IT variants first, smallest first, with memory that fits', async () => {
    expect(parseByteSize('8GB')).toBe(8 * 2 ** 30);
    expect(parseByteSize('512MiB')).toBe(512 * 2 ** 20);
    expect(parseByteSize('1.5g')).toBe(1.5 * 2 ** 30);
    expect(parseByteSize('lots')).toBeUndefined();
    // parameter counts of the published checkpoints (text model)
    const params = Object.fromEntries(recommend({ memory: 2 ** 50, all: false }).map((r) => [r.variant, r.parameters]));
    expect(params['gemma-3-270m-it']).toBe(268_098_176);
    expect(params['gemma-3-1b-it']).toBe(999_885_952);
    expect(params['gemma-2b-it']).toBe(2_506_172_416);
    expect(params['gemma-2-2b-it']).toBe(2_614_341_888);
    expect(params['gemma-7b-it']).toBe(8_537_680_896);
    expect(params['gemma-2-9b-it']).toBe(9_241_705_984);
    expect(params['gemma-2-27b-it']).toBe(27_227_128_320);
    const r = await cli(['recommend', '--memory', '8GB', '--context', '8192', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    const its = j.models.map((m: { instructionTuned: boolean }) => m.instructionTuned);
    expect(its.indexOf(false)).toBeGreaterThan(0);
    expect(its.slice(its.indexOf(false))).not.toContain(true);
    const itRows = j.models.filter((m: { instructionTuned: boolean }) => m.instructionTuned);
    for (let i = 1; i < itRows.length; i++) expect(itRows[i].parameters).toBeGreaterThanOrEqual(itRows[i - 1].parameters);
    for (const m of j.models) {
      expect(m.totalBytes).toBeLessThanOrEqual(8 * 2 ** 30);
      expect(m.totalBytes).toBe(m.weightsBytes + m.kvCacheBytes + m.scratchBytes);
    }
    const one = j.models.find((m: { variant: string }) => m.variant === 'gemma-3-1b-it');
    expect(one.precision).toBe('bf16');
    // bf16 1B: 2 bytes per matrix weight, f32 norms; KV: 26 layers, 1 KV head of 256, 5 in 6 sliding (512 + 127 slots)
    const c = getPreset('gemma-3-1b');
    const norms = tensorSpecs(c).filter((t) => t.isNorm).reduce((s, t) => s + t.shape[0]!, 0);
    expect(one.weightsBytes).toBe((999_885_952 - norms) * 2 + norms * 4);
    const global = c.layerTypes.filter((t) => t === 'full').length;
    expect(one.kvCacheBytes).toBe((global * 8192 + (26 - global) * (512 + 127)) * 256 * 2 * 4);
    expect(estimateMemory(c, { dtype: 'bf16', contextLength: 8192 }).total).toBe(one.totalBytes);
    // an f16 KV cache (the WASM backend's kvCache option): two bytes an element
    expect(estimateMemory(c, { dtype: 'bf16', contextLength: 8192, kvCache: 'f16' }).kvCache).toBe((global * 8192 + (26 - global) * (512 + 127)) * 256 * 2 * 2);
    // the 27B models do not fit 8 GB at any precision
    expect(j.models.some((m: { variant: string }) => m.variant.includes('27b'))).toBe(false);
    const txt = await cli(['recommend', '--memory', '8GB']);
    expect(txt.stdout.split('\n')[2]).toMatch(/^gemma-3-270m-it\s+bf16/);
    const bad = await cli(['recommend']);
    expect(bad.code).toBe(2);
  });
});
