/**
 * Safetensors reader and writer.
 *
 * Layout: u64 N (little-endian) | N bytes of JSON header | data.
 * Header: { "<name>": { "dtype": "F32"|"F16"|"BF16"|..., "shape": [...], "data_offsets": [begin, end] }, "__metadata__"?: {...} }
 * Offsets are relative to the first byte after the header. Tensors are row-major.
 *
 * Validation (before any tensor is read): header length <= 100 MB (the reference
 * implementation's limit), JSON nested at most 256 deep and no duplicate tensor names (both
 * checked before parsing), valid JSON object, known dtypes, shape x dtype size == byte length,
 * ranges inside the file and not overlapping.
 */
import { GemmaError } from '../errors.js';
import type { ByteSource } from '../io/source.js';
import type { DType } from '../tensor/dtype.js';
import { checkJsonDepth, firstDuplicateKey } from './json-depth.js';

export const SAFETENSORS_MAX_HEADER = 100_000_000;

const ST_DTYPES: Record<string, { dtype?: DType; size: number }> = {
  F32: { dtype: 'f32', size: 4 }, F16: { dtype: 'f16', size: 2 }, BF16: { dtype: 'bf16', size: 2 },
  F64: { size: 8 }, I64: { size: 8 }, I32: { size: 4 }, I16: { size: 2 }, I8: { size: 1 }, U8: { size: 1 },
  BOOL: { size: 1 }, F8_E4M3: { size: 1 }, F8_E5M2: { size: 1 }, U16: { size: 2 }, U32: { size: 4 }, U64: { size: 8 },
};

export interface SafetensorsTensorInfo {
  name: string;
  /** undefined when the file uses a dtype we do not load (reported when the tensor is used) */
  dtype: DType | undefined;
  stDtype: string;
  shape: number[];
  /** absolute offset in the file */
  offset: number;
  byteLength: number;
}

export interface SafetensorsFile {
  source: ByteSource;
  metadata: Record<string, string>;
  tensors: Map<string, SafetensorsTensorInfo>;
}

function bad(file: string, msg: string, tensor?: string): GemmaError {
  return new GemmaError('BAD_HEADER', msg, { file, tensor });
}

export async function readSafetensors(src: ByteSource): Promise<SafetensorsFile> {
  if (src.size < 8) throw new GemmaError('TRUNCATED', `file is ${src.size} bytes, too short for a safetensors header`, { file: src.name });
  const lenBytes = await src.read(0, 8);
  const n = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(SAFETENSORS_MAX_HEADER)) throw new GemmaError('LIMIT', `header length ${n} exceeds the ${SAFETENSORS_MAX_HEADER}-byte limit`, { file: src.name });
  const hlen = Number(n);
  if (8 + hlen > src.size) throw new GemmaError('TRUNCATED', `header length ${hlen} runs past the end of the file (${src.size} bytes)`, { file: src.name });
  const hbytes = await src.read(8, hlen);
  checkJsonDepth(hbytes, src.name);
  const dup = firstDuplicateKey(hbytes);
  if (dup !== undefined) throw new GemmaError('DUPLICATE', 'the header names this tensor twice', { file: src.name, tensor: dup });
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(hbytes));
  } catch (cause) {
    throw new GemmaError('BAD_HEADER', `header is not valid JSON: ${(cause as Error).message}`, { file: src.name, cause });
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw bad(src.name, 'header is not a JSON object');
  const dataStart = 8 + hlen;
  const dataLen = src.size - dataStart;
  const tensors = new Map<string, SafetensorsTensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(src.name, '__metadata__ is not an object');
      metadata = v as Record<string, string>;
      continue;
    }
    if (typeof v !== 'object' || v === null) throw bad(src.name, 'tensor entry is not an object', name);
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e.dtype !== 'string' || !(e.dtype in ST_DTYPES)) {
      throw new GemmaError('UNSUPPORTED_DTYPE', `unknown safetensors dtype ${JSON.stringify(e.dtype)}`, { file: src.name, tensor: name });
    }
    if (!Array.isArray(e.shape) || e.shape.length > 8 || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new GemmaError('BAD_SHAPE', `invalid shape ${JSON.stringify(e.shape)}`, { file: src.name, tensor: name });
    }
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0) || off[0] > off[1]) {
      throw bad(src.name, `invalid data_offsets ${JSON.stringify(off)}`, name);
    }
    const shape = e.shape as number[];
    const info = ST_DTYPES[e.dtype]!;
    let count = 1;
    for (const d of shape) count *= d;
    const byteLength = (off[1] as number) - (off[0] as number);
    if (!Number.isSafeInteger(count * info.size) || count * info.size !== byteLength) {
      throw new GemmaError('BAD_TENSOR', `shape [${shape}] x ${e.dtype} needs ${count * info.size} bytes but data_offsets span ${byteLength}`, { file: src.name, tensor: name });
    }
    if ((off[1] as number) > dataLen) {
      throw new GemmaError('TRUNCATED', `tensor data [${off[0]}, ${off[1]}) runs past the end of the data section (${dataLen} bytes)`, { file: src.name, tensor: name });
    }
    tensors.set(name, { name, dtype: info.dtype, stDtype: e.dtype, shape, offset: dataStart + (off[0] as number), byteLength });
  }
  const sorted = [...tensors.values()].filter((t) => t.byteLength > 0).sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const p = sorted[i - 1]!, t = sorted[i]!;
    if (p.offset + p.byteLength > t.offset) throw new GemmaError('BAD_TENSOR', `tensor data overlaps ${p.name}`, { file: src.name, tensor: t.name });
  }
  return { source: src, metadata, tensors };
}

/** the tensor's bytes (`into`: see ByteSource.read) */
export async function readSafetensorsTensor(f: SafetensorsFile, t: SafetensorsTensorInfo, into?: Uint8Array): Promise<Uint8Array> {
  if (!t.dtype) throw new GemmaError('UNSUPPORTED_DTYPE', `safetensors dtype ${t.stDtype} is not supported (F32, F16, BF16 are)`, { file: f.source.name, tensor: t.name });
  return f.source.read(t.offset, t.byteLength, into);
}

/** model.safetensors.index.json: { weight_map: { tensorName: fileName } } */
export function parseSafetensorsIndex(text: string, file = 'model.safetensors.index.json'): Map<string, string> {
  checkJsonDepth(text, file);
  let j: unknown;
  try { j = JSON.parse(text); } catch (cause) { throw new GemmaError('BAD_HEADER', 'index is not valid JSON', { file, cause }); }
  const wm = (j as { weight_map?: unknown })?.weight_map;
  if (typeof wm !== 'object' || wm === null) throw new GemmaError('BAD_HEADER', 'index has no weight_map object', { file });
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(wm)) {
    if (typeof v !== 'string' || v.includes('/') || v.includes('\\') || v.startsWith('.')) throw new GemmaError('BAD_HEADER', `weight_map entry ${JSON.stringify(v)} is not a plain file name`, { file, tensor: k });
    out.set(k, v);
  }
  return out;
}

// ---------------------------------------------------------------- writer

const DTYPE_TO_ST: Partial<Record<DType, string>> = { f32: 'F32', f16: 'F16', bf16: 'BF16' };

export interface SafetensorsWriteTensor { name: string; dtype: DType; shape: number[]; data: Uint8Array }

/** The header bytes (length prefix included) for tensors of the given sizes, laid out in order. */
export function safetensorsHeader(tensors: { name: string; dtype: DType; shape: number[]; byteLength: number }[], metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let off = 0;
  for (const t of tensors) {
    const st = DTYPE_TO_ST[t.dtype];
    if (!st) throw new GemmaError('UNSUPPORTED_DTYPE', `safetensors cannot hold ${t.dtype}`, { tensor: t.name });
    header[t.name] = { dtype: st, shape: t.shape, data_offsets: [off, off + t.byteLength] };
    off += t.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil((8 + json.byteLength) / 8) * 8 - 8; // data starts 8-aligned
  const out = new Uint8Array(8 + padded).fill(0x20);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  return out;
}

/** Serialize tensors (F32/F16/BF16) into one safetensors buffer. */
export function writeSafetensors(tensors: SafetensorsWriteTensor[], metadata?: Record<string, string>): Uint8Array {
  const head = safetensorsHeader(tensors.map((t) => ({ ...t, byteLength: t.data.byteLength })), metadata);
  let total = head.byteLength;
  for (const t of tensors) total += t.data.byteLength;
  const out = new Uint8Array(total);
  out.set(head, 0);
  let p = head.byteLength;
  for (const t of tensors) { out.set(t.data, p); p += t.data.byteLength; }
  return out;
}
