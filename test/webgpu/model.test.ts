/** Whole models on WebGPU vs the reference, F32 weights, SwiftShader (f32 path). Suite in model-suite.ts. */
import { describeModelParity } from './model-suite.js';

await describeModelParity('swiftshader', false);
