/** Whole models on WebGPU vs the reference, F32 weights (suite in model-suite.ts). */
import { describeModelParity } from './model-suite.js';

await describeModelParity(false);
