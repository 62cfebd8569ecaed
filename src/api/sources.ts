/**
 * What `loadModel` accepts, turned into one of two things the loaders read:
 *   a GGUF ByteSource, or a FileSet of a HF-style model (config.json, safetensors, tokenizer files).
 *
 *   string / URL          http(s) → ranged reads (one tensor at a time), a .gguf or a directory URL
 *                         anything else: a path (Node) or a URL relative to the page (browser)
 *   ArrayBuffer / view    GGUF bytes in memory
 *   Blob / File           a GGUF file picked in the browser
 *   File[] / FileList     a model directory picked in the browser (or one .gguf among them)
 *   ByteSource / FileSet  already open sources (custom storage)
 */
import { GemmaError } from '../errors.js';
import type { FileSet } from '../format/store.js';
import { BlobSource, BufferSource, type ByteSource, UrlSource } from '../io/source.js';
import { cachedUrlSource, isCached } from './browser-cache.js';

export type ModelSource =
  | string | URL | ArrayBuffer | ArrayBufferView | Blob | ByteSource | FileSet
  | ArrayLike<Blob> | Iterable<Blob>;

export type ResolvedSource = { kind: 'gguf'; source: ByteSource; name: string } | { kind: 'fileset'; files: FileSet; name: string };

export type LoadProgressEvent =
  | { phase: 'backend'; backend: string; reason: string }
  | { phase: 'download'; file: string; loaded: number; total: number; cached: boolean }
  | { phase: 'weights'; done: number; total: number; tensor: string }
  | { phase: 'ready'; backend: string; ms: number };

export interface SourceOptions {
  fetch?: typeof fetch;
  /** browser: keep downloaded files in the Cache API (true = cache 'gemma-ts-models', or a cache name) */
  cache?: boolean | string;
  onProgress?: (e: LoadProgressEvent) => void;
  signal?: AbortSignal;
  /** platform hook: open a local path (Node) */
  openPath?: (path: string) => Promise<ResolvedSource>;
  /** base for relative URLs (browser: the page) */
  baseUrl?: string;
}

const GGUF_MAGIC = [0x47, 0x47, 0x55, 0x46]; // "GGUF"

function isByteSource(x: unknown): x is ByteSource {
  return typeof x === 'object' && x !== null && typeof (x as ByteSource).read === 'function' && typeof (x as ByteSource).size === 'number';
}
function isFileSet(x: unknown): x is FileSet {
  return typeof x === 'object' && x !== null && typeof (x as FileSet).open === 'function' && typeof (x as FileSet).has === 'function';
}
function isBlob(x: unknown): x is Blob {
  return typeof Blob !== 'undefined' && x instanceof Blob;
}
function baseName(p: string): string {
  const s = p.replace(/[?#].*$/, '').replace(/\/+$/, '');
  return s.slice(s.lastIndexOf('/') + 1) || s;
}
export function modelNameOf(name: string): string {
  const hub = /huggingface\.co\/(?:[^/]+)\/([^/]+)\/resolve\//.exec(name);
  if (hub) return hub[1]!;
  return baseName(name).replace(/\.gguf$/i, '') || 'gemma';
}

/** A ByteSource that reports bytes read as download progress. */
class CountingSource implements ByteSource {
  private loaded = 0;
  constructor(private readonly inner: ByteSource, private readonly report: (loaded: number, total: number) => void) {}
  get name(): string { return this.inner.name; }
  get size(): number { return this.inner.size; }
  async read(offset: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    const b = await this.inner.read(offset, length, into);
    this.loaded = Math.min(this.size, this.loaded + b.byteLength);
    this.report(this.loaded, this.size);
    return b;
  }
  async close(): Promise<void> { await this.inner.close?.(); }
}

/** Files picked in a browser (or any named Blobs) as a FileSet, keyed by base name. */
export function blobFileSet(blobs: Iterable<Blob> | ArrayLike<Blob>, name = 'files'): FileSet {
  const map = new Map<string, Blob>();
  for (const b of Array.from(blobs as ArrayLike<Blob>)) {
    const f = b as Blob & { name?: string; webkitRelativePath?: string };
    const n = baseName(f.name ?? '');
    if (!n) throw new GemmaError('BAD_ARGUMENT', 'every file of a model directory needs a name');
    if (map.has(n)) throw new GemmaError('DUPLICATE', `two files named ${n}`);
    map.set(n, b);
  }
  const dir = Array.from(blobs as ArrayLike<Blob>).map((b) => (b as { webkitRelativePath?: string }).webkitRelativePath ?? '').find(Boolean);
  return {
    name: dir ? dir.split('/')[0]! : name,
    has: async (f) => map.has(f),
    open: async (f) => {
      const b = map.get(f);
      if (!b) throw new GemmaError('IO', `no file ${f} among the chosen files`, { file: f });
      return new BlobSource(b, f);
    },
    list: async () => [...map.keys()],
  };
}

/** A model directory behind a base URL (…/resolve/main/ on the Hugging Face hub works). */
export function urlFileSet(base: string, o: SourceOptions): FileSet {
  const root = base.endsWith('/') ? base : base + '/';
  const f = unboundFetch(o);
  const cacheName = typeof o.cache === 'string' ? o.cache : undefined;
  const safe = (file: string) => {
    if (file.includes('/') || file.includes('\\') || file === '..' || file === '.') throw new GemmaError('BAD_ARGUMENT', `not a plain file name: ${file}`, { file: root });
    return new URL(encodeURIComponent(file), root).href;
  };
  return {
    name: root,
    has: async (file) => {
      if (o.cache && await isCached(safe(file), cacheName)) return true;
      try {
        const r = await f(safe(file), { headers: { Range: 'bytes=0-0' }, signal: o.signal });
        await r.body?.cancel().catch(() => {});
        return r.status === 200 || r.status === 206;
      } catch (cause) {
        throw new GemmaError('IO', `cannot reach ${safe(file)}`, { file: safe(file), cause });
      }
    },
    open: (file) => openUrl(safe(file), o),
  };
}

/**
 * fetch as a plain function: browsers throw "Illegal invocation" when window.fetch is called
 * as a method of another object (UrlSource keeps it as a field).
 */
function unboundFetch(o: SourceOptions): typeof fetch {
  const f = o.fetch;
  return f ? (input, init) => f(input, init) : (input, init) => globalThis.fetch(input, init);
}

async function openUrl(url: string, o: SourceOptions): Promise<ByteSource> {
  const report = (cached: boolean) => (loaded: number, total: number) => o.onProgress?.({ phase: 'download', file: url, loaded, total, cached });
  if (o.cache) {
    const c = await cachedUrlSource(url, { cacheName: typeof o.cache === 'string' ? o.cache : undefined, fetch: unboundFetch(o), signal: o.signal, onProgress: report(false) });
    if (c) return c;
  }
  return new CountingSource(await UrlSource.open(url, unboundFetch(o)), report(false));
}

async function startsWithGguf(src: ByteSource): Promise<boolean> {
  if (src.size < 4) return false;
  const b = await src.read(0, 4);
  return GGUF_MAGIC.every((m, i) => b[i] === m);
}

async function resolveUrl(url: string, o: SourceOptions): Promise<ResolvedSource> {
  const path = new URL(url).pathname;
  if (path.endsWith('/')) return { kind: 'fileset', files: urlFileSet(url, o), name: url };
  if (/\/config\.json$/i.test(path)) {
    const base = url.slice(0, url.lastIndexOf('/config.json') + 1);
    return { kind: 'fileset', files: urlFileSet(base, o), name: base };
  }
  if (/\.gguf$/i.test(path)) return { kind: 'gguf', source: await openUrl(url, o), name: url };
  // no telling suffix: a GGUF if it starts with the magic, else a directory
  let src: ByteSource | undefined;
  try { src = await openUrl(url, { ...o, cache: false }); } catch { src = undefined; }
  if (src && await startsWithGguf(src)) return { kind: 'gguf', source: src, name: url };
  await src?.close?.();
  return { kind: 'fileset', files: urlFileSet(url, o), name: url };
}

export async function resolveSource(src: ModelSource, o: SourceOptions = {}): Promise<ResolvedSource> {
  if (src instanceof URL) src = src.href;
  if (typeof src === 'string') {
    if (src.length === 0) throw new GemmaError('BAD_ARGUMENT', 'empty model source');
    if (/^(https?|blob|data):/i.test(src)) return resolveUrl(src, o);
    if (/^file:/i.test(src) && o.openPath) return o.openPath(decodeURIComponent(new URL(src).pathname));
    if (o.openPath) return o.openPath(src);
    if (o.baseUrl) return resolveUrl(new URL(src, o.baseUrl).href, o);
    throw new GemmaError('BAD_ARGUMENT', `cannot open ${JSON.stringify(src)} here: pass a URL, a File or an ArrayBuffer`);
  }
  if (src instanceof ArrayBuffer) return { kind: 'gguf', source: new BufferSource(new Uint8Array(src), 'model.gguf'), name: 'model' };
  if (ArrayBuffer.isView(src)) return { kind: 'gguf', source: new BufferSource(new Uint8Array(src.buffer, src.byteOffset, src.byteLength), 'model.gguf'), name: 'model' };
  if (isBlob(src)) { const b = new BlobSource(src); return { kind: 'gguf', source: b, name: baseName(b.name) }; }
  if (isByteSource(src)) return { kind: 'gguf', source: src, name: baseName(src.name) };
  if (isFileSet(src)) return { kind: 'fileset', files: src, name: baseName(src.name) };
  if (typeof src === 'object' && src !== null && (Symbol.iterator in src || 'length' in src)) {
    const blobs = Array.from(src as ArrayLike<Blob>);
    if (blobs.length === 0) throw new GemmaError('BAD_ARGUMENT', 'no files given');
    if (!blobs.every(isBlob)) throw new GemmaError('BAD_ARGUMENT', 'a file list must hold File/Blob objects');
    const ggufs = blobs.filter((b) => /\.gguf$/i.test((b as File).name ?? ''));
    const hasConfig = blobs.some((b) => baseName((b as File).name ?? '') === 'config.json');
    if (!hasConfig && (ggufs.length === 1 || blobs.length === 1)) {
      const b = new BlobSource(ggufs[0] ?? blobs[0]!);
      return { kind: 'gguf', source: b, name: baseName(b.name) };
    }
    const fs = blobFileSet(blobs);
    return { kind: 'fileset', files: fs, name: baseName(fs.name) };
  }
  throw new GemmaError('BAD_ARGUMENT', 'unsupported model source: pass a path, URL, File/Blob, file list, ArrayBuffer, ByteSource or FileSet');
}
