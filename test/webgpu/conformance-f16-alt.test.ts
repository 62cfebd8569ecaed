/** Conformance on lavapipe, f16 path with workgroup-memory reductions (subgroups off), the core formats. */
import { describeGpuConformance } from './conformance-suite.js';

await describeGpuConformance('lavapipe', 'alt');
