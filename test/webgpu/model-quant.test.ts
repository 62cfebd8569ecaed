/** Whole models on WebGPU vs the reference, weights re-quantized to mixes of block formats, SwiftShader (f32 path). */
import { describeModelParity } from './model-suite.js';

await describeModelParity('swiftshader', true);
