/**
 * GGUF v2/v3 reader and writer.
 *
 * Layout (all little-endian):
 *   u32 magic "GGUF" | u32 version | u64 tensor_count | u64 kv_count
 *   kv_count x { string key | u32 value_type | value }
 *   tensor_count x { string name | u32 n_dims | u64 ne[n_dims] | u32 ggml_type | u64 offset }
 *   padding to `general.alignment` (default 32)
 *   tensor data; each tensor at data_start + offset (offsets aligned)
 * string = u64 length + UTF-8 bytes; array = u32 elem_type + u64 count + elements.
 * ne[0] is the innermost (fastest-varying) dimension: a PyTorch [out, in] matrix has ne = [in, out].
 *
 * Every count and length read from the header is checked against the bytes actually
 * left in the file before anything is allocated.
 */
import { GemmaError } from '../errors.js';
import type { ByteSource } from '../io/source.js';
import { type DType, byteSize, dtypeFromGgmlId, ggmlTypeName, GGML_TYPE_ID } from '../tensor/dtype.js';

export const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian
export const GGUF_DEFAULT_ALIGNMENT = 32;

export enum GgufType {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
}

export type GgufArray = string[] | boolean[] | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array
  | Int32Array | Float32Array | BigUint64Array | BigInt64Array | Float64Array | GgufArray[];
export type GgufValue = number | bigint | boolean | string | GgufArray;

/** A metadata value with its declared type (kept so files round-trip exactly). */
export interface GgufTypedValue { type: GgufType; value: GgufValue; arrayType?: GgufType }

export interface GgufTensorInfo {
  name: string;
  /** ne as in the file: ne[0] innermost */
  ne: number[];
  /** shape in row-major order (PyTorch convention): reverse of ne */
  shape: number[];
  ggmlType: number;
  dtype: DType | undefined;
  /** absolute byte offset of the tensor data in the file */
  offset: number;
  byteLength: number;
}

export interface GgufFile {
  source: ByteSource;
  version: number;
  metadata: Map<string, GgufValue>;
  types: Map<string, GgufTypedValue>;
  tensors: GgufTensorInfo[];
  tensorByName: Map<string, GgufTensorInfo>;
  alignment: number;
  dataOffset: number;
}

/** Thrown inside the parser when the buffered prefix is too short; the caller reads more and retries. */
class NeedMore { constructor(readonly bytes: number) {} }

/** Hard limits (beyond "fits in the file"). */
const MAX_DIMS = 8;
const MAX_KEY_LEN = 1 << 16;
const MAX_ARRAY_NESTING = 4;

class Cursor {
  pos = 0;
  private readonly dv: DataView;
  private readonly dec = new TextDecoder('utf-8', { fatal: true });
  constructor(readonly buf: Uint8Array, readonly fileSize: number, readonly file: string) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  need(n: number): void {
    if (this.pos + n > this.fileSize) throw new GemmaError('TRUNCATED', `GGUF header runs past the end of the file (needs ${n} bytes at ${this.pos})`, { file: this.file });
    if (this.pos + n > this.buf.byteLength) throw new NeedMore(this.pos + n);
  }
  /** bytes left in the file after the cursor: the bound for every count */
  left(): number { return this.fileSize - this.pos; }
  u8(): number { this.need(1); return this.dv.getUint8(this.pos++); }
  i8(): number { this.need(1); return this.dv.getInt8(this.pos++); }
  u16(): number { this.need(2); const v = this.dv.getUint16(this.pos, true); this.pos += 2; return v; }
  i16(): number { this.need(2); const v = this.dv.getInt16(this.pos, true); this.pos += 2; return v; }
  u32(): number { this.need(4); const v = this.dv.getUint32(this.pos, true); this.pos += 4; return v; }
  i32(): number { this.need(4); const v = this.dv.getInt32(this.pos, true); this.pos += 4; return v; }
  f32(): number { this.need(4); const v = this.dv.getFloat32(this.pos, true); this.pos += 4; return v; }
  f64(): number { this.need(8); const v = this.dv.getFloat64(this.pos, true); this.pos += 8; return v; }
  u64(): bigint { this.need(8); const v = this.dv.getBigUint64(this.pos, true); this.pos += 8; return v; }
  i64(): bigint { this.need(8); const v = this.dv.getBigInt64(this.pos, true); this.pos += 8; return v; }
  /** u64 that must be a safe JS number no larger than `max` */
  count(what: string, max: number): number {
    const v = this.u64();
    if (v > BigInt(max)) throw new GemmaError('BAD_HEADER', `${what} ${v} exceeds what the rest of the file can hold (at most ${max}): corrupt or truncated`, { file: this.file });
    return Number(v);
  }
  str(what: string): string {
    const n = this.count(`${what} length`, this.left() - 8);
    this.need(n);
    const bytes = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    try {
      return this.dec.decode(bytes);
    } catch {
      throw new GemmaError('BAD_HEADER', `${what} is not valid UTF-8`, { file: this.file });
    }
  }
  typed<T>(n: number, size: number, ctor: { new(buf: ArrayBuffer): T }): T {
    this.need(n * size);
    const copy = this.buf.slice(this.pos, this.pos + n * size);
    this.pos += n * size;
    return new ctor(copy.buffer);
  }
}

const SCALAR_SIZE: Partial<Record<GgufType, number>> = {
  [GgufType.UINT8]: 1, [GgufType.INT8]: 1, [GgufType.UINT16]: 2, [GgufType.INT16]: 2,
  [GgufType.UINT32]: 4, [GgufType.INT32]: 4, [GgufType.FLOAT32]: 4, [GgufType.BOOL]: 1,
  [GgufType.UINT64]: 8, [GgufType.INT64]: 8, [GgufType.FLOAT64]: 8,
};

function readValue(c: Cursor, type: number, key: string, depth: number): GgufTypedValue {
  switch (type) {
    case GgufType.UINT8: return { type, value: c.u8() };
    case GgufType.INT8: return { type, value: c.i8() };
    case GgufType.UINT16: return { type, value: c.u16() };
    case GgufType.INT16: return { type, value: c.i16() };
    case GgufType.UINT32: return { type, value: c.u32() };
    case GgufType.INT32: return { type, value: c.i32() };
    case GgufType.FLOAT32: return { type, value: c.f32() };
    case GgufType.FLOAT64: return { type, value: c.f64() };
    case GgufType.BOOL: {
      const b = c.u8();
      if (b > 1) throw new GemmaError('BAD_HEADER', `bool value ${b} is not 0 or 1`, { file: c.file, field: key });
      return { type, value: b === 1 };
    }
    case GgufType.UINT64: return { type, value: c.u64() };
    case GgufType.INT64: return { type, value: c.i64() };
    case GgufType.STRING: return { type, value: c.str(`metadata ${key}`) };
    case GgufType.ARRAY: {
      if (depth >= MAX_ARRAY_NESTING) throw new GemmaError('BAD_HEADER', `arrays nested deeper than ${MAX_ARRAY_NESTING}`, { file: c.file, field: key });
      const at = c.u32();
      const elemMin = at === GgufType.STRING ? 8 : at === GgufType.ARRAY ? 12 : SCALAR_SIZE[at as GgufType];
      if (elemMin === undefined) throw new GemmaError('BAD_HEADER', `unknown array element type ${at}`, { file: c.file, field: key });
      const n = c.count(`array ${key} length`, Math.floor((c.left() - 8) / elemMin));
      return { type, arrayType: at, value: readArray(c, at, n, key, depth) };
    }
    default:
      throw new GemmaError('BAD_HEADER', `unknown metadata value type ${type}`, { file: c.file, field: key });
  }
}

function readArray(c: Cursor, at: number, n: number, key: string, depth: number): GgufArray {
  switch (at) {
    case GgufType.UINT8: return c.typed(n, 1, Uint8Array);
    case GgufType.INT8: return c.typed(n, 1, Int8Array);
    case GgufType.UINT16: return c.typed(n, 2, Uint16Array);
    case GgufType.INT16: return c.typed(n, 2, Int16Array);
    case GgufType.UINT32: return c.typed(n, 4, Uint32Array);
    case GgufType.INT32: return c.typed(n, 4, Int32Array);
    case GgufType.FLOAT32: return c.typed(n, 4, Float32Array);
    case GgufType.UINT64: return c.typed(n, 8, BigUint64Array);
    case GgufType.INT64: return c.typed(n, 8, BigInt64Array);
    case GgufType.FLOAT64: return c.typed(n, 8, Float64Array);
    case GgufType.BOOL: {
      const out: boolean[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = readValue(c, GgufType.BOOL, key, depth).value as boolean;
      return out;
    }
    case GgufType.STRING: {
      const out: string[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = c.str(`metadata ${key}[${i}]`);
      return out;
    }
    default: {
      const out: GgufArray[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = readValue(c, GgufType.ARRAY, key, depth + 1).value as GgufArray;
      return out;
    }
  }
}

function parseHeader(buf: Uint8Array, src: ByteSource): GgufFile {
  const c = new Cursor(buf, src.size, src.name);
  const magic = c.u32();
  if (magic !== GGUF_MAGIC) throw new GemmaError('BAD_MAGIC', 'not a GGUF file (bad magic)', { file: src.name });
  const version = c.u32();
  if (version !== 2 && version !== 3) throw new GemmaError('UNSUPPORTED_VERSION', `GGUF version ${version} is not supported (2 and 3 are)`, { file: src.name });
  // every tensor info takes >= 8+4+8+4+8 bytes, every kv >= 8+4+1
  const nTensors = c.count('tensor count', Math.floor(c.left() / 32));
  const nKv = c.count('metadata count', Math.floor(c.left() / 13));
  const metadata = new Map<string, GgufValue>();
  const types = new Map<string, GgufTypedValue>();
  for (let i = 0; i < nKv; i++) {
    const key = c.str('metadata key');
    if (key.length > MAX_KEY_LEN) throw new GemmaError('BAD_HEADER', `metadata key longer than ${MAX_KEY_LEN}`, { file: src.name });
    if (types.has(key)) throw new GemmaError('DUPLICATE', `duplicate metadata key`, { file: src.name, field: key });
    const tv = readValue(c, c.u32(), key, 0);
    types.set(key, tv);
    metadata.set(key, tv.value);
  }
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const al = metadata.get('general.alignment');
  if (al !== undefined) {
    if (typeof al !== 'number' || al < 1 || al > 1 << 20 || (al & (al - 1)) !== 0) {
      throw new GemmaError('BAD_HEADER', `general.alignment ${String(al)} is not a power of two`, { file: src.name, field: 'general.alignment' });
    }
    alignment = al;
  }
  const raw: { name: string; ne: number[]; ggmlType: number; rel: bigint }[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const name = c.str('tensor name');
    if (seen.has(name)) throw new GemmaError('DUPLICATE', 'duplicate tensor name', { file: src.name, tensor: name });
    seen.add(name);
    const nd = c.u32();
    if (nd < 1 || nd > MAX_DIMS) throw new GemmaError('BAD_HEADER', `tensor has ${nd} dimensions`, { file: src.name, tensor: name });
    const ne: number[] = [];
    for (let d = 0; d < nd; d++) {
      const v = c.u64();
      if (v < 1n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw new GemmaError('BAD_SHAPE', `dimension ${d} is ${v}`, { file: src.name, tensor: name });
      ne.push(Number(v));
    }
    const ggmlType = c.u32();
    const rel = c.u64();
    raw.push({ name, ne, ggmlType, rel });
  }
  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  const dataBytes = src.size - dataOffset;
  const tensors: GgufTensorInfo[] = [];
  for (const r of raw) {
    const dtype = dtypeFromGgmlId(r.ggmlType);
    const shape = [...r.ne].reverse();
    let byteLength = -1;
    if (dtype) {
      const n = r.ne.reduce((a, b) => a * b, 1);
      if (!Number.isSafeInteger(n)) throw new GemmaError('BAD_SHAPE', `element count overflows`, { file: src.name, tensor: r.name });
      const bs = byteSize(dtype, shape);
      if (bs === undefined) throw new GemmaError('BAD_SHAPE', `row length ${r.ne[0]} is not a whole number of ${dtype} blocks`, { file: src.name, tensor: r.name });
      byteLength = bs;
    }
    if (r.rel % BigInt(alignment) !== 0n) throw new GemmaError('BAD_HEADER', `tensor offset ${r.rel} is not aligned to ${alignment}`, { file: src.name, tensor: r.name });
    if (r.rel > BigInt(Math.max(0, dataBytes))) throw new GemmaError('TRUNCATED', `tensor data offset ${r.rel} is past the end of the file`, { file: src.name, tensor: r.name });
    const offset = dataOffset + Number(r.rel);
    if (byteLength >= 0 && offset + byteLength > src.size) {
      throw new GemmaError('TRUNCATED', `tensor data (${byteLength} bytes at ${offset}) runs past the end of the file (${src.size} bytes)`, { file: src.name, tensor: r.name });
    }
    tensors.push({ name: r.name, ne: r.ne, shape, ggmlType: r.ggmlType, dtype, offset, byteLength });
  }
  // overlapping tensor data is a sign of a crafted file
  const sorted = tensors.filter((t) => t.byteLength >= 0).sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const p = sorted[i - 1]!, t = sorted[i]!;
    if (p.offset + p.byteLength > t.offset) throw new GemmaError('BAD_TENSOR', `tensor data overlaps ${p.name}`, { file: src.name, tensor: t.name });
  }
  return { source: src, version, metadata, types, tensors, tensorByName: new Map(tensors.map((t) => [t.name, t])), alignment, dataOffset };
}

/** Read a GGUF header (metadata and tensor infos); tensor data stays in the source. */
export async function readGguf(src: ByteSource): Promise<GgufFile> {
  let want = Math.min(src.size, 1 << 20);
  for (;;) {
    const buf = await src.read(0, want);
    try {
      return parseHeader(buf, src);
    } catch (e) {
      if (!(e instanceof NeedMore)) throw e;
      if (want >= src.size) throw new GemmaError('TRUNCATED', 'GGUF header runs past the end of the file', { file: src.name });
      want = Math.min(src.size, Math.max(want * 2, e.bytes + (1 << 16)));
    }
  }
}

/** The raw bytes of one tensor (`into`: see ByteSource.read), or a clear error for a type we cannot read. */
export async function readGgufTensor(f: GgufFile, t: GgufTensorInfo, into?: Uint8Array): Promise<Uint8Array> {
  if (!t.dtype) {
    throw new GemmaError('UNSUPPORTED_DTYPE', `GGUF tensor type ${ggmlTypeName(t.ggmlType)} is not supported`, { file: f.source.name, tensor: t.name });
  }
  return f.source.read(t.offset, t.byteLength, into);
}

export function metaNumber(f: GgufFile, key: string): number | undefined {
  const v = f.metadata.get(key);
  if (v === undefined) return undefined;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  throw new GemmaError('BAD_CONFIG', `metadata ${key} should be a number`, { file: f.source.name, field: key });
}

export function metaString(f: GgufFile, key: string): string | undefined {
  const v = f.metadata.get(key);
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new GemmaError('BAD_CONFIG', `metadata ${key} should be a string`, { file: f.source.name, field: key });
  return v;
}

// ---------------------------------------------------------------- writer

export interface GgufWriteTensor {
  name: string;
  dtype: DType;
  /** row-major shape (PyTorch order); written reversed as ne */
  shape: number[];
  /** raw bytes in the dtype's layout, or a function producing them (called once, in order) */
  data: Uint8Array | (() => Uint8Array | Promise<Uint8Array>);
}

/** Infer the GGUF value type of a JS value (numbers default to u32 if integral and >= 0, i32 if negative integral, else f32). */
export function ggufTyped(value: GgufValue, type?: GgufType): GgufTypedValue {
  if (type !== undefined) return { type, value };
  if (typeof value === 'string') return { type: GgufType.STRING, value };
  if (typeof value === 'boolean') return { type: GgufType.BOOL, value };
  if (typeof value === 'bigint') return { type: GgufType.UINT64, value };
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return { type: value < 0 ? GgufType.INT32 : GgufType.UINT32, value };
    return { type: GgufType.FLOAT32, value };
  }
  if (Array.isArray(value) && Array.isArray(value[0])) return { type: GgufType.ARRAY, arrayType: GgufType.ARRAY, value };
  if (Array.isArray(value) && (value.length === 0 || typeof value[0] === 'string')) return { type: GgufType.ARRAY, arrayType: GgufType.STRING, value };
  if (Array.isArray(value) && typeof value[0] === 'boolean') return { type: GgufType.ARRAY, arrayType: GgufType.BOOL, value };
  if (value instanceof Float32Array) return { type: GgufType.ARRAY, arrayType: GgufType.FLOAT32, value };
  if (value instanceof Int32Array) return { type: GgufType.ARRAY, arrayType: GgufType.INT32, value };
  if (value instanceof Uint32Array) return { type: GgufType.ARRAY, arrayType: GgufType.UINT32, value };
  if (value instanceof Uint8Array) return { type: GgufType.ARRAY, arrayType: GgufType.UINT8, value };
  if (value instanceof Int8Array) return { type: GgufType.ARRAY, arrayType: GgufType.INT8, value };
  if (value instanceof Uint16Array) return { type: GgufType.ARRAY, arrayType: GgufType.UINT16, value };
  if (value instanceof Int16Array) return { type: GgufType.ARRAY, arrayType: GgufType.INT16, value };
  if (value instanceof Float64Array) return { type: GgufType.ARRAY, arrayType: GgufType.FLOAT64, value };
  if (value instanceof BigUint64Array) return { type: GgufType.ARRAY, arrayType: GgufType.UINT64, value };
  if (value instanceof BigInt64Array) return { type: GgufType.ARRAY, arrayType: GgufType.INT64, value };
  throw new GemmaError('BAD_ARGUMENT', 'cannot infer GGUF type of metadata value');
}

class ByteWriter {
  private chunks: Uint8Array[] = [];
  private cur = new Uint8Array(1 << 16);
  private dv = new DataView(this.cur.buffer);
  private p = 0;
  length = 0;
  private enc = new TextEncoder();
  private room(n: number): void {
    if (this.p + n <= this.cur.byteLength) return;
    this.chunks.push(this.cur.subarray(0, this.p));
    this.cur = new Uint8Array(Math.max(1 << 16, n));
    this.dv = new DataView(this.cur.buffer);
    this.p = 0;
  }
  u8(v: number) { this.room(1); this.dv.setUint8(this.p, v); this.p += 1; this.length += 1; }
  i8(v: number) { this.room(1); this.dv.setInt8(this.p, v); this.p += 1; this.length += 1; }
  u16(v: number) { this.room(2); this.dv.setUint16(this.p, v, true); this.p += 2; this.length += 2; }
  i16(v: number) { this.room(2); this.dv.setInt16(this.p, v, true); this.p += 2; this.length += 2; }
  u32(v: number) { this.room(4); this.dv.setUint32(this.p, v, true); this.p += 4; this.length += 4; }
  i32(v: number) { this.room(4); this.dv.setInt32(this.p, v, true); this.p += 4; this.length += 4; }
  f32(v: number) { this.room(4); this.dv.setFloat32(this.p, v, true); this.p += 4; this.length += 4; }
  f64(v: number) { this.room(8); this.dv.setFloat64(this.p, v, true); this.p += 8; this.length += 8; }
  u64(v: bigint | number) { this.room(8); this.dv.setBigUint64(this.p, BigInt(v), true); this.p += 8; this.length += 8; }
  i64(v: bigint | number) { this.room(8); this.dv.setBigInt64(this.p, BigInt(v), true); this.p += 8; this.length += 8; }
  bytes(b: Uint8Array) { this.room(b.byteLength); this.cur.set(b, this.p); this.p += b.byteLength; this.length += b.byteLength; }
  str(s: string) { const b = this.enc.encode(s); this.u64(b.byteLength); this.bytes(b); }
  finish(): Uint8Array[] { this.chunks.push(this.cur.subarray(0, this.p)); return this.chunks; }
}

function writeValue(w: ByteWriter, tv: GgufTypedValue): void {
  const v = tv.value;
  switch (tv.type) {
    case GgufType.UINT8: return w.u8(v as number);
    case GgufType.INT8: return w.i8(v as number);
    case GgufType.UINT16: return w.u16(v as number);
    case GgufType.INT16: return w.i16(v as number);
    case GgufType.UINT32: return w.u32(v as number);
    case GgufType.INT32: return w.i32(v as number);
    case GgufType.FLOAT32: return w.f32(v as number);
    case GgufType.FLOAT64: return w.f64(v as number);
    case GgufType.BOOL: return w.u8(v ? 1 : 0);
    case GgufType.UINT64: return w.u64(v as bigint);
    case GgufType.INT64: return w.i64(v as bigint);
    case GgufType.STRING: return w.str(v as string);
    case GgufType.ARRAY: {
      const at = tv.arrayType!;
      const arr = v as ArrayLike<unknown>;
      w.u32(at);
      w.u64(arr.length);
      for (let i = 0; i < arr.length; i++) {
        if (at === GgufType.ARRAY) writeValue(w, ggufTyped(arr[i] as GgufValue));
        else writeValue(w, { type: at, value: arr[i] as GgufValue });
      }
      return;
    }
  }
}

/**
 * Serialize a GGUF (v3) file. Yields byte chunks so callers can stream to disk;
 * tensor data callbacks are invoked one at a time (never all tensors in memory).
 */
export async function* writeGguf(
  metadata: Map<string, GgufTypedValue>,
  tensors: GgufWriteTensor[],
  alignment = GGUF_DEFAULT_ALIGNMENT,
): AsyncGenerator<Uint8Array> {
  const w = new ByteWriter();
  w.u32(GGUF_MAGIC);
  w.u32(3);
  w.u64(tensors.length);
  const meta = new Map(metadata);
  if (alignment !== GGUF_DEFAULT_ALIGNMENT) meta.set('general.alignment', { type: GgufType.UINT32, value: alignment });
  w.u64(meta.size);
  for (const [k, tv] of meta) { w.str(k); w.u32(tv.type); writeValue(w, tv); }
  let rel = 0;
  const sizes: number[] = [];
  for (const t of tensors) {
    const bs = byteSize(t.dtype, t.shape);
    if (bs === undefined) throw new GemmaError('BAD_SHAPE', `row length not a multiple of the ${t.dtype} block`, { tensor: t.name });
    w.str(t.name);
    w.u32(t.shape.length);
    for (let d = t.shape.length - 1; d >= 0; d--) w.u64(t.shape[d]!);
    w.u32(GGML_TYPE_ID[t.dtype]);
    w.u64(rel);
    sizes.push(bs);
    rel += Math.ceil(bs / alignment) * alignment;
  }
  const pad = (Math.ceil(w.length / alignment) * alignment) - w.length;
  w.bytes(new Uint8Array(pad));
  for (const chunk of w.finish()) yield chunk;
  for (let i = 0; i < tensors.length; i++) {
    const t = tensors[i]!;
    const data = typeof t.data === 'function' ? await t.data() : t.data;
    if (data.byteLength !== sizes[i]) throw new GemmaError('BAD_TENSOR', `data is ${data.byteLength} bytes, expected ${sizes[i]}`, { tensor: t.name });
    yield data;
    const p = Math.ceil(sizes[i]! / alignment) * alignment - sizes[i]!;
    if (p) yield new Uint8Array(p);
  }
}

/** Collect a writeGguf stream into one buffer (tests, small models). */
export async function ggufToBuffer(gen: AsyncGenerator<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of gen) { parts.push(c.slice()); n += c.byteLength; }
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.byteLength; }
  return out;
}
