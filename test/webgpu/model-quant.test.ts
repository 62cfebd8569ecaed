/** Whole models on WebGPU vs the reference, re-quantized Q8_0 / Q4_0 / Q4_K+Q6_K weights (suite in model-suite.ts). */
import { describeModelParity } from './model-suite.js';

await describeModelParity(true);
