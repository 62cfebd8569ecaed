/// <reference types="@webgpu/types" />
/** What every op needs: the device facts, the recorder and the kernel cache. */
import { GemmaError } from '../../../errors.js';
import type { GpuContext } from '../device.js';
import type { Pipelines } from '../pipelines.js';
import type { Binding, Recorder } from '../recorder.js';
import type { GpuTensor } from '../resources.js';

export interface OpContext {
  gpu: GpuContext;
  rec: Recorder;
  kernels: Pipelines;
}

/** invocations per workgroup of the 1-D kernels (SwiftShader allows at most 256) */
export const WG = 64;

/** n workgroups as a 2-D grid [x, y] with x, y <= 65535 (kernels use wg.x + wg.y * x) */
export function grid(n: number): [number, number] {
  if (n <= 65535) return [n, 1];
  const y = Math.ceil(n / 65535);
  if (y > 65535) throw new GemmaError('LIMIT', `${n} workgroups is more than one dispatch can hold`);
  return [Math.ceil(n / y), y];
}

/** the binding of an activation tensor: exactly its bytes (at least one word) */
export function bind(t: GpuTensor): Binding {
  return { buffer: t.buffer, offset: 0, size: Math.max(4, t.bytes) };
}
