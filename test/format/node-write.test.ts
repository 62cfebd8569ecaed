// writeFileChunks (src/io/node-write.ts): the file sink of `synth` and `quantize`. Failures
// must reject with a clear error, leave neither a half-written file nor a `.partial` behind,
// keep whatever was at the path before, and leave nothing unhandled (vitest fails the run on an
// unhandled rejection; a stream 'error' event without a listener would kill the process).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isGemmaError } from '../../src/errors.js';
import { writeFileChunks } from '../../src/io/node-write.js';

const dir = mkdtempSync(join(tmpdir(), 'gemma-ts-write-'));

/** seeded bytes */
function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (s * 1664525 + 1013904223) >>> 0; b[i] = s >>> 24; }
  return b;
}

async function caught(f: () => Promise<unknown>): Promise<Error> {
  try { await f(); } catch (e) { return e as Error; }
  throw new Error('expected a rejection');
}

describe('writeFileChunks', () => {
  it('writes small (gathered) and large (direct) chunks in order, byte for byte', async () => {
    // small chunks that fill the 1 MiB gather buffer exactly and then overflow it, a chunk
    // larger than it, an empty chunk, and a small tail
    const chunks = [bytes(10, 1), bytes((1 << 20) - 10, 2), bytes(3, 3), bytes(3 << 20, 4), new Uint8Array(0), bytes(700_000, 5), bytes(700_000, 6), bytes(1, 7)];
    const path = join(dir, 'ok.bin');
    async function* gen() { for (const c of chunks) yield c; }
    const n = await writeFileChunks(path, gen());
    const want = Buffer.concat(chunks);
    expect(n).toBe(want.length);
    expect(readFileSync(path).equals(want)).toBe(true);
    expect(existsSync(`${path}.partial`)).toBe(false);
  });

  it('a source that throws midway: its own error, the old file kept, no .partial left', async () => {
    const path = join(dir, 'kept.bin');
    writeFileSync(path, 'previous contents');
    async function* gen() {
      yield bytes(3 << 20, 1); // written straight away
      yield bytes(100, 2);     // gathered, never written
      throw new RangeError('tensor blk.3 cannot be quantized');
    }
    const e = await caught(() => writeFileChunks(path, gen()));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toContain('blk.3');
    expect(readFileSync(path, 'utf8')).toBe('previous contents');
    expect(existsSync(`${path}.partial`)).toBe(false);
  });

  it('a path in a missing directory: GemmaError IO naming the file', async () => {
    const path = join(dir, 'no', 'such', 'dir', 'm.gguf');
    const e = await caught(() => writeFileChunks(path, [bytes(10, 1)]));
    expect(isGemmaError(e) && e.code).toBe('IO');
    expect(e.message).toContain(join(dir, 'no', 'such', 'dir'));
  });

  it('a target that cannot be replaced (a directory): GemmaError IO, the .partial removed', async () => {
    const path = join(dir, 'is-a-dir');
    mkdirSync(join(path, 'child'), { recursive: true });
    const e = await caught(() => writeFileChunks(path, [bytes(10, 1)]));
    expect(isGemmaError(e) && e.code).toBe('IO');
    expect(existsSync(`${path}.partial`)).toBe(false);
    expect(existsSync(join(path, 'child'))).toBe(true);
  });

  it('gemma-ts synth into a missing directory exits with the error, not a crash', async () => {
    const bin = join(__dirname, '..', '..', 'bin', 'gemma-ts.js');
    const out = join(dir, 'missing', 'demo.gguf');
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(process.execPath, [bin, 'synth', '--preset', 'tiny-gemma-3', '--format', 'gguf', '--out', out], { env: { ...process.env, GEMMA_TS_FROM_SOURCE: '1' }, timeout: 60_000 },
        (err, _stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stderr }));
    });
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBe(-1);
    expect(r.stderr).toContain('cannot create');
    expect(r.stderr).not.toMatch(/at .*node:internal|Unhandled|ERR_STREAM/);
  });
});
