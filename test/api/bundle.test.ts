/**
 * The published builds, run without tsx: dist/index.js (Node ≥ 20 ESM) generates the same text
 * as the sources, and dist/browser.js (the browser ESM bundle) has no static Node imports.
 * Bundled with the same esbuild options as scripts/build.mjs, into .cache/test-dist/.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeSynth } from '../../src/cli/commands/synth.js';
import { loadModel } from '../../src/index.js';

const ROOT = join(__dirname, '..', '..');
const OUT = join(ROOT, '.cache', 'test-dist');
const MODEL = join(OUT, 'tiny.gguf');
const nodeExternal = ['node-llama-cpp', 'webgpu', 'playwright-core', 'tsx', '@huggingface/tokenizers', 'esbuild'];

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  const common = { bundle: true, format: 'esm', sourcemap: false, logLevel: 'warning', target: 'es2022' } as const;
  await esbuild.build({ ...common, platform: 'node', entryPoints: { index: join(ROOT, 'src/index.ts') }, outdir: OUT, external: nodeExternal });
  await esbuild.build({ ...common, platform: 'browser', entryPoints: { browser: join(ROOT, 'src/browser.ts') }, outdir: OUT, external: ['node:*'] });
  await writeSynth('tiny-gemma-2', 'f32', 'gguf', 8, MODEL);
}, 120_000);

describe('builds', () => {
  it('dist/index.js runs in plain Node and matches the sources', async () => {
    const script = join(OUT, 'run-node.mjs');
    writeFileSync(script, `
      import { loadModel, GemmaError } from './index.js';
      const m = await loadModel(${JSON.stringify(MODEL)}, { backend: 'reference' });
      const r = await m.generate('Hello world', { temperature: 0, maxTokens: 6, ignoreEos: true });
      const c = await m.chat.completions.create({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 3, temperature: 0 });
      console.log(JSON.stringify({ tokens: r.tokens, text: r.text, object: c.object, isError: new GemmaError('IO', 'x') instanceof Error }));
      await m.dispose();
    `);
    const { stdout } = await promisify(execFile)(process.execPath, [script], { cwd: OUT, timeout: 60_000 });
    const got = JSON.parse(stdout.trim().split('\n').at(-1)!);
    const m = await loadModel(MODEL, { backend: 'reference' });
    const want = await m.generate('Hello world', { temperature: 0, maxTokens: 6, ignoreEos: true });
    await m.dispose();
    expect(got).toEqual({ tokens: want.tokens, text: want.text, object: 'chat.completion', isError: true });
  });

  it('dist/browser.js imports nothing from Node at load time', () => {
    const src = readFileSync(join(OUT, 'browser.js'), 'utf8');
    const staticImports = src.split('\n').filter((l) => /^\s*import\s.*from\s/.test(l) || /^\s*import\s+["']/.test(l));
    expect(staticImports).toEqual([]);
    expect(src).toContain('loadModel');
    expect(src).not.toMatch(/from\s+["']webgpu["']/);
  });
});
