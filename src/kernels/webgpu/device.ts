/// <reference types="@webgpu/types" />
/**
 * Adapter and device acquisition: which optional features the backend uses, which limits it
 * asks for, and the checks that turn "no WebGPU here" into a typed error.
 *
 * - shader-f16: requested when present and `preferF16` is not false (the f16 path).
 * - subgroups: requested when present and `subgroups` is not false; kept only when a probe
 *   kernel shows subgroups are contiguous runs of the local index (common/reduce.wgsl).
 * - timestamp-query: requested when `profile` is set and present.
 * - maxStorageBufferBindingSize / maxBufferSize: the adapter's maxima (WebGPU defaults are
 *   128 MiB / 256 MiB); tensors bigger than a binding are split (weight-layout.ts), and
 *   `maxBindingBytes` caps the binding size further (tests use it to force splitting).
 */
import { GemmaError } from '../../errors.js';
import { BufferUsage, MapMode } from './gpu-consts.js';
import { SHADERS } from './shaders.generated.js';

export interface WebGpuOptions {
  /** a WebGPU entry point (navigator.gpu or Node's `webgpu` package); default globalThis.navigator.gpu */
  gpu?: GPU;
  /** use shader-f16 when the adapter has it (default true) */
  preferF16?: boolean;
  /** use subgroup operations when the adapter has them (default true) */
  subgroups?: boolean;
  /** cap on the bytes of one storage binding (default: the device limit) */
  maxBindingBytes?: number;
  /**
   * ask for the adapter's maximum maxStorageBufferBindingSize / maxBufferSize (default true);
   * false keeps WebGPU's defaults (128 MiB / 256 MiB), which the backend also works within
   */
  adapterLimits?: boolean;
  /**
   * decode attention (<= 4 query rows) over more keys than this splits them across
   * workgroups (about 128 workgroups in all), this many or more each, merged by a second
   * kernel (default 32: one chunk of attention.wgsl)
   */
  attentionSplitKeys?: number;
  /** time every dispatch with timestamp queries, by kernel class (see WebGpuBackend.profile) */
  profile?: boolean;
  /**
   * the KV cache's element type: 'f16' (half the memory and the attention's reads; on the f32
   * path stored as f16 pairs packed in u32 words, which needs no shader-f16) or 'f32'. Default:
   * f16 on the shader-f16 path, f32 on the f32 path.
   */
  kvCache?: 'f32' | 'f16';
  /**
   * treat the adapter as a CPU implementation (true) or a GPU (false) when choosing kernels;
   * default: detected (lavapipe, SwiftShader, fallback adapters are software). Tests use it to
   * run the GPU kernel choices on a CPU driver.
   */
  software?: boolean;
  /**
   * how a dispatch's uniform slot is bound: 'dynamic' (one bind group per kernel and buffers, a
   * dynamic offset per dispatch) or 'static' (the slot's offset in the bind group: one group per
   * dispatch position, reused step after step). Default: static on software adapters, where
   * lavapipe spends ~70 us on each dynamic-offset bind (90 against 19 us per dispatch), dynamic
   * on GPUs.
   */
  uniformOffsets?: 'dynamic' | 'static';
  powerPreference?: GPUPowerPreference;
}

export interface GpuContext {
  device: GPUDevice;
  adapterInfo: { vendor: string; architecture: string; device: string; description: string };
  /** every feature the adapter offers (whether used or not) */
  adapterFeatures: string[];
  /**
   * a CPU implementation (lavapipe, SwiftShader, a fallback adapter): workgroup barriers cost
   * far more there than on a GPU, so kernels that trade barriers for parallelism are avoided
   */
  software: boolean;
  /** the f16 path is on */
  f16: boolean;
  /** reductions use subgroup operations */
  subgroups: boolean;
  subgroupSize: number;
  /** timestamp queries are enabled (profile mode) */
  timestamps: boolean;
  /** bytes of one storage binding (after maxBindingBytes) */
  maxBinding: number;
  /** bytes of one buffer */
  maxBuffer: number;
  uniformAlign: number;
  storageAlign: number;
}

function backendError(message: string, cause?: unknown): GemmaError {
  return new GemmaError('BACKEND', message, cause !== undefined ? { cause } : {});
}

export async function acquireDevice(opts: WebGpuOptions): Promise<GpuContext> {
  const gpu = opts.gpu ?? (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) throw backendError('WebGPU is not available here (no navigator.gpu; in Node pass { gpu } from the `webgpu` package, see src/kernels/webgpu/node-gpu.ts)');
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  } catch (e) {
    throw backendError(`requestAdapter failed: ${(e as Error).message}`, e);
  }
  if (!adapter) throw backendError('no WebGPU adapter (no GPU, or no Vulkan/Metal/D3D driver the WebGPU implementation accepts)');

  const want: GPUFeatureName[] = [];
  const has = (f: string) => adapter!.features.has(f);
  const f16 = opts.preferF16 !== false && has('shader-f16');
  if (f16) want.push('shader-f16');
  let subgroups = opts.subgroups !== false && has('subgroups');
  if (subgroups) want.push('subgroups' as GPUFeatureName);
  const timestamps = opts.profile === true && has('timestamp-query');
  if (timestamps) want.push('timestamp-query');

  const al = adapter.limits;
  const requiredLimits: Record<string, number> = opts.adapterLimits === false ? {} : {
    maxStorageBufferBindingSize: al.maxStorageBufferBindingSize,
    maxBufferSize: al.maxBufferSize,
  };
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredFeatures: want, requiredLimits });
  } catch (e) {
    throw backendError(`requestDevice failed: ${(e as Error).message}`, e);
  }
  const info = adapter.info ?? ({} as GPUAdapterInfo);
  let subgroupSize = 0;
  if (subgroups) {
    subgroupSize = await probeSubgroups(device);
    if (subgroupSize === 0) subgroups = false;
  }
  const maxBinding = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize, opts.maxBindingBytes ?? Infinity);
  if (!(maxBinding >= 1024)) throw new GemmaError('BAD_ARGUMENT', `maxBindingBytes ${opts.maxBindingBytes} is too small`);
  return {
    device,
    adapterInfo: { vendor: info.vendor ?? '', architecture: info.architecture ?? '', device: info.device ?? '', description: info.description ?? '' },
    adapterFeatures: [...adapter.features].map(String).sort(),
    software: opts.software ?? isSoftwareAdapter(adapter as { isFallbackAdapter?: boolean }, info),
    f16, subgroups, subgroupSize, timestamps,
    // a multiple of 4 (array<u32> bindings)
    maxBinding: Math.floor(maxBinding / 256) * 256,
    maxBuffer: device.limits.maxBufferSize,
    uniformAlign: device.limits.minUniformBufferOffsetAlignment,
    storageAlign: device.limits.minStorageBufferOffsetAlignment,
  };
}

/**
 * Run shaders/probe_subgroups.wgsl: returns the subgroup size when every subgroup is an aligned,
 * contiguous run of local indices (the layout the reductions rely on), else 0.
 */
async function probeSubgroups(device: GPUDevice): Promise<number> {
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code: SHADERS['probe_subgroups']! });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const bytes = 65 * 4;
  const buf = device.createBuffer({ size: bytes, usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC });
  const read = device.createBuffer({ size: bytes, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
  try {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] }));
    pass.dispatchWorkgroups(1);
    pass.end();
    enc.copyBufferToBuffer(buf, 0, read, 0, bytes);
    device.queue.submit([enc.finish()]);
    const err = await device.popErrorScope();
    if (err) return 0;
    await read.mapAsync(MapMode.READ);
    const r = new Uint32Array(read.getMappedRange().slice(0));
    read.unmap();
    const size = r[64]!;
    for (let i = 0; i < 64; i++) if (r[i] !== 0) return 0;
    return size >= 1 && size <= 64 ? size : 0;
  } catch {
    return 0;
  } finally {
    buf.destroy();
    read.destroy();
  }
}

/** lavapipe / llvmpipe, SwiftShader, or an adapter that says it is a fallback */
export function isSoftwareAdapter(adapter: { isFallbackAdapter?: boolean }, info: Partial<GPUAdapterInfo> & { isFallbackAdapter?: boolean }): boolean {
  if (adapter.isFallbackAdapter || info.isFallbackAdapter || info.architecture === 'software') return true;
  return /llvmpipe|lavapipe|swiftshader/i.test(`${info.vendor ?? ''} ${info.architecture ?? ''} ${info.device ?? ''} ${info.description ?? ''}`);
}
