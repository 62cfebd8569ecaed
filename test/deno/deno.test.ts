/**
 * Deno: the Node ESM build (dist/index.js) imported by Deno generates the same tokens as the
 * sources under Node. Needs a `deno` binary (PATH, DENO_BIN, or node_modules/.bin/deno from
 * `npm i -D deno`); without one this test is skipped with a loud warning.
 * (The `npm:gemma-ts` specifier resolves to the same dist/index.js through package.json "exports".)
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';
import { writeSynth } from '../../src/cli/commands/synth.js';
import { loadModel } from '../../src/index.js';

const ROOT = join(__dirname, '..', '..');
function findDeno(): string | undefined {
  const cands = [process.env.DENO_BIN, join(ROOT, 'node_modules', '.bin', 'deno')];
  try { cands.push(execFileSync('sh', ['-c', 'command -v deno'], { encoding: 'utf8' }).trim()); } catch { /* not on PATH */ }
  return cands.find((c) => c && existsSync(c));
}
const DENO = findDeno();
if (!DENO) console.warn('\n*** test/deno/deno.test.ts SKIPPED: no deno binary (npm i -D deno, or put deno on PATH / set DENO_BIN) ***\n');

/** the ESM build of src/index.ts into .cache/test-deno (once for both tests) */
let built: Promise<string> | null = null;
function bundle(): Promise<string> {
  built ??= (async () => {
    const out = join(ROOT, '.cache', 'test-deno');
    mkdirSync(out, { recursive: true });
    await esbuild.build({
      bundle: true, format: 'esm', target: 'es2022', platform: 'node', logLevel: 'warning',
      entryPoints: { index: join(ROOT, 'src/index.ts') }, outdir: out,
      external: ['node-llama-cpp', 'webgpu', 'playwright-core', 'tsx', '@huggingface/tokenizers', 'esbuild'],
    });
    return out;
  })();
  return built;
}

describe.skipIf(!DENO)('Deno', () => {
  it('runs the ESM build and generates the same tokens as Node', async () => {
    const out = await bundle();
    const model = join(out, 'tiny.gguf');
    await writeSynth('tiny-gemma-3', 'f32', 'gguf', 9, model);
    const script = join(out, 'run.ts');
    writeFileSync(script, `
      import { loadModel } from './index.js';
      const m = await loadModel(${JSON.stringify(model)}, { backend: 'reference' });
      const r = await m.generate('Hello world', { temperature: 0, maxTokens: 6, ignoreEos: true });
      console.log(JSON.stringify({ tokens: r.tokens, text: r.text }));
      await m.dispose();
    `);
    const { stdout } = await promisify(execFile)(DENO!, ['run', '--allow-read', '--allow-env', '--allow-sys', '--allow-net', '--allow-ffi', script], { cwd: out, timeout: 120_000 });
    const got = JSON.parse(stdout.trim().split('\n').at(-1)!);
    const m = await loadModel(model, { backend: 'reference' });
    const want = await m.generate('Hello world', { temperature: 0, maxTokens: 6, ignoreEos: true });
    await m.dispose();
    expect(got).toEqual({ tokens: want.tokens, text: want.text });
  });

  it('generates from the demo model on WebGPU (Deno navigator.gpu over Mesa lavapipe) and on WASM, like Node', async () => {
    const out = await bundle();
    const model = join(ROOT, 'models', 'demo');
    const script = join(out, 'run-demo.ts');
    writeFileSync(script, `
      import { loadModel } from './index.js';
      const res = {};
      for (const backend of ['webgpu', 'wasm']) {
        const m = await loadModel(${JSON.stringify(model)}, { backend, contextLength: 256 });
        const r = await m.generate('And God said', { temperature: 0.8, seed: 1, maxTokens: 12 });
        res[backend] = { used: m.backend, text: r.text };
        await m.dispose();
      }
      console.log(JSON.stringify(res));
    `);
    const env = { ...process.env, VK_ICD_FILENAMES: '/usr/share/vulkan/icd.d/lvp_icd.json' };
    const { stdout } = await promisify(execFile)(DENO!, ['run', '--allow-read', '--allow-env', '--allow-sys', '--allow-net', '--allow-ffi', script], { cwd: out, timeout: 240_000, env });
    const got = JSON.parse(stdout.trim().split('\n').at(-1)!);
    const m = await loadModel(model, { backend: 'reference', contextLength: 256 });
    const want = await m.generate('And God said', { temperature: 0.8, seed: 1, maxTokens: 12 });
    await m.dispose();
    console.log(`Deno demo generation: ${JSON.stringify(got)}`);
    expect(got.webgpu).toEqual({ used: 'webgpu', text: want.text });
    expect(got.wasm).toEqual({ used: 'wasm', text: want.text });
  }, 300_000);
});
