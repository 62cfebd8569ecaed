// fused steps on lavapipe (f16 path); see fused-suite.ts
import { describeFused } from './fused-suite.js';

await describeFused('lavapipe');
