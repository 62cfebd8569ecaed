// `gemma-ts bench` on a tiny model: runs, prints one JSON line with the figures, and counts
// the weight bytes a decode step reads (every 2-D tensor of the file once).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { readGguf } from '../../src/format/gguf.js';
import { BufferSource } from '../../src/io/source.js';
import { ensureWasmBuilt } from './helpers.js';
import { modelBytes } from './models.js';

describe('gemma-ts bench', () => {
  it('prints prefill/decode tokens/s, time to first token and GB/s as JSON', async () => {
    ensureWasmBuilt();
    const { benchCommand } = await import('../../src/cli/commands/bench.js');
    const bytes = await modelBytes('tiny-gemma-3', 'q8_0');
    const path = join(mkdtempSync(join(tmpdir(), 'gemma-ts-bench-')), 'tiny.gguf');
    writeFileSync(path, bytes);
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((s: unknown) => { lines.push(String(s)); });
    try {
      await benchCommand.run([path, '--threads', '2', '--prompt-tokens', '20', '--gen-tokens', '5', '--repeat', '1', '--json']);
    } finally {
      spy.mockRestore();
    }
    const r = JSON.parse(lines.at(-1)!);
    expect(r.threads).toBe(2);
    expect(r.promptTokens).toBe(20);
    expect(r.prefillTokPerS).toBeGreaterThan(0);
    expect(r.decodeTokPerS).toBeGreaterThan(0);
    expect(r.ttftMs).toBeGreaterThan(0);
    const f = await readGguf(new BufferSource(bytes, 'tiny.gguf'));
    const want = f.tensors.filter((t) => t.shape.length === 2).reduce((a, t) => a + t.byteLength, 0);
    expect(r.weightBytes).toBe(want);
    expect(r.decodeGBps).toBeCloseTo((want * r.decodeTokPerS) / 1e9, 6);
    expect(r.kvCache).toBe('f32');
    // --kv-cache f16 is taken (and reported); a bad value is a usage error
    const lines2: string[] = [];
    const spy2 = vi.spyOn(console, 'log').mockImplementation((s: unknown) => { lines2.push(String(s)); });
    try {
      await benchCommand.run([path, '--threads', '1', '--prompt-tokens', '8', '--gen-tokens', '2', '--repeat', '1', '--kv-cache', 'f16', '--json']);
    } finally {
      spy2.mockRestore();
    }
    expect(JSON.parse(lines2.at(-1)!).kvCache).toBe('f16');
    await expect(benchCommand.run([path, '--kv-cache', 'f8'])).rejects.toThrow(/kv-cache/);
  });
});
