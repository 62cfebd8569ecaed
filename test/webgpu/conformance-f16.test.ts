/** Conformance on lavapipe, f16 path (shader-f16) with subgroup reductions, every block type. */
import { describeGpuConformance } from './conformance-suite.js';
import { CORE_DTYPES, MORE_DTYPES } from './configs.js';

await describeGpuConformance('lavapipe', 'main', [...CORE_DTYPES, ...MORE_DTYPES]);
