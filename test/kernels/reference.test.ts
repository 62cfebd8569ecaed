// The conformance suite run on the reference backend itself (exercises the harness; must pass trivially with 0 error)
import { describeBackendConformance } from '../helpers/backend-conformance.js';
import { ReferenceBackend } from '../../src/kernels/reference/index.js';

describeBackendConformance('reference', async () => new ReferenceBackend(), { dtypes: ['f32', 'f16', 'bf16', 'q8_0', 'q4_k'], tol: 1e-7, small: true });
