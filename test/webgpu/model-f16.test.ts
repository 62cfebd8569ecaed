/** Whole models on WebGPU vs the reference, F32 weights, lavapipe (f16 path). Suite in model-suite.ts. */
import { describeModelParity } from './model-suite.js';

await describeModelParity('lavapipe', false);
