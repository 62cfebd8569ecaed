import { describe } from 'vitest';
import { parityTests } from './parity.js';

describe('Gemma 2 vocabulary (256k) vs @huggingface/tokenizers', () => parityTests('gemma2', 2));
