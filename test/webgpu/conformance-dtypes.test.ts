/** Conformance on SwiftShader, f32 path, the other GGUF block types: Q4_1, Q5_0, Q5_1, Q5_K, Q8_K. */
import { describeGpuConformance } from './conformance-suite.js';
import { MORE_DTYPES } from './configs.js';

await describeGpuConformance('swiftshader', 'main', MORE_DTYPES);
