/**
 * End-to-end: the demo page (npm run web) in headless Chromium. It loads a small synthetic
 * model from the page server over HTTP, shows progress and the backend it chose, and chats
 * with streaming output. Screenshots go to .cache/screenshots/ (gitignored).
 *
 * Needs Chromium: /usr/lib/chromium/chromium or /usr/bin/chromium (apt-get install chromium),
 * or CHROMIUM_PATH. Skips loudly without it.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { writeSynth } from '../../src/cli/commands/synth.js';
import { loadModel } from '../../src/index.js';
import { CHROMIUM, launchChromium } from '../helpers/chromium.js';
// @ts-expect-error plain JS module without types
import { buildWeb, startWebServer } from '../../scripts/web.mjs';

if (!CHROMIUM) console.warn('\n*** test/browser/web.test.ts SKIPPED: no Chromium found (apt-get install -y chromium, or set CHROMIUM_PATH) ***\n');

const ROOT = join(__dirname, '..', '..');
const SHOTS = join(ROOT, '.cache', 'screenshots');
const models = mkdtempSync(join(tmpdir(), 'gemma-ts-web-'));
let server: { url: string; requests: { path: string; range: string | null }[]; close(): Promise<void> };
let ctx: BrowserContext;

beforeAll(async () => {
  if (!CHROMIUM) return;
  mkdirSync(SHOTS, { recursive: true });
  await buildWeb();
  await writeSynth('tiny-gemma-3', 'f32', 'safetensors', 11, join(models, 'tiny'));
  server = await startWebServer({ port: 0, models: [models] });
  ctx = await launchChromium([], { width: 1100, height: 760 });
}, 120_000);

afterAll(async () => { await ctx?.close(); await server?.close(); });

async function openPage(): Promise<Page> {
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server.url);
  await page.waitForSelector('body[data-state="idle"]');
  expect(errors).toEqual([]);
  return page;
}

async function loadUrl(page: Page, url: string, backend: string, cache = true): Promise<void> {
  await page.fill('#url', url);
  await page.selectOption('#backend', backend);
  await page.setChecked('#cache', cache);
  await page.click('#load-url');
  await page.waitForFunction(() => /^(ready|could not load)/.test(document.getElementById('status')!.textContent ?? ''), null, { timeout: 60_000 });
}

async function chat(page: Page, text: string): Promise<string> {
  await page.fill('#prompt', text);
  await page.click('#send');
  await page.waitForFunction(() => document.body.dataset.state === 'ready' && /tokens\/s/.test(document.getElementById('stats')!.textContent ?? ''), null, { timeout: 60_000 });
  return (await page.locator('.msg.assistant').last().textContent()) ?? '';
}

describe.skipIf(!CHROMIUM)('web page in headless Chromium', () => {
  it('is cross-origin isolated (COOP/COEP) and has no script errors', async () => {
    const page = await openPage();
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    expect(await page.evaluate(() => typeof SharedArrayBuffer)).toBe('function');
    await page.close();
  });

  it('loads a model over HTTP on the reference backend and streams the same reply as Node', async () => {
    const page = await openPage();
    // sampled (seeded) rather than greedy: the synthetic model's greedy reply is only newlines
    await page.fill('#temperature', '1');
    await page.fill('#seed', '2');
    await page.fill('#max-tokens', '12');
    await loadUrl(page, 'models/tiny/', 'reference', false);
    expect(await page.textContent('#status')).toMatch(/^ready: tiny .* on reference/);
    expect(await page.textContent('#backend-used')).toBe('reference');
    const reply = await chat(page, 'Hello there');
    const m = await loadModel(join(models, 'tiny'), { backend: 'reference', contextLength: 2048 });
    const want = await m.chat([{ role: 'user', content: 'Hello there' }], { temperature: 1, seed: 2, maxTokens: 12 });
    await m.dispose();
    expect(want.text.trim().length).toBeGreaterThan(3);
    expect(reply).toBe(want.text);
    expect(await page.textContent('#stats')).toContain(`${want.usage.completionTokens} tokens`);
    // raw completion (no chat template) continues the text like model.generate
    await page.setChecked('#raw', true);
    const raw = await chat(page, 'The quick brown fox');
    const m2 = await loadModel(join(models, 'tiny'), { backend: 'reference', contextLength: 2048 });
    const want2 = await m2.generate('The quick brown fox', { temperature: 1, seed: 2, maxTokens: 12 });
    await m2.dispose();
    expect(raw).toBe('The quick brown fox' + want2.text);
    await page.screenshot({ path: join(SHOTS, 'web-reference.png'), fullPage: true });
    await page.close();
  });

  it("backend 'auto' picks WebGPU when Chromium has an adapter, else WASM, and chats; a second load comes from the cache", async () => {
    const page = await openPage();
    const hasAdapter = await page.evaluate(async () => {
      const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: { isFallbackAdapter?: boolean } } | null> } }).gpu;
      const a = await gpu?.requestAdapter();
      return !!a && !a.info?.isFallbackAdapter;
    });
    await page.fill('#temperature', '1');
    await page.fill('#seed', '2');
    await page.fill('#max-tokens', '12');
    server.requests.length = 0;
    await loadUrl(page, 'models/tiny/', 'auto', true);
    const status = (await page.textContent('#status'))!;
    expect(status).toMatch(/^ready: /);
    const used = await page.textContent('#backend-used');
    console.log(`page backend: ${used} (WebGPU adapter in Chromium: ${hasAdapter}); ${status}`);
    expect(used).toBe(hasAdapter ? 'webgpu' : 'wasm');
    const reply = await chat(page, 'Tell me a story');
    expect(reply.length).toBeGreaterThan(0);
    expect(await page.textContent('#stats')).toMatch(/12 tokens|stop/);
    await page.screenshot({ path: join(SHOTS, 'web-auto.png'), fullPage: true });
    const first = server.requests.length;
    expect(first).toBeGreaterThan(0);
    // load again: files come from the Cache API, not the network
    server.requests.length = 0;
    await loadUrl(page, 'models/tiny/', 'auto', true);
    expect(await page.textContent('#status')).toMatch(/^ready: /);
    expect(server.requests.filter((r) => r.path.endsWith('.safetensors'))).toEqual([]);
    await page.close();
  });

  it('reports a storage quota that is too small clearly', async () => {
    const page = await ctx.newPage();
    await page.addInitScript(() => {
      Object.defineProperty(navigator.storage, 'estimate', { value: async () => ({ quota: 100_000, usage: 90_000 }) });
    });
    await page.goto(server.url);
    await page.waitForSelector('body[data-state="idle"]');
    await page.evaluate(async () => { for (const k of await caches.keys()) await caches.delete(k); });
    await loadUrl(page, 'models/tiny/', 'reference', true);
    const status = (await page.textContent('#status'))!;
    expect(status).toMatch(/could not load .*not enough browser storage to cache .*model\.safetensors.*needs .* MiB/);
    await page.screenshot({ path: join(SHOTS, 'web-quota.png') });
    await page.close();
  });
});
