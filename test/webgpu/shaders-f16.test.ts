/** Every kernel variant compiles on lavapipe (f16 path, with and without subgroups). */
import { describeKernelCompilation } from './compile-suite.js';

await describeKernelCompilation('lavapipe');
