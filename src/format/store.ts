/**
 * A tensor store: the index of one model's tensors (name -> dtype, shape, byte range)
 * whatever the file format, with lazy reads. GGUF files, single safetensors files and
 * sharded safetensors sets all become one of these.
 */
import { GemmaError } from '../errors.js';
import type { ByteSource } from '../io/source.js';
import { type DType, ggmlTypeName } from '../tensor/dtype.js';
import { type GgufFile, readGgufTensor } from './gguf.js';
import { parseSafetensorsIndex, readSafetensors, readSafetensorsTensor, type SafetensorsFile } from './safetensors.js';

export interface StoredTensor {
  name: string;
  /** undefined when the file's type is not one we load (error raised on read) */
  dtype: DType | undefined;
  /** the type as the file names it, for messages */
  fileType: string;
  /** row-major shape */
  shape: number[];
  byteLength: number;
  /** the file it lives in, for messages */
  file: string;
  /** the tensor's bytes (`into`: a buffer lent for them, see ByteSource.read) */
  read(into?: Uint8Array): Promise<Uint8Array>;
}

export interface TensorStore {
  readonly name: string;
  readonly format: 'gguf' | 'safetensors';
  names(): string[];
  get(name: string): StoredTensor | undefined;
}

export function ggufStore(f: GgufFile): TensorStore {
  const map = new Map<string, StoredTensor>();
  for (const t of f.tensors) {
    map.set(t.name, {
      name: t.name, dtype: t.dtype, fileType: t.dtype ?? ggmlTypeName(t.ggmlType), shape: t.shape,
      byteLength: t.byteLength, file: f.source.name, read: (into) => readGgufTensor(f, t, into),
    });
  }
  return { name: f.source.name, format: 'gguf', names: () => [...map.keys()], get: (n) => map.get(n) };
}

export function safetensorsStore(files: SafetensorsFile[], name: string): TensorStore {
  const map = new Map<string, StoredTensor>();
  for (const f of files) {
    for (const t of f.tensors.values()) {
      if (map.has(t.name)) throw new GemmaError('DUPLICATE', `tensor appears in two shards`, { file: f.source.name, tensor: t.name });
      map.set(t.name, {
        name: t.name, dtype: t.dtype, fileType: t.stDtype, shape: t.shape, byteLength: t.byteLength,
        file: f.source.name, read: (into) => readSafetensorsTensor(f, t, into),
      });
    }
  }
  return { name, format: 'safetensors', names: () => [...map.keys()], get: (n) => map.get(n) };
}

/** A set of named files (a model directory, an uploaded FileList, a URL base). */
export interface FileSet {
  readonly name: string;
  has(file: string): Promise<boolean>;
  open(file: string): Promise<ByteSource>;
  list?(): Promise<string[]>;
}

export async function readText(fs: FileSet, file: string, maxBytes = 64 << 20): Promise<string> {
  const src = await fs.open(file);
  try {
    if (src.size > maxBytes) throw new GemmaError('LIMIT', `${file} is ${src.size} bytes (limit ${maxBytes})`, { file: src.name });
    const bytes = await src.read(0, src.size);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch (cause) {
      throw new GemmaError('BAD_HEADER', `${file} is not valid UTF-8`, { file: src.name, cause });
    }
  } finally {
    await src.close?.();
  }
}

export async function readBytes(fs: FileSet, file: string, maxBytes = 64 << 20): Promise<Uint8Array> {
  const src = await fs.open(file);
  try {
    if (src.size > maxBytes) throw new GemmaError('LIMIT', `${file} is ${src.size} bytes (limit ${maxBytes})`, { file: src.name });
    return (await src.read(0, src.size)).slice();
  } finally {
    await src.close?.();
  }
}

/** Open the safetensors weights of a HF-style file set: model.safetensors or the sharded index. */
export async function openSafetensorsSet(fs: FileSet): Promise<{ store: TensorStore; sources: ByteSource[] }> {
  const sources: ByteSource[] = [];
  const files: SafetensorsFile[] = [];
  try {
    await readSafetensorsSet(fs, sources, files);
    return { store: safetensorsStore(files, fs.name), sources };
  } catch (e) {
    // a bad shard: close what was opened (file handles would otherwise wait for GC)
    for (const s of sources) await s.close?.().catch(() => {});
    throw e;
  }
}

async function readSafetensorsSet(fs: FileSet, sources: ByteSource[], files: SafetensorsFile[]): Promise<void> {
  if (await fs.has('model.safetensors.index.json')) {
    const map = parseSafetensorsIndex(await readText(fs, 'model.safetensors.index.json'), `${fs.name}/model.safetensors.index.json`);
    const shards = [...new Set(map.values())];
    for (const s of shards) {
      const src = await fs.open(s);
      sources.push(src);
      const f = await readSafetensors(src);
      for (const [t, file] of map) if (file === s && !f.tensors.has(t)) {
        throw new GemmaError('MISSING_TENSOR', `index maps it to ${s} but that shard does not contain it`, { file: src.name, tensor: t });
      }
      files.push(f);
    }
  } else if (await fs.has('model.safetensors')) {
    const src = await fs.open('model.safetensors');
    sources.push(src);
    files.push(await readSafetensors(src));
  } else {
    throw new GemmaError('IO', 'no model.safetensors or model.safetensors.index.json found', { file: fs.name });
  }
}
