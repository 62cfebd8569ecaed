/**
 * Headless Chromium for the browser tests (and bench/webgpu-compare): where it is, and a fresh
 * profile started the way the issue prescribes (no network services, no first-run UI), with
 * WebGPU enabled; `extraArgs` adds e.g. --use-webgpu-adapter=swiftshader.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

/** the Chromium binary: CHROMIUM_PATH, or Debian's (apt-get install chromium); undefined when none */
export const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/lib/chromium/chromium', '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && existsSync(p));

export const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

export async function launchChromium(extraArgs: string[] = [], viewport?: { width: number; height: number }): Promise<BrowserContext> {
  if (!CHROMIUM) throw new Error('no Chromium (apt-get install -y chromium, or set CHROMIUM_PATH)');
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'gemma-ts-chromium-')), {
    executablePath: CHROMIUM, headless: true, ...(viewport ? { viewport } : {}), args: [...CHROMIUM_ARGS, ...extraArgs],
  });
}
