// npm run build: WASM kernels (AssemblyScript), the esbuild bundles (Node CLI, Node/Deno library, browser), type declarations.
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import * as esbuild from 'esbuild';

if (existsSync('scripts/build-wasm.mjs')) execFileSync(process.execPath, ['scripts/build-wasm.mjs'], { stdio: 'inherit' });

const common = { bundle: true, format: 'esm', sourcemap: true, logLevel: 'warning', target: 'es2022' };
const nodeExternal = ['node-llama-cpp', 'webgpu', 'playwright-core', 'tsx', '@huggingface/tokenizers', 'esbuild'];
await esbuild.build({ ...common, platform: 'node', entryPoints: { cli: 'src/cli/main.ts' }, outdir: 'dist', external: nodeExternal, banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" } });
if (existsSync('src/index.ts')) await esbuild.build({ ...common, platform: 'node', entryPoints: { index: 'src/index.ts' }, outdir: 'dist', external: nodeExternal });
if (existsSync('src/browser.ts')) await esbuild.build({ ...common, platform: 'browser', entryPoints: { browser: 'src/browser.ts' }, outdir: 'dist', external: ['node:*'] });
// type declarations for the package's `types` / `exports` entries
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.types.json'], { stdio: 'inherit' });
console.error('build: ok');
