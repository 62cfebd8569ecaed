// `gemma-ts bench --backend webgpu` on the demo model (lavapipe): the JSON line carries one
// profiled decode step: GPU time per kernel class from timestamp queries and the dispatch count,
// which shows the fused decode path: 8 dispatches per layer (q/k/v; QK-norm + RoPE + KV store;
// attention; o; residual + norms; gate/up + GeGLU; down; residual + norms) plus the embedding,
// the first norm, the LM head and the argmax. --kv-cache reaches the WebGPU backend.
import { describe, expect, it, vi } from 'vitest';
import { benchCommand } from '../../src/cli/commands/bench.js';
import { getPreset } from '../../src/model/config.js';
import { gpuEnv } from './gpu-env.js';

const env = await gpuEnv('lavapipe');

describe.skipIf(!env.available)(`gemma-ts bench --backend webgpu (${env.description})`, () => {
  it('prints the figures and one profiled decode step as JSON', async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((s: unknown) => { lines.push(String(s)); });
    try {
      await benchCommand.run(['models/demo', '--backend', 'webgpu', '--prompt-tokens', '16', '--gen-tokens', '4', '--repeat', '1', '--json']);
    } finally {
      spy.mockRestore();
    }
    const r = JSON.parse(lines.at(-1)!);
    expect(r.backend).toBe('webgpu');
    expect(r.decodeTokPerS).toBeGreaterThan(0);
    const layers = getPreset('demo').numLayers;
    const n = Object.values(r.decodeStep.dispatches as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(n).toBe(8 * layers + 4);
    expect(r.decodeStep.dispatches.matvec).toBe(4 * layers + 1);
    expect(r.decodeStep.gpuMs.matvec).toBeGreaterThan(0); // lavapipe has timestamp-query
    expect(r.decodeStep.hostMs).toBeGreaterThan(0);
    expect(r.kvCache).toBe('f16'); // the f16 path's default
  });

  it('--kv-cache reaches the backend (an f32 cache on the f16 path)', async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((s: unknown) => { lines.push(String(s)); });
    try {
      await benchCommand.run(['models/demo', '--backend', 'webgpu', '--prompt-tokens', '8', '--gen-tokens', '2', '--repeat', '1', '--kv-cache', 'f32', '--json']);
    } finally {
      spy.mockRestore();
    }
    expect(JSON.parse(lines.at(-1)!).kvCache).toBe('f32');
  });
});
