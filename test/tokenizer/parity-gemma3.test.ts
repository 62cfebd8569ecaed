import { describe } from 'vitest';
import { parityTests } from './parity.js';

describe('Gemma 3 vocabulary (262k) vs @huggingface/tokenizers', () => parityTests('gemma3', 3));
