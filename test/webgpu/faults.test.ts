/**
 * Limits and faults: weights split across storage bindings (a deliberately small binding cap),
 * the WebGPU default limits, no adapter, a lost device, out-of-memory and validation errors
 * (typed GemmaError 'BACKEND', then loading again on another backend works), and dispose()
 * destroying every GPU buffer.
 */
import { describe, expect, it } from 'vitest';
import { GemmaError, isGemmaError } from '../../src/errors.js';
import { createBackend } from '../../src/kernels/index.js';
import { ReferenceBackend } from '../../src/kernels/reference/index.js';
import { WebGpuBackend } from '../../src/kernels/webgpu/backend.js';
import '../../src/kernels/wasm/index.js';
import { Pair, randn, randomWeight } from '../helpers/backend-conformance.js';
import { gpuConfigs } from './configs.js';
import { gpuEnv } from './gpu-env.js';
import { loadModel, maxLogSoftmaxDiff, presetSpec, tokens } from './models.js';

const env = await gpuEnv('swiftshader');
const cfg = env.available ? gpuConfigs(env)[0]! : undefined;

function expectBackendError(e: unknown): void {
  expect(isGemmaError(e, 'BACKEND'), String(e)).toBe(true);
}

describe.skipIf(!env.available)(`WebGPU limits and faults (${cfg?.name}, ${env.description})`, () => {
  it('weights larger than a storage binding are split into row chunks (matvec, tiled matmul, embed)', async () => {
    const cap = 16384;
    const be = await WebGpuBackend.create({ gpu: env.gpu, ...cfg!.opts, maxBindingBytes: cap });
    try {
      const P = new Pair(be, new ReferenceBackend());
      for (const [dtype, rows, cols] of [['f32', 300, 64], ['q8_0', 500, 64], ['q6_k', 200, 256], ['q4_k', 300, 256]] as const) {
        const wd = randomWeight(dtype, rows, cols, 5);
        expect(wd.data.byteLength, 'the weight must exceed the cap').toBeGreaterThan(2 * cap);
        const w = P.weight(wd);
        expect((w[0] as unknown as { chunks: unknown[] }).chunks.length).toBeGreaterThan(2);
        for (const n of [1, 6]) {
          const x = P.tensor(n, cols, randn(n * cols, 9 + n));
          const out = P.tensor(n, rows);
          P.be.matmul(out[0], x[0], w[0]); P.ref.matmul(out[1], x[1], w[1]);
          expect(await P.compare(out), `${dtype} matmul, ${n} rows`).toBeLessThan(cfg!.matmulTol?.[dtype] ?? cfg!.tol);
        }
        const toks = Int32Array.from([0, rows - 1, Math.floor(rows / 2), 1, rows - 2]);
        const e = P.tensor(toks.length, cols);
        P.be.embed(e[0], w[0], toks, 3); P.ref.embed(e[1], w[1], toks, 3);
        expect(await P.compare(e), `${dtype} embed`).toBeLessThan(cfg!.tol);
      }
    } finally {
      be.dispose();
    }
  });

  it('a whole model with its embedding/LM head split across 4+ bindings, at WebGPU default limits', async () => {
    const be = await WebGpuBackend.create({ gpu: env.gpu, ...cfg!.opts, adapterLimits: false, maxBindingBytes: 32768 });
    expect(be.device.limits.maxStorageBufferBindingSize).toBe(128 << 20);
    const spec = presetSpec('tiny-gemma-3');
    const [mg, mr] = [await loadModel(spec, be), await loadModel(spec, new ReferenceBackend())];
    try {
      const toks = tokens(24, spec.cfg.vocabSize);
      const [cg, cr] = [mg.newCache(), mr.newCache()];
      let d = maxLogSoftmaxDiff(await mg.eval(toks.slice(0, 20), cg), await mr.eval(toks.slice(0, 20), cr), spec.cfg.vocabSize);
      for (const t of toks.slice(20)) d = Math.max(d, maxLogSoftmaxDiff(await mg.eval([t], cg), await mr.eval([t], cr), spec.cfg.vocabSize));
      expect(d).toBeLessThan(cfg!.modelTol);
      // an activation bigger than one binding is refused with a clear error, not corrupted
      expect(() => be.tensor(40, 512)).toThrow(/storage binding limit/);
    } finally {
      be.dispose();
    }
  });

  it('no WebGPU / no adapter / a failing adapter request: GemmaError BACKEND', async () => {
    const saved = (globalThis as { navigator?: unknown }).navigator;
    await expect(WebGpuBackend.create({ gpu: undefined })).rejects.toSatisfy((e) => isGemmaError(e, 'BACKEND') || saved !== undefined);
    await expect(WebGpuBackend.create({ gpu: { requestAdapter: async () => null } as unknown as GPU })).rejects.toThrow(/no WebGPU adapter/);
    await expect(WebGpuBackend.create({ gpu: { requestAdapter: async () => { throw new Error('boom'); } } as unknown as GPU })).rejects.toSatisfy((e) => isGemmaError(e, 'BACKEND'));
  });

  it('a lost device fails every later call with BACKEND; the model then loads and runs on WASM', async () => {
    const be = await WebGpuBackend.create({ gpu: env.gpu, ...cfg!.opts });
    const spec = presetSpec('tiny-gemma');
    const m = await loadModel(spec, be);
    const toks = tokens(8, spec.cfg.vocabSize);
    await m.logits(toks);
    be.device.destroy(); // what a driver reset or GPU process crash looks like from here
    let err: unknown;
    try { await m.logits(toks); } catch (e) { err = e; }
    expectBackendError(err);
    await new Promise((r) => setTimeout(r, 20));
    expect(() => be.tensor(1, 4)).toThrow(GemmaError);
    be.dispose();
    // the same process loads the model again on another backend
    const wasm = await createBackend('wasm', { threads: 1 });
    const [mw, mr] = [await loadModel(spec, wasm), await loadModel(spec, new ReferenceBackend())];
    expect(maxLogSoftmaxDiff(await mw.logits(toks), await mr.logits(toks), spec.cfg.vocabSize)).toBeLessThan(1e-3);
    mw.dispose();
  });

  it('out of memory while creating a buffer: BACKEND error, no chunk leaks, the backend stays usable', async () => {
    const be = await WebGpuBackend.create({ gpu: env.gpu, ...cfg!.opts, maxBindingBytes: 4096 });
    const dev = be.device;
    const real = dev.createBuffer.bind(dev);
    try {
      // the allocator gives out 2 buffers, then fails (the driver's createBuffer throws)
      const made: { buf: GPUBuffer; destroyed: boolean }[] = [];
      (dev as { createBuffer: GPUDevice['createBuffer'] }).createBuffer = (d) => {
        if (made.length >= 2) throw new RangeError('Failed to allocate (simulated out of memory)');
        const rec = { buf: real(d), destroyed: false };
        const destroy = rec.buf.destroy.bind(rec.buf);
        rec.buf.destroy = () => { rec.destroyed = true; destroy(); };
        made.push(rec);
        return rec.buf;
      };
      const big = randomWeight('f32', 64, 64, 1); // 16 KiB: 5 chunks of <= 4 KiB
      let err: unknown;
      try { be.uploadWeight(big); } catch (e) { err = e; }
      expectBackendError(err);
      expect(String(err)).toMatch(/out of memory/);
      expect(made.length).toBe(2);
      expect(made.every((m) => m.destroyed), 'chunks of the failed weight are destroyed').toBe(true);
      (dev as { createBuffer: GPUDevice['createBuffer'] }).createBuffer = real;
      const P = new Pair(be, new ReferenceBackend());
      const w = P.weight(big);
      const x = P.tensor(1, 64, randn(64, 3)), out = P.tensor(1, 64);
      P.be.matmul(out[0], x[0], w[0]); P.ref.matmul(out[1], x[1], w[1]);
      expect(await P.compare(out)).toBeLessThan(cfg!.tol);
    } finally {
      (dev as { createBuffer: GPUDevice['createBuffer'] }).createBuffer = real;
      be.dispose();
    }
  });

  it('a WebGPU validation error anywhere fails the backend with BACKEND at the next call', async () => {
    const be = await WebGpuBackend.create({ gpu: env.gpu, ...cfg!.opts });
    const t = be.tensor(2, 8);
    // invalid usage: MAP_READ may only be combined with COPY_DST
    be.device.createBuffer({ size: 16, usage: 0x0001 | 0x0080 });
    let err: unknown;
    try { await be.download(t); } catch (e) { err = e; }
    expectBackendError(err);
    be.dispose();
  });

  it('dispose() destroys every GPU buffer the backend created', async () => {
    const probe = await WebGpuBackend.create({ gpu: env.gpu, ...cfg!.opts });
    const proto = Object.getPrototypeOf(probe.device) as GPUDevice;
    probe.dispose();
    const realCreate = proto.createBuffer;
    const live = new Set<GPUBuffer>();
    proto.createBuffer = function (this: GPUDevice, d: GPUBufferDescriptor) {
      const b = realCreate.call(this, d);
      live.add(b);
      const realDestroy = b.destroy.bind(b);
      b.destroy = () => { live.delete(b); realDestroy(); };
      return b;
    };
    try {
      const be = await WebGpuBackend.create({ gpu: env.gpu, ...cfg!.opts, maxBindingBytes: 65536 });
      const m = await loadModel(presetSpec('tiny-gemma-2'), be);
      const c = m.newCache();
      await m.nextGreedy(tokens(6, 512), c);
      await m.logits(tokens(20, 512), { allLogits: true });
      expect(live.size).toBeGreaterThan(20);
      m.dispose(); // frees weights, then backend.dispose()
      expect(live.size).toBe(0);
    } finally {
      proto.createBuffer = realCreate;
    }
  });
});

it.skipIf(env.available)('WebGPU fault tests skipped: no adapter (see the warning above)', () => {});
