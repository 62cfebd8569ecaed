/**
 * `gemma-ts inspect` on corrupt files: one line naming the error code, the file and the
 * tensor or field concerned, exit status 1, no stack trace. The corruptions are made here
 * with the independent GGUF field walker (layout.ts), which also gives the expected names.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { TEST_DIR } from '../helpers/models.js';
import { corpus, ROOT } from './corpus.js';
import { type Field, ggufFields } from './layout.js';

function inspect(path: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(ROOT, 'bin', 'gemma-ts.js'), 'inspect', path], {
      env: { ...process.env, GEMMA_TS_FROM_SOURCE: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function setU64(b: Uint8Array, f: Field, v: bigint): Uint8Array {
  const out = b.slice();
  new DataView(out.buffer).setBigUint64(f.pos, v, true);
  return out;
}

const dir = join(TEST_DIR, 'inspect-cli');
let gguf: Uint8Array, fields: Field[];
/** tensor names in file order, and the one whose data ends last */
let names: string[], lastTensor: string;

beforeAll(async () => {
  await mkdir(dir, { recursive: true });
  const c = await corpus();
  gguf = c.get('gguf')!.find((e) => e.name === 'g1-f32')!.bytes;
  fields = ggufFields(gguf);
  names = fields.filter((f) => f.kind === 'ggml_type').map((f) => f.key!);
  const dv = new DataView(gguf.buffer, gguf.byteOffset);
  const offs = fields.filter((f) => f.kind === 'offset').map((f) => ({ name: f.key!, off: dv.getBigUint64(f.pos, true) }));
  lastTensor = offs.reduce((a, b) => (b.off > a.off ? b : a)).name;
});

/** the CLI's one-line error: code, message naming what is wrong, no stack */
function expectError(r: { code: number | null; stdout: string; stderr: string }, code: string, ...mentions: string[]): void {
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(new RegExp(`^gemma-ts inspect: error \\[${code}\\]: `));
  for (const m of mentions) expect(r.stderr).toContain(m);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
}

describe('gemma-ts inspect on corrupt files', () => {
  it('the intact file inspects (control)', async () => {
    const p = join(dir, 'ok.gguf');
    await writeFile(p, gguf);
    const r = await inspect(p);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('architecture:  gemma (Gemma 1)');
    expect(r.stdout).toContain(`tensors:       ${names.length}`);
  });

  it('GGUF problems name the count, tensor or field', async () => {
    const tensorCount = fields.find((f) => f.kind === 'tensor_count')!;
    const tokensLen = fields.find((f) => f.kind === 'array_len' && f.key === 'tokenizer.ggml.tokens')!;
    const ne0 = fields.find((f) => f.kind === 'ne' && f.key === 'token_embd.weight')!;
    const name1 = fields.filter((f) => f.kind === 'name_len')[1]!;
    const cases: [string, Uint8Array, string, ...string[]][] = [
      ['count.gguf', setU64(gguf, tensorCount, 1n << 40n), 'BAD_HEADER', 'tensor count 1099511627776', 'count.gguf'],
      ['array.gguf', setU64(gguf, tokensLen, (1n << 64n) - 1n), 'BAD_HEADER', 'tokenizer.ggml.tokens', 'array.gguf'],
      ['truncated.gguf', gguf.slice(0, gguf.length - 100), 'TRUNCATED', `tensor ${lastTensor}`, 'truncated.gguf'],
      // token_embd claims 2^40 columns: its data would run past the end of the file
      ['shape.gguf', setU64(gguf, ne0, 1n << 40n), 'TRUNCATED', 'tensor token_embd.weight'],
      ['header-cut.gguf', gguf.slice(0, name1.pos + 3), 'TRUNCATED', 'header-cut.gguf'],
    ];
    // a tensor renamed to an earlier tensor's name of the same length (only the name bytes change)
    const dv = new DataView(gguf.buffer, gguf.byteOffset);
    const nameFields = fields.filter((f) => f.kind === 'name_len');
    const lens = nameFields.map((f) => Number(dv.getBigUint64(f.pos, true)));
    const j = lens.findIndex((l, k) => lens.indexOf(l) < k);
    const i = lens.indexOf(lens[j]!);
    const dup = gguf.slice();
    dup.set(gguf.subarray(nameFields[i]!.pos + 8, nameFields[i]!.pos + 8 + lens[i]!), nameFields[j]!.pos + 8);
    cases.push(['dup.gguf', dup, 'DUPLICATE', `tensor ${names[i]}`, 'duplicate tensor name']);
    const results = await Promise.all(cases.map(async ([file, bytes]) => { const p = join(dir, file); await writeFile(p, bytes); return inspect(p); }));
    cases.forEach(([, , code, ...mentions], i) => expectError(results[i]!, code, ...mentions));
    expect(cases.length).toBe(6);
  });

  it('safetensors and config.json problems name the tensor or field; a directory where a file should be is IO', async () => {
    const c = await corpus();
    const st = c.get('safetensors')!.find((e) => e.name === 'g1-f32')!.bytes;
    const cfg = JSON.parse(new TextDecoder().decode(c.get('config')!.find((e) => e.name === 'g1')!.bytes)) as Record<string, unknown>;
    const hlen = Number(new DataView(st.buffer, st.byteOffset).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(st.subarray(8, 8 + hlen))) as Record<string, { data_offsets: number[] }>;
    const tensorNames = Object.keys(header).filter((k) => k !== '__metadata__');
    const [a, b] = [tensorNames[1]!, tensorNames[2]!];
    // b's range moved onto a's (same length: the header stays valid JSON of the same size)
    const overlapping = { ...header, [b]: { ...header[b]!, data_offsets: header[a]!.data_offsets.slice() } };
    const bytesWith = (h: unknown): Uint8Array => {
      const j = new TextEncoder().encode(JSON.stringify(h));
      const out = new Uint8Array(8 + j.length + (st.length - 8 - hlen));
      new DataView(out.buffer).setBigUint64(0, BigInt(j.length), true);
      out.set(j, 8);
      out.set(st.subarray(8 + hlen), 8 + j.length);
      return out;
    };
    const sameSize = header[a]!.data_offsets[1]! - header[a]!.data_offsets[0]! === header[b]!.data_offsets[1]! - header[b]!.data_offsets[0]!;
    const dirs: [string, Record<string, Uint8Array | string | null>, string, ...string[]][] = [
      ['overlap', { 'config.json': JSON.stringify(cfg), 'model.safetensors': bytesWith(overlapping) }, 'BAD_TENSOR', sameSize ? 'overlaps' : 'data_offsets span', 'model.safetensors'],
      ['no-hidden', { 'config.json': JSON.stringify({ ...cfg, hidden_size: undefined }), 'model.safetensors': st }, 'BAD_CONFIG', 'field hidden_size', 'config.json'],
      ['bad-heads', { 'config.json': JSON.stringify({ ...cfg, num_key_value_heads: 3 }), 'model.safetensors': st }, 'BAD_CONFIG', 'field num_key_value_heads'],
      ['huge-header', { 'config.json': JSON.stringify(cfg), 'model.safetensors': (() => { const x = st.slice(); new DataView(x.buffer).setBigUint64(0, 1n << 50n, true); return x; })() }, 'LIMIT', '100000000', 'model.safetensors'],
      ['dir-not-file', { 'config.json': JSON.stringify(cfg), 'model.safetensors': null }, 'IO', 'model.safetensors'],
    ];
    const results = await Promise.all(dirs.map(async ([name, files]) => {
      const d = join(dir, name);
      await mkdir(d, { recursive: true });
      for (const [f, data] of Object.entries(files)) {
        if (data === null) await mkdir(join(d, f), { recursive: true });
        else await writeFile(join(d, f), data);
      }
      return inspect(d);
    }));
    dirs.forEach(([, , code, ...mentions], i) => expectError(results[i]!, code, ...mentions));
    // the overlap names one of the two tensors involved
    expect(results[0]!.stderr).toMatch(new RegExp(`tensor (${a}|${b})`.replace(/\./g, '\\.')));
  });
});
