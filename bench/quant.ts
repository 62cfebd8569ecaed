/**
 * Throughput of the reference codecs (src/quant): dotRow and dequantizeRow in MB/s of
 * quantized weight bytes (and Melem/s), quantizeRow in Melem/s.
 *   npx tsx bench/quant.ts [type ...]
 * A matrix-vector product of the reference backend is one dotRow per output row, so dotRow
 * MB/s is the rate at which the oracle backend streams a weight matrix.
 */
import { getCodec } from '../src/quant/index.js';

const TYPES = process.argv.slice(2).length ? process.argv.slice(2)
  : ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'q4_k', 'q5_k', 'q6_k', 'q8_k'];
const ROW = 2048; // elements per row (a multiple of every block size)
const ROWS = 512; // 1 Mi weights

function normal(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return a;
}

/** best of `reps` timings of f(), in seconds */
function time(f: () => void, reps = 5): number {
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    f();
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return best;
}

const w = normal(ROW * ROWS, 1);
const x = normal(ROW, 2);
console.log(`row ${ROW}, ${ROWS} rows (${(ROW * ROWS) / 2 ** 20} Mi weights), node ${process.version}`);
console.log('type   bpw     dotRow MB/s  (Melem/s)   dequant MB/s  (Melem/s)   quantize Melem/s');
for (const t of TYPES) {
  const c = getCodec(t);
  const rowBytes = (ROW / c.blockSize) * c.blockBytes;
  const q = new Uint8Array(rowBytes * ROWS);
  const tq = time(() => { for (let r = 0; r < ROWS; r++) c.quantizeRow(w, r * ROW, ROW, q, r * rowBytes); }, 1);
  let sink = 0;
  c.dotRow(q, 0, x, 0, ROW); // warm up
  const td = time(() => { for (let r = 0; r < ROWS; r++) sink += c.dotRow(q, r * rowBytes, x, 0, ROW); });
  const y = new Float32Array(ROW);
  const tdq = time(() => { for (let r = 0; r < ROWS; r++) c.dequantizeRow(q, r * rowBytes, y, 0, ROW); });
  const mb = q.length / 1e6;
  const me = (ROW * ROWS) / 1e6;
  console.log(
    `${t.padEnd(6)} ${c.bitsPerWeight.toFixed(3).padStart(6)}  ${(mb / td).toFixed(0).padStart(8)}  (${(me / td).toFixed(0).padStart(6)})` +
    `   ${(mb / tdq).toFixed(0).padStart(8)}  (${(me / tdq).toFixed(0).padStart(6)})   ${(me / tq).toFixed(2).padStart(8)}` +
    (Number.isNaN(sink) ? ' NaN!' : ''),
  );
}
