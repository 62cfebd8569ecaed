/**
 * Codec registry: every tensor dtype the engine reads, plus user block formats registered by
 * the quantization lab. Look-ups are case-insensitive ('Q4_K' finds 'q4_k').
 */
import { GemmaError } from '../errors.js';
import type { DType } from '../tensor/dtype.js';
import type { BlockCodec } from './codec.js';
import { f32Codec } from './f32.js';
import { f16Codec } from './f16.js';
import { bf16Codec } from './bf16.js';
import { q8_0Codec } from './q8_0.js';
import { q4_0Codec } from './q4_0.js';
import { q4_1Codec } from './q4_1.js';
import { q5_0Codec } from './q5_0.js';
import { q5_1Codec } from './q5_1.js';
import { q4_KCodec } from './q4_k.js';
import { q5_KCodec } from './q5_k.js';
import { q6_KCodec } from './q6_k.js';
import { q8_KCodec } from './q8_k.js';

export type { BlockCodec } from './codec.js';

const BUILT_IN: readonly BlockCodec[] = [
  f32Codec, f16Codec, bf16Codec,
  q8_0Codec, q4_0Codec, q4_1Codec, q5_0Codec, q5_1Codec,
  q4_KCodec, q5_KCodec, q6_KCodec, q8_KCodec,
];

const registry = new Map<string, BlockCodec>(BUILT_IN.map((c) => [c.name, c]));

/** The codec for a dtype or registered block format; UNSUPPORTED_DTYPE if none. */
export function getCodec(name: DType | string): BlockCodec {
  const codec = registry.get(String(name).toLowerCase());
  if (!codec) {
    throw new GemmaError('UNSUPPORTED_DTYPE', `no codec for tensor type '${name}' (known: ${[...registry.keys()].join(', ')})`);
  }
  return codec;
}

/** Whether getCodec(name) would succeed. */
export function hasCodec(name: string): boolean {
  return registry.has(String(name).toLowerCase());
}

/**
 * Add a user block format. Its name must be new (built-ins cannot be replaced: DUPLICATE),
 * lower case letters, digits, '_' or '-', and its sizes consistent (BAD_ARGUMENT).
 */
export function registerCodec(codec: BlockCodec): void {
  const name = codec?.name;
  if (typeof name !== 'string' || !/^[a-z0-9_-]{1,64}$/.test(name)) {
    throw new GemmaError('BAD_ARGUMENT', `codec name ${JSON.stringify(name)} must be 1-64 chars of a-z, 0-9, '_' or '-'`);
  }
  if (registry.has(name)) throw new GemmaError('DUPLICATE', `a codec named '${name}' is already registered`);
  const { blockSize, blockBytes, bitsPerWeight } = codec;
  if (!Number.isSafeInteger(blockSize) || blockSize < 1 || !Number.isSafeInteger(blockBytes) || blockBytes < 1) {
    throw new GemmaError('BAD_ARGUMENT', `codec '${name}': blockSize and blockBytes must be positive integers`);
  }
  if (Math.abs(bitsPerWeight - (blockBytes * 8) / blockSize) > 1e-9) {
    throw new GemmaError('BAD_ARGUMENT', `codec '${name}': bitsPerWeight ${bitsPerWeight} != blockBytes*8/blockSize = ${(blockBytes * 8) / blockSize}`);
  }
  for (const fn of ['dequantizeRow', 'quantizeRow', 'dotRow'] as const) {
    if (typeof codec[fn] !== 'function') throw new GemmaError('BAD_ARGUMENT', `codec '${name}': ${fn} is not a function`);
  }
  registry.set(name, codec);
}

/** All registered codecs, built-ins first. */
export function listCodecs(): BlockCodec[] {
  return [...registry.values()];
}

export { checkBlocks } from './codec.js';
