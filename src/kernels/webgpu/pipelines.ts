/// <reference types="@webgpu/types" />
/**
 * Compute pipelines built from the preprocessed WGSL, cached by (shader, defines). Every
 * kernel has an explicit bind group layout: binding 0 is the uniform parameter block (a slot
 * of the recorder's uniform arena, at a dynamic offset or, with staticUniforms, at the offset
 * the bind group names), bindings 1.. are storage buffers, read-only or read-write as the
 * kernel spec says.
 */
import { GemmaError } from '../../errors.js';
import { ShaderStage } from './gpu-consts.js';
import { type Defines, preprocess } from './preprocess.js';

export type Access = 'read' | 'rw';

export interface KernelSpec {
  /** shader path under shaders/ without .wgsl */
  shader: string;
  defines: Defines;
  /** access of storage bindings 1..n */
  bindings: readonly Access[];
  /** kernel class for profiling ('matvec', 'attention', ...) */
  kind: string;
}

export interface Kernel {
  readonly key: string;
  /** small number unique per built kernel (bind-group cache keys) */
  readonly id: number;
  readonly kind: string;
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
  readonly code: string;
  readonly module: GPUShaderModule;
}

const specMemo = new Map<string, KernelSpec>();
/** one spec object per variant, so the kernel lookup of a dispatch is a WeakMap hit */
export function memoSpec(key: string, make: () => KernelSpec): KernelSpec {
  let s = specMemo.get(key);
  if (!s) specMemo.set(key, s = make());
  return s;
}

export class Pipelines {
  private readonly cache = new Map<string, Kernel>();
  private readonly bySpec = new WeakMap<KernelSpec, Kernel>();
  /** defines every shader gets (F16, SUBGROUPS); staticUniforms: see Recorder */
  constructor(private readonly device: GPUDevice, private readonly base: Defines, private readonly staticUniforms = false) {}

  /** the WGSL of a kernel variant, with this device's base defines */
  source(spec: KernelSpec): string {
    return preprocess(spec.shader, { ...this.base, ...spec.defines });
  }

  get(spec: KernelSpec): Kernel {
    let k = this.bySpec.get(spec);
    if (k) return k;
    const defines = { ...this.base, ...spec.defines };
    const key = `${spec.shader}|${JSON.stringify(defines, Object.keys(defines).sort())}|${spec.bindings.join(',')}`;
    k = this.cache.get(key);
    if (k) { this.bySpec.set(spec, k); return k; }
    const code = preprocess(spec.shader, defines);
    const layout = this.device.createBindGroupLayout({
      label: spec.shader,
      entries: [
        { binding: 0, visibility: ShaderStage.COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: !this.staticUniforms } },
        ...spec.bindings.map((a, i) => ({
          binding: i + 1, visibility: ShaderStage.COMPUTE,
          buffer: { type: (a === 'rw' ? 'storage' : 'read-only-storage') as GPUBufferBindingType },
        })),
      ],
    });
    const module = this.device.createShaderModule({ label: spec.shader, code });
    let pipeline: GPUComputePipeline;
    try {
      pipeline = this.device.createComputePipeline({
        label: spec.shader,
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: 'main' },
      });
    } catch (e) {
      throw new GemmaError('BACKEND', `cannot build the ${spec.shader} kernel: ${(e as Error).message}`, { cause: e });
    }
    k = { key, id: this.cache.size + 1, kind: spec.kind, pipeline, layout, code, module };
    this.cache.set(key, k);
    this.bySpec.set(spec, k);
    return k;
  }

  /** every kernel built so far (tests check their compilation messages) */
  all(): Kernel[] { return [...this.cache.values()]; }
}
