/** Quantized tiny-gemma-2 GGUFs (every supported type) vs llama.cpp: see parity-helpers.ts for the bar. */
import { afterAll, describe, expect, it } from 'vitest';
import { describeQuantParity } from './parity-helpers.js';

describe('quantized tiny-gemma-2 vs llama.cpp', () => {
  describeQuantParity('tiny-gemma-2', it, expect, afterAll);
});
