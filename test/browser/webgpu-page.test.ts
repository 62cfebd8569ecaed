/**
 * WebGPU in the browser: the demo page in headless Chromium with Chromium's own SwiftShader
 * WebGPU adapter (--use-webgpu-adapter=swiftshader), backend 'webgpu' chosen explicitly (auto
 * skips software adapters). The seeded reply must equal the reference backend's in Node.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext } from 'playwright-core';
import { writeSynth } from '../../src/cli/commands/synth.js';
import { loadModel } from '../../src/index.js';
import { CHROMIUM, launchChromium } from '../helpers/chromium.js';
// @ts-expect-error plain JS module without types
import { buildWeb, startWebServer } from '../../scripts/web.mjs';

if (!CHROMIUM) console.warn('\n*** test/browser/webgpu-page.test.ts SKIPPED: no Chromium found (apt-get install -y chromium) ***\n');
const SHOTS = join(__dirname, '..', '..', '.cache', 'screenshots');
const models = mkdtempSync(join(tmpdir(), 'gemma-ts-webgpu-'));
let server: { url: string; close(): Promise<void> };
let ctx: BrowserContext;

beforeAll(async () => {
  if (!CHROMIUM) return;
  mkdirSync(SHOTS, { recursive: true });
  await buildWeb();
  await writeSynth('tiny-gemma-3', 'f32', 'safetensors', 11, join(models, 'tiny'));
  server = await startWebServer({ port: 0, models: [models, join(__dirname, '..', '..', 'models')] });
  ctx = await launchChromium(['--use-webgpu-adapter=swiftshader'], { width: 1100, height: 760 });
}, 120_000);
afterAll(async () => { await ctx?.close(); await server?.close(); });

describe.skipIf(!CHROMIUM)('WebGPU in headless Chromium', () => {
  it("the page generates on backend 'webgpu' and the seeded reply equals the reference backend's", async () => {
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    await page.waitForSelector('body[data-state="idle"]');
    const adapter = await page.evaluate(async () => {
      const a = await (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string } } | null> } }).gpu?.requestAdapter();
      return a ? `${a.info?.vendor} ${a.info?.architecture}` : null;
    });
    expect(adapter, 'Chromium should expose its SwiftShader WebGPU adapter with --use-webgpu-adapter=swiftshader').not.toBeNull();
    await page.fill('#temperature', '1');
    await page.fill('#seed', '2');
    await page.fill('#max-tokens', '12');
    await page.setChecked('#raw', true);
    await page.fill('#url', 'models/tiny/');
    await page.selectOption('#backend', 'webgpu');
    await page.setChecked('#cache', false);
    await page.click('#load-url');
    await page.waitForFunction(() => /^(ready|could not load)/.test(document.getElementById('status')!.textContent ?? ''), null, { timeout: 120_000 });
    expect(await page.textContent('#status')).toMatch(/^ready: .* on webgpu/);
    expect(await page.textContent('#backend-used')).toBe('webgpu');
    await page.fill('#prompt', 'The quick brown fox');
    await page.click('#send');
    await page.waitForFunction(() => document.body.dataset.state === 'ready' && /tokens\/s/.test(document.getElementById('stats')!.textContent ?? ''), null, { timeout: 120_000 });
    const reply = (await page.locator('.msg.assistant').last().textContent()) ?? '';
    const m = await loadModel(join(models, 'tiny'), { backend: 'reference', contextLength: 2048 });
    const want = await m.generate('The quick brown fox', { temperature: 1, seed: 2, maxTokens: 12 });
    await m.dispose();
    console.log(`WebGPU in Chromium (${adapter}): ${JSON.stringify(reply)}`);
    expect(reply).toBe('The quick brown fox' + want.text);
    expect(errors).toEqual([]);
    // the trained demo model on WebGPU in the page: readable text, same as the reference backend
    await page.click('#reset');
    await page.fill('#url', 'models/demo/');
    await page.click('#load-url');
    await page.waitForFunction(() => /^(ready|could not load)/.test(document.getElementById('status')!.textContent ?? '') && /demo/.test(document.getElementById('status')!.textContent ?? ''), null, { timeout: 120_000 });
    expect(await page.textContent('#status')).toMatch(/^ready: demo .* on webgpu/);
    await page.fill('#temperature', '0.8');
    await page.fill('#seed', '1');
    await page.fill('#max-tokens', '16');
    await page.fill('#prompt', 'And God said');
    await page.click('#send');
    await page.waitForFunction(() => document.body.dataset.state === 'ready' && /tokens\/s/.test(document.getElementById('stats')!.textContent ?? ''), null, { timeout: 120_000 });
    const demoReply = (await page.locator('.msg.assistant').last().textContent()) ?? '';
    const d = await loadModel(join(__dirname, '..', '..', 'models', 'demo'), { backend: 'reference', contextLength: 2048 });
    const demoWant = await d.generate('And God said', { temperature: 0.8, seed: 1, maxTokens: 16 });
    await d.dispose();
    console.log(`demo model on WebGPU in Chromium: ${JSON.stringify(demoReply)}`);
    expect(demoReply).toBe('And God said' + demoWant.text);
    await page.screenshot({ path: join(SHOTS, 'web-webgpu.png'), fullPage: true });
    await page.close();
  });
});
