/**
 * What one matmul round costs beyond its bytes: distinct [m x k] Q8_0 matrices, one round each
 * (decode: one activation row), against one big matrix of about the same bytes, alternated.
 *
 *   npx tsx bench/round-cost.ts [--threads 2] [--k 1152] [--sizes 256,1024,6912] [--mb 200] [--rounds 5]
 *
 * Prints each shape's GB/s, the big matrix's, and the extra microseconds per round (the host's
 * descriptor and pool wake-up, the start of each new weight stream, the last chunk's wait).
 */
import { createWasmBackend } from '../src/kernels/wasm/backend.js';
import { benchWeight, distinctCopy } from './bench-weight.js';

const args = process.argv.slice(2);
const opt = (k: string, d: string) => { const i = args.indexOf(`--${k}`); return i < 0 ? d : args[i + 1]!; };
const threads = Number(opt('threads', '2')), k = Number(opt('k', '1152')), rounds = Number(opt('rounds', '5'));
const sizes = opt('sizes', '256,1024,6912').split(',').map(Number);
const be = await createWasmBackend({ threads });
const rb = (k / 32) * 34;
/** a Q8_0 matrix with its own bytes */
const matrix = (rows: number, i: number) => {
  const s = benchWeight('q8_0', rows, k).spec;
  return be.uploadWeight({ ...s, data: distinctCopy(s.data, i) });
};
const x = be.tensor(1, k);
be.upload(x, Float32Array.from({ length: k }, (_, i) => Math.sin(i * 12.9898)));
const bigRows = Math.floor((Number(opt('mb', '200')) * 1e6) / rb / 32) * 32;
const big = matrix(bigRows, 7), outBig = be.tensor(1, bigRows);
console.log(`${threads} thread(s), Q8_0, k = ${k}; one big matrix: [${bigRows} x ${k}]`);
for (const m of sizes) {
  const n = Math.floor(bigRows / m);
  const ws = Array.from({ length: n }, (_, i) => matrix(m, i));
  const out = be.tensor(1, m);
  let small = Infinity, one = Infinity;
  for (let r = 0; r < rounds; r++) {
    let t0 = performance.now();
    for (const w of ws) { be.matmul(out, x, w); await be.download(out); }
    small = Math.min(small, performance.now() - t0);
    t0 = performance.now();
    be.matmul(outBig, x, big);
    await be.download(outBig);
    one = Math.min(one, performance.now() - t0);
  }
  const bytesS = n * m * rb, bytesB = bigRows * rb;
  const extra = ((small - (one * bytesS) / bytesB) / n) * 1000;
  console.log(`[${m} x ${k}] x ${n}: ${(bytesS / small / 1e6).toFixed(1)} GB/s, the big one ${(bytesB / one / 1e6).toFixed(1)} GB/s: ${extra.toFixed(1)} µs more per round (a round ${((small / n) * 1000).toFixed(1)} µs)`);
  for (const w of ws) be.freeWeight(w);
  be.freeTensor(out);
}
be.dispose();
process.exit(0);
