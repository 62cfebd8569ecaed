// Declarations of the module scripts/build-wasm.mjs generates next to this file
// (kernels.ts, gitignored), so the project type-checks before the first build.
/** SIMD128 build of the kernels */
export declare const SIMD_WASM_BASE64: string;
/** SIMD128 + relaxed-SIMD build */
export declare const RELAXED_WASM_BASE64: string;
/** relaxed SIMD with dot-add integer dots */
export declare const DOTADD_WASM_BASE64: string;
