/** Whole models on WebGPU vs the reference, re-quantized weights, lavapipe (f16 path). */
import { describeModelParity } from './model-suite.js';

await describeModelParity('lavapipe', true);
