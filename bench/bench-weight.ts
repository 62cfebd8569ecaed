/** A weight matrix for kernel timing (bench/wasm-kernels.ts, bench/ab-kernels.ts). */
import { getCodec } from '../src/quant/index.js';
import type { DType } from '../src/tensor/dtype.js';
import { randn } from '../test/helpers/backend-conformance.js';

/**
 * An [M x K] weight of `dtype` for timing: random bytes would do for speed, but f16/bf16 must
 * stay finite, so one random row (normal, standard deviation `std`) is quantized and repeated.
 * Returns the upload spec and the bytes of one row.
 */
export function benchWeight(dtype: DType, M: number, K: number, std = 1): { spec: { name: string; dtype: DType; shape: number[]; data: Uint8Array }; rowBytes: number } {
  const c = getCodec(dtype);
  const rowBytes = (K / c.blockSize) * c.blockBytes;
  const row = new Uint8Array(rowBytes);
  c.quantizeRow(randn(K, 1, std), 0, K, row, 0);
  const data = new Uint8Array(M * rowBytes);
  for (let r = 0; r < M; r++) data.set(row, r * rowBytes);
  return { spec: { name: 'w', dtype, shape: [M, K], data }, rowBytes };
}

/**
 * Copy i of `data` with bytes of its own: in every 4 KiB page two bytes are xored with i, so no
 * two copies (up to 65536) share a page's contents (the host could merge identical pages, and a
 * pass over n copies must stream n matrices' bytes). The values change; speed does not depend on them.
 */
export function distinctCopy(data: Uint8Array, i: number): Uint8Array {
  const d = data.slice();
  for (let j = 0; j + 1 < d.length; j += 4096) { d[j]! ^= i & 0xff; d[j + 1]! ^= (i >> 8) & 0xff; }
  return d;
}
