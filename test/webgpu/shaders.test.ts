/**
 * The WGSL sources: the generated module is up to date, the preprocessor does what it says,
 * every kernel variant the backend can build compiles without errors or warnings on this
 * adapter, and the backend's browser-side modules pull in nothing from Node.
 */
import { execFileSync } from 'node:child_process';
import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';
import { isGemmaError } from '../../src/errors.js';
import { preprocess } from '../../src/kernels/webgpu/preprocess.js';
import { SHADERS } from '../../src/kernels/webgpu/shaders.generated.js';
import { describeKernelCompilation } from './compile-suite.js';

describe('WGSL sources', () => {
  it('shaders.generated.ts matches shaders/**/*.wgsl (node scripts/gen-shaders.mjs)', () => {
    execFileSync(process.execPath, ['scripts/gen-shaders.mjs', '--check'], { stdio: 'pipe' });
  });

  it('preprocessor: #if/#else/#endif, nesting, {{NAME}}, #include once', () => {
    const s = SHADERS as Record<string, string>;
    s['__t/inc'] = 'const C = {{N}}u;';
    s['__t/main'] = ['#include "__t/inc"', '#include "__t/inc"', '#if A', 'a', '#if !B', 'a-not-b', '#else', 'a-b', '#endif', '#else', 'not-a', '#endif', 'x{{N}}y'].join('\n');
    try {
      expect(preprocess('__t/main', { N: 3, A: true, B: false }).split('\n')).toEqual(['const C = 3u;', 'a', 'a-not-b', 'x3y']);
      expect(preprocess('__t/main', { N: 4, A: true, B: true }).split('\n')).toEqual(['const C = 4u;', 'a', 'a-b', 'x4y']);
      expect(preprocess('__t/main', { N: 5, A: false }).split('\n')).toEqual(['const C = 5u;', 'not-a', 'x5y']);
      expect(() => preprocess('__t/main', { A: true })).toThrow(/\{\{N\}\} is not defined/);
      s['__t/bad'] = '#if A\nx';
      expect(() => preprocess('__t/bad', {})).toThrow(/without #endif/);
      expect(() => preprocess('__t/nope', {})).toSatisfy((f) => { try { (f as () => void)(); return false; } catch (e) { return isGemmaError(e, 'INTERNAL'); } });
    } finally {
      for (const k of Object.keys(s)) if (k.startsWith('__t/')) delete s[k];
    }
  });

  it('the browser side of the backend imports nothing from Node (only node-gpu.ts does)', async () => {
    const r = await esbuild.build({
      entryPoints: ['src/kernels/webgpu/index.ts'], bundle: true, write: false, platform: 'browser', format: 'esm',
      metafile: true, logLevel: 'silent',
    });
    const inputs = Object.keys(r.metafile.inputs);
    expect(inputs.some((f) => f.includes('node-gpu'))).toBe(false);
    expect(inputs.some((f) => f.startsWith('node_modules/webgpu'))).toBe(false);
    const imports = Object.values(r.metafile.outputs).flatMap((o) => o.imports.map((i) => i.path));
    expect(imports.filter((p) => p.startsWith('node:') || p === 'webgpu')).toEqual([]);
  });
});

await describeKernelCompilation('swiftshader');
