// an f32 KV cache on the shader-f16 path (lavapipe); see kv-cache-suite.ts
import { describeKvCache } from './kv-cache-suite.js';

await describeKvCache('lavapipe');
