/**
 * WebGPU enum values (GPUBufferUsage, GPUMapMode, GPUShaderStage) as plain numbers, so the
 * backend does not depend on those globals existing (Node's `webgpu` package only installs
 * them when asked to). Values from the WebGPU specification.
 */
export const BufferUsage = {
  MAP_READ: 0x0001,
  MAP_WRITE: 0x0002,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
  QUERY_RESOLVE: 0x0200,
} as const;

export const MapMode = { READ: 0x0001 } as const;

export const ShaderStage = { COMPUTE: 0x4 } as const;
