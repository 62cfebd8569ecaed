/** What check.ts, run.ts and node-run.ts share: log-softmax rows, their largest difference, flags. */
import { logSoftmax } from '../../src/kernels/reference/ops.js';

/** log-softmax of each `vocab`-long row (the reference backend's, in f64) */
export function logSoftmaxRows(x: Float32Array, vocab: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / vocab; r++) logSoftmax(x, r * vocab, vocab, out, r * vocab);
  return out;
}

export function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** --name value from the command line, or def */
export function flag(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}
