// The shared backend conformance suite (every op vs the reference backend on random shapes,
// odd sizes included) on the wasm backend: one thread, and two threads.
//
// Quantized matmul tolerance: the wasm backend quantizes activations to int8 like
// llama.cpp (per 32 values for Q8_0/Q4_x/Q5_x, per 256 for K-quants), so it differs from
// the exact-activation reference by the activation rounding: |x - d q| <= amax/254 per
// element, uniform, so for a dot with N(0,1) activations (amax ~ 2.5 per 32, ~3 per 256)
// the error is ~0.005-0.007 of the output's standard deviation; the harness divides the
// largest error by the largest |output| (~3 std), giving ~0.002-0.006 measured (smoke run:
// 5.5e-3..6.4e-3 at k=320). 1.5e-2 leaves room for the largest shapes; a wrong level, scale
// or block offset gives errors of order 1 (see kernels.test.ts for the exact check).
import { describeBackendConformance } from '../helpers/backend-conformance.js';
import type { DType } from '../../src/tensor/dtype.js';
import { wasmBackend } from './helpers.js';

const QUANT: DType[] = ['q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'q4_k', 'q5_k', 'q6_k'];
const matmulTol = Object.fromEntries(QUANT.map((d) => [d, 1.5e-2])) as Partial<Record<DType, number>>;
const dtypes: DType[] = ['f32', 'f16', 'bf16', ...QUANT];

describeBackendConformance('wasm (1 thread)', () => wasmBackend({ threads: 1 }), { dtypes, tol: 1e-5, matmulTol });
describeBackendConformance('wasm (2 threads)', () => wasmBackend({ threads: 2 }), { dtypes: ['f16', 'q8_0', 'q4_k'], tol: 1e-5, matmulTol });
