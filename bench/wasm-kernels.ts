/**
 * Throughput of the wasm backend's matmul kernels on one weight matrix:
 *   npx tsx bench/wasm-kernels.ts [--threads N] [--rows 1,128] [--m 16384] [--k 2048] [--build auto|simd|relaxed|dotadd] [types...]
 * Prints weight GB/s (decode: rows = 1) and activation-row x weight-row products per second
 * (GMAC/s, prefill). Both wall-clock and per CPU-second figures: on a shared machine the
 * CPU-time figure shows the kernel's own speed when the process does not get whole cores.
 */
import { createWasmBackend } from '../src/kernels/wasm/backend.js';
import { buildLabel } from '../src/kernels/wasm/loader.js';
import { benchWeight } from './bench-weight.js';
import { wasmBuildOptions } from './builds.js';
import type { DType } from '../src/tensor/dtype.js';
import { randn } from '../test/helpers/backend-conformance.js';

const args = process.argv.slice(2);
const opt = (k: string, d: string) => { const i = args.indexOf(`--${k}`); if (i < 0) return d; const v = args[i + 1]!; args.splice(i, 2); return v; };
const threads = Number(opt('threads', '1'));
const rowsList = opt('rows', '1,128').split(',').map(Number);
const M = Number(opt('m', '16384'));
const K = Number(opt('k', '2048'));

const build = opt('build', 'auto');
const types = (args.length ? args : ['q8_0', 'q4_0', 'f16', 'q4_k', 'q6_k']) as DType[];
const be = await createWasmBackend({ ...wasmBuildOptions(build), threads });
console.log(`wasm ${buildLabel(be.info)}, ${be.info.threads} thread(s), matrix [${M} x ${K}]`);
for (const dtype of types) {
  const { spec, rowBytes: rb } = benchWeight(dtype, M, K);
  const w = be.uploadWeight(spec);
  for (const rows of rowsList) {
    const x = be.tensor(rows, K), out = be.tensor(rows, M);
    be.upload(x, randn(rows * K, 2));
    const reps = rows === 1 ? 20 : 3;
    let wall = Infinity, cpu = Infinity;
    for (let r = 0; r < reps; r++) {
      const u0 = process.cpuUsage(), t0 = performance.now();
      be.matmul(out, x, w);
      await be.download(out);
      const t = (performance.now() - t0) / 1000, u = process.cpuUsage(u0);
      wall = Math.min(wall, t);
      cpu = Math.min(cpu, (u.user + u.system) / 1e6);
    }
    const bytes = M * rb, macs = rows * M * K;
    console.log(`${dtype.padEnd(5)} rows ${String(rows).padStart(4)}: ${(bytes / wall / 1e9).toFixed(1).padStart(6)} GB/s  ${(macs / wall / 1e9).toFixed(1).padStart(6)} GMAC/s   per CPU-s: ${(bytes / cpu / 1e9).toFixed(1).padStart(6)} GB  ${(macs / cpu / 1e9).toFixed(1).padStart(6)} GMAC`);
    be.freeTensor(x); be.freeTensor(out);
  }
  be.freeWeight(w);
}
be.dispose();
