// fused steps on SwiftShader (f32 path); see fused-suite.ts
import { describeFused } from './fused-suite.js';

await describeFused('swiftshader');
