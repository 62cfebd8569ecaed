// a packed f16 KV cache on the f32 path (SwiftShader); see kv-cache-suite.ts
import { describeKvCache } from './kv-cache-suite.js';

await describeKvCache('swiftshader');
