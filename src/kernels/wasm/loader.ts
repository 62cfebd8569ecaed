/**
 * Loading the kernels: pick the relaxed-SIMD build when the engine can run it (checked with
 * WebAssembly.validate; Node 20 needs --experimental-wasm-relaxed-simd, which we try to set
 * with v8.setFlagsFromString before compiling) and when it passes a known-answer self-test;
 * otherwise the SIMD128 build. Where the relaxed build runs, its dot-add variant (integer dots
 * through i32x4.relaxed_dot_i8x16_i7x16_add_s) replaces it when that passes the same self-test
 * and a start-up speed probe finds it faster: V8 13.6+ (Node 24; seen, while 12.4 does not) with
 * AVX-VNNI make the instruction one multiply-accumulate, other engines three instructions
 * (slower than the plain build). The dot-add build also stores Q8_0 levels as u8, outside the
 * instruction's i7 range (assembly/common.ts dotU8): its self-test checks that the engine reads
 * them unsigned without saturating (vpdpbusd does; V8 12.4's pmaddubsw lowering saturates and
 * fails it). All three come from scripts/build-wasm.mjs as base64 modules.
 */
import { GemmaError } from '../../errors.js';

export interface KernelBuild {
  module: WebAssembly.Module;
  relaxed: boolean;
  /** the dot-add variant of the relaxed build */
  dotAdd: boolean;
  /** why the relaxed build is not used (empty when it is) */
  note: string;
  /** the start-up probe's speed of the dot-add build over the plain relaxed one (undefined: not probed) */
  dotAddSpeedup?: number;
}

export type RelaxedChoice = 'auto' | boolean;
/** the dot-add variant: 'auto' (default) keeps it when it self-tests and probes faster */
export type DotAddChoice = 'auto' | boolean;

/** the dot-add build is kept when the probe finds it at least this much faster */
export const DOT_ADD_MIN_SPEEDUP = 1.05;

/** which kernel build a backend runs, for people (bench output): from WasmBackendInfo's fields */
export function buildLabel(i: { relaxed: boolean; dotAdd?: boolean; dotAddSpeedup?: number }): string {
  if (!i.relaxed) return 'SIMD128';
  const x = i.dotAddSpeedup === undefined ? '' : `${i.dotAddSpeedup.toFixed(2)}x in its start-up probe`;
  if (i.dotAdd) return `relaxed SIMD, dot-add build${x ? ` (${x})` : ''}`;
  return `relaxed SIMD${x ? ` (dot-add build ${x}: not used)` : ''}`;
}

/** seeded 24-bit pseudo-random integers (an LCG) for the start-up tests' inputs */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8);
}

/** base64 -> bytes (atob: in browsers, Deno and Node alike) */
export function fromBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** the generated module (a dynamic import, so that tests can build it first) */
async function generated(): Promise<{ SIMD_WASM_BASE64: string; RELAXED_WASM_BASE64: string; DOTADD_WASM_BASE64: string }> {
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
  const rnd = lcg(12345);
  for (let i = 0; i < n; i++) {
    u8[A + i] = rnd() % 64;                       // levels 0..63, the range the kernels use
    const x = (rnd() % 255) - 127;                // activations -127..127
    i8[X8 + i] = x;
    i16[X16 / 2 + i] = x;
    // two blocks of extremes first (every product +128*127 or +127*127: the largest pair
    // sums, which any wider sum in int16 would overflow; in the dot-add build's offset levels,
    // 0 * -127 and 255 * 127: a pair of 64770, which an engine that saturates in int16 or
    // reads the levels signed gets wrong), then random
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

/**
 * Start-up speed probe: seconds per call of the Q8_0 decode kernel (mmQ8_0, one activation
 * row against a 64 x 2048 matrix of random blocks, L2-resident) in each build, alternated, best
 * of `rounds` samples of `calls` calls. Throws if the builds' outputs differ (they add the same
 * integers, so they must agree bit for bit; the probe runs tiered-up code, which the self-test
 * may not have reached). Browsers clamp performance.now() to 5-100 us: a sample is ~1 ms.
 */
export async function probeDotSpeed(modules: WebAssembly.Module[], shared: boolean, rounds = 5, calls = 200): Promise<number[]> {
  const m = 64, k = 2048, nb = k / 32;
  const W = 65536, WB = (m / 4) * nb * 136; // x4 units: [d x4 f16][4 rows x 32 int8]
  const X = W + WB, XQ = X + 4 * k, OUT = XQ + 8 * k;
  type Mm = (w: number, xq: number, xs: number, out: number, m: number, k: number, T: number, g0: number, g1: number, scratch: number) => void;
  const runs = await Promise.all(modules.map(async (module) => {
    const memory = new WebAssembly.Memory({ initial: 8, maximum: 65536, shared } as WebAssembly.MemoryDescriptor);
    const e = (await WebAssembly.instantiate(module, { env: { memory } })).exports as Record<string, unknown>;
    const mm = e.mmQ8_0 as Mm, quant = e.quantQ8A as (x: number, k: number, dst: number, stride: number, r0: number, r1: number) => void;
    const rowBytes = e.q8aRowBytes as (k: number) => number;
    if (typeof mm !== 'function' || typeof quant !== 'function' || typeof rowBytes !== 'function') throw new GemmaError('INTERNAL', 'wasm kernels: mmQ8_0 / quantQ8A missing');
    const u8 = new Uint8Array(memory.buffer), u16 = new Uint16Array(memory.buffer), f32 = new Float32Array(memory.buffer);
    const rnd = lcg(777);
    for (let i = 0; i < WB; i++) u8[W + i] = rnd() & 0xff;
    for (let u = 0; u < WB / 136; u++) for (let r = 0; r < 4; r++) u16[(W + 136 * u) / 2 + r] = 0x2c00 + (rnd() & 0x3ff); // scales 1/16..1/8
    // the levels as this build stores them (the dot-add build: + 128; a no-op in the others)
    const offset = e.offsetQ8_0 as ((dst: number, groups: number, groupStride: number, units: number) => void) | undefined;
    if (typeof offset === 'function') offset(W, m / 4, nb * 136, nb);
    for (let i = 0; i < k; i++) f32[X / 4 + i] = (rnd() % 2001 - 1000) / 250;
    const xs = rowBytes(k);
    quant(X, k, XQ, xs, 0, 1);
    return { call: () => mm(W, XQ, xs, OUT, m, k, 1, 0, m / 4, 0), out: () => f32.slice(OUT / 4, OUT / 4 + m) };
  }));
  // warm up (the first calls run baseline code), giving the engine time to tier up
  for (let w = 0; w < 2; w++) {
    for (const r of runs) for (let i = 0; i < calls; i++) r.call();
    await new Promise((res) => setTimeout(res, 20));
  }
  const best = runs.map(() => Infinity);
  for (let j = 0; j < rounds; j++) {
    runs.forEach((r, i) => {
      const t0 = performance.now();
      for (let c = 0; c < calls; c++) r.call();
      best[i] = Math.min(best[i]!, (performance.now() - t0) / calls);
    });
  }
  const outs = runs.map((r) => r.out());
  for (let i = 1; i < outs.length; i++) {
    if (outs[i]!.some((v, j) => !Object.is(v, outs[0]![j]))) throw new GemmaError('BACKEND', `wasm kernels: build ${i} computes a different Q8_0 product than build 0 in the speed probe`);
  }
  return best.map((ms) => ms / 1000);
}

const cache = new Map<string, Promise<KernelBuild>>();

/** the kernel build for these options (compiled and self-tested once per process) */
export function loadKernels(relaxed: RelaxedChoice, shared: boolean, dotAdd: DotAddChoice = 'auto'): Promise<KernelBuild> {
  const key = `${relaxed}/${shared}/${dotAdd}`;
  let p = cache.get(key);
  if (!p) {
    p = compileKernels(relaxed, shared, dotAdd);
    p.catch(() => cache.delete(key));
    cache.set(key, p);
  }
  return p;
}

async function compileKernels(relaxed: RelaxedChoice, shared: boolean, dotAdd: DotAddChoice): Promise<KernelBuild> {
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
      if (await relaxedSelfTest(module, shared)) return chooseDotAdd(module, prep(g.DOTADD_WASM_BASE64), shared, dotAdd);
      note = 'relaxed SIMD failed its start-up self-test';
    }
    if (relaxed === true) throw new GemmaError('BACKEND', `relaxed SIMD requested but unavailable: ${note}`);
  }
  if (dotAdd === true) throw new GemmaError('BACKEND', `the dot-add build needs relaxed SIMD: ${note}`);
  return { module: await WebAssembly.compile(simd), relaxed: false, dotAdd: false, note };
}

/** the relaxed build or its dot-add variant (see the file's comment) */
async function chooseDotAdd(relaxed: WebAssembly.Module, bytes: Uint8Array<ArrayBuffer>, shared: boolean, choice: DotAddChoice): Promise<KernelBuild> {
  const plain: KernelBuild = { module: relaxed, relaxed: true, dotAdd: false, note: '' };
  if (choice === false) return plain;
  const fail = (why: string): KernelBuild => {
    if (choice === true) throw new GemmaError('BACKEND', `the dot-add build was requested but ${why}`);
    return plain;
  };
  const module = await WebAssembly.compile(bytes);
  if (!(await relaxedSelfTest(module, shared))) return fail('it failed its start-up self-test on this engine');
  let t: number[];
  try {
    t = await probeDotSpeed([relaxed, module], shared);
  } catch (e) {
    return fail((e as Error).message);
  }
  const dotAddSpeedup = t[0]! / t[1]!;
  if (choice === true || dotAddSpeedup >= DOT_ADD_MIN_SPEEDUP) return { module, relaxed: true, dotAdd: true, note: '', dotAddSpeedup };
  return { ...plain, dotAddSpeedup };
}
