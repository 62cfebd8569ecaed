/** The conformance suite in the driver's alternative configuration (configs.ts: subgroups off). */
import { describeGpuConformance } from './conformance-suite.js';

await describeGpuConformance('alt');
