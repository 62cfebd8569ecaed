/**
 * Every op of the WebGPU backend against the reference backend on random shapes (the shared
 * conformance harness): SwiftShader, f32 path with subgroup reductions, the core formats.
 */
import { describeGpuConformance } from './conformance-suite.js';

await describeGpuConformance('swiftshader', 'main');
