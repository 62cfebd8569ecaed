/**
 * Every op of the WebGPU backend against the reference backend on random shapes (the shared
 * conformance harness), in the driver's main configuration (configs.ts); the alternative
 * configuration (workgroup-memory reductions) runs in conformance-alt.test.ts.
 */
import { describeGpuConformance } from './conformance-suite.js';

await describeGpuConformance('main');
