/**
 * Loading the kernels: pick the relaxed-SIMD build when the engine can run it (checked with
 * WebAssembly.validate; Node 20 needs --experimental-wasm-relaxed-simd, which we try to set
 * with v8.setFlagsFromString before compiling) and when it passes a known-answer self-test;
 * otherwise the SIMD128 build. Both come from scripts/build-wasm.mjs as base64 modules.
 */
import { GemmaError } from '../../errors.js';

export interface KernelBuild {
  module: WebAssembly.Module;
  relaxed: boolean;
  /** why the relaxed build is not used (empty when it is) */
  note: string;
}

export type RelaxedChoice = 'auto' | boolean;

function fromBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** the generated module (a dynamic import, so that tests can build it first) */
async function generated(): Promise<{ SIMD_WASM_BASE64: string; RELAXED_WASM_BASE64: string }> {
  try {
    return await import('./generated/kernels.js');
  } catch (e) {
    throw new GemmaError('BACKEND', 'the wasm kernels are not built: run `npm run build` (or node scripts/build-wasm.mjs)', { cause: e });
  }
}

function readLeb(b: Uint8Array, p: number): [number, number] {
  let v = 0, shift = 0, x: number;
  do { x = b[p++]!; v += (x & 0x7f) * 2 ** shift; shift += 7; } while (x & 0x80);
  return [v, p];
}

/**
 * The kernels import a shared memory. Where SharedArrayBuffer is unavailable (a page that
 * is not cross-origin isolated) we run single-threaded on an ordinary memory: flip the
 * shared bit of the memory import's limits (0x03 -> 0x01). The kernels use no atomics.
 */
export function unsharedCopy(bytes: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const b = bytes.slice();
  let p = 8;
  while (p < b.length) {
    const id = b[p]!;
    const [size, body] = readLeb(b, p + 1);
    if (id === 2) { // import section
      let q = body;
      let n: number;
      [n, q] = readLeb(b, q);
      for (let i = 0; i < n; i++) {
        let len: number;
        [len, q] = readLeb(b, q); q += len; // module name
        [len, q] = readLeb(b, q); q += len; // field name
        const kind = b[q++]!;
        if (kind === 0x02) { // memory: limits flag, min, max
          if (b[q] === 0x03) { b[q] = 0x01; return b; }
          return b;
        }
        if (kind === 0x00) [, q] = readLeb(b, q);                  // func: type index
        else if (kind === 0x01) { q++; const f = b[q++]!; [, q] = readLeb(b, q); if (f & 1) [, q] = readLeb(b, q); } // table
        else if (kind === 0x03) q += 2;                             // global: type, mutability
        else break;
      }
      break;
    }
    p = body + size;
  }
  throw new GemmaError('INTERNAL', 'wasm kernels: memory import not found');
}

async function enableRelaxedFlag(): Promise<void> {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  if (!proc?.versions?.node) return;
  try {
    const v8 = await import('node:v8');
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch { /* not Node, or flags locked: validate() decides */ }
}

/**
 * Known-answer test of the relaxed build's integer dots (selfTestDot and selfTestDotQ8 use
 * the kernels' own primitives) against plain JS sums. Run twice around a pause so that V8
 * tiers the code up in between (Node 20's baseline compiler has had wrong relaxed dot results).
 */
export async function relaxedSelfTest(module: WebAssembly.Module, shared: boolean): Promise<boolean> {
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 65536, shared } as WebAssembly.MemoryDescriptor);
  const inst = await WebAssembly.instantiate(module, { env: { memory } });
  const f = inst.exports.selfTestDot as (a: number, x8: number, x16: number, n16: number) => number;
  const q8 = inst.exports.selfTestDotQ8 as ((w: number, xp: number, xn: number, n32: number) => number) | undefined;
  if (typeof f !== 'function' || typeof q8 !== 'function') return false;
  const n = 40 * 16;
  const A = 1024, X8 = A + n, X16 = X8 + n;
  // Q8_0: weights over the full int8 range (-128 included), activations -127..127 as parts
  const QW = X16 + 2 * n, QP = QW + n, QN = QP + n;
  const u8 = new Uint8Array(memory.buffer), i8 = new Int8Array(memory.buffer), i16 = new Int16Array(memory.buffer);
  let s = 12345;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8);
  for (let i = 0; i < n; i++) {
    u8[A + i] = rnd() % 64;                       // levels 0..63, the range the kernels use
    const x = (rnd() % 255) - 127;                // activations -127..127
    i8[X8 + i] = x;
    i16[X16 / 2 + i] = x;
    // two blocks of extremes first (every product +128*127 or +127*127: the largest pair
    // sums, which any wider sum in int16 would overflow), then random
    const w = i < 32 ? -128 : i < 64 ? 127 : (rnd() % 256) - 128;
    const xq = i < 32 ? -127 : i < 64 ? 127 : x;
    i8[QW + i] = w;
    u8[QP + i] = Math.max(xq, 0);
    u8[QN + i] = Math.max(-xq, 0);
  }
  const expect = (n16: number) => { let t = 0; for (let i = 0; i < n16 * 16; i++) t += u8[A + i]! * i8[X8 + i]!; return t; };
  const expectQ8 = (n32: number) => { let t = 0; for (let i = 0; i < n32 * 32; i++) t += i8[QW + i]! * (u8[QP + i]! - u8[QN + i]!); return t; };
  const lens = [1, 2, 3, 7, 40];
  const want = lens.map(expect);
  const lensQ8 = [1, 2, 3, 20];
  const wantQ8 = lensQ8.map(expectQ8);
  const round = (reps: number) => {
    for (let r = 0; r < reps; r++) {
      for (let i = 0; i < lens.length; i++) if (f(A, X8, X16, lens[i]!) !== want[i]) return false;
      for (let i = 0; i < lensQ8.length; i++) if (q8(QW, QP, QN, lensQ8[i]!) !== wantQ8[i]) return false;
    }
    return true;
  };
  if (!round(4000)) return false;
  await new Promise((r) => setTimeout(r, 20));
  return round(4000);
}

const cache = new Map<string, Promise<KernelBuild>>();

/** the kernel build for these options (compiled and self-tested once per process) */
export function loadKernels(relaxed: RelaxedChoice, shared: boolean): Promise<KernelBuild> {
  const key = `${relaxed}/${shared}`;
  let p = cache.get(key);
  if (!p) {
    p = compileKernels(relaxed, shared);
    p.catch(() => cache.delete(key));
    cache.set(key, p);
  }
  return p;
}

async function compileKernels(relaxed: RelaxedChoice, shared: boolean): Promise<KernelBuild> {
  const g = await generated();
  const prep = (b64: string) => (shared ? fromBase64(b64) : unsharedCopy(fromBase64(b64)));
  const simd = prep(g.SIMD_WASM_BASE64);
  if (!WebAssembly.validate(simd)) throw new GemmaError('BACKEND', 'this JavaScript engine does not support WebAssembly SIMD128');
  let note = relaxed === false ? 'relaxed SIMD disabled by option' : '';
  if (relaxed !== false) {
    const rel = prep(g.RELAXED_WASM_BASE64);
    if (!WebAssembly.validate(rel)) await enableRelaxedFlag();
    if (!WebAssembly.validate(rel)) {
      note = 'relaxed SIMD not supported by this engine';
    } else {
      const module = await WebAssembly.compile(rel);
      if (await relaxedSelfTest(module, shared)) return { module, relaxed: true, note: '' };
      note = 'relaxed SIMD failed its start-up self-test';
    }
    if (relaxed === true) throw new GemmaError('BACKEND', `relaxed SIMD requested but unavailable: ${note}`);
  }
  return { module: await WebAssembly.compile(simd), relaxed: false, note };
}
