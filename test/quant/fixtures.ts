/**
 * Loader for fixtures/ggml-ref.json: outputs of llama.cpp's compiled ggml (libggml-base.so
 * bundled with node-llama-cpp), produced by fixtures/gen_ggml_fixtures.py.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface RawFixture {
  reference: string;
  nPerRow: number;
  rows: number;
  input: string;
  imatrix: string;
  quant: Record<string, { ref: string; imatrix?: string }>;
  dequant: Record<string, { blocks: string; out: string }>;
  floats: { input: string; f16: string; bf16: string; subnormalInput: string; subnormalBf16: string };
}

export interface GgmlFixture {
  reference: string;
  nPerRow: number;
  rows: number;
  input: Float32Array;
  imatrix: Float32Array;
  quant: Record<string, { ref: Uint8Array; imatrix?: Uint8Array }>;
  dequant: Record<string, { blocks: Uint8Array; out: Float32Array }>;
  floats: { input: Float32Array; f16: Uint16Array; bf16: Uint16Array; subnormalInput: Float32Array; subnormalBf16: Uint16Array };
}

function bytes(b64: string): Uint8Array {
  const buf = Buffer.from(b64, 'base64');
  // copy into a fresh, aligned ArrayBuffer so typed views of any width work
  const out = new Uint8Array(buf.length);
  out.set(buf);
  return out;
}
const f32 = (b64: string) => new Float32Array(bytes(b64).buffer);
const u16 = (b64: string) => new Uint16Array(bytes(b64).buffer);

let cached: GgmlFixture | undefined;

export function loadGgmlFixture(): GgmlFixture {
  if (cached) return cached;
  // GGML_FIXTURE_PATH: a wider sweep made with GGML_FIXTURE_EXTRA_ROWS (see the generator)
  const path = process.env.GGML_FIXTURE_PATH ?? fileURLToPath(new URL('./fixtures/ggml-ref.json', import.meta.url));
  const raw = JSON.parse(readFileSync(path, 'utf8')) as RawFixture;
  const quant: GgmlFixture['quant'] = {};
  for (const [k, v] of Object.entries(raw.quant)) quant[k] = { ref: bytes(v.ref), imatrix: v.imatrix ? bytes(v.imatrix) : undefined };
  const dequant: GgmlFixture['dequant'] = {};
  for (const [k, v] of Object.entries(raw.dequant)) dequant[k] = { blocks: bytes(v.blocks), out: f32(v.out) };
  cached = {
    reference: raw.reference,
    nPerRow: raw.nPerRow,
    rows: raw.rows,
    input: f32(raw.input),
    imatrix: f32(raw.imatrix),
    quant,
    dequant,
    floats: {
      input: f32(raw.floats.input), f16: u16(raw.floats.f16), bf16: u16(raw.floats.bf16),
      subnormalInput: f32(raw.floats.subnormalInput), subnormalBf16: u16(raw.floats.subnormalBf16),
    },
  };
  return cached;
}
