/** Whole models on WebGPU vs the reference, weights re-quantized to mixes of block formats (suite in model-suite.ts). */
import { describeModelParity } from './model-suite.js';

await describeModelParity(true);
