/**
 * Byte sources: where model bytes come from. Loaders only ever ask for ranges,
 * so a file path, an HTTP URL with Range requests, a browser Blob/File and an
 * in-memory buffer all look the same.
 */
import { GemmaError } from '../errors.js';

export interface ByteSource {
  /** name used in error messages (path, URL, file name) */
  readonly name: string;
  /** total size in bytes */
  readonly size: number;
  /**
   * Read exactly `length` bytes at `offset`; throws GemmaError('TRUNCATED') past the end.
   * `into` (at least `length` bytes) is a buffer the caller lends: a source that can read in
   * place fills into.subarray(0, length) and returns that view, others return their own
   * array. (A model load reuses two such buffers instead of a fresh one per tensor: each fresh
   * page costs a fault, as much as the read itself on the machines we measured.)
   */
  read(offset: number, length: number, into?: Uint8Array): Promise<Uint8Array>;
  close?(): Promise<void>;
}

export function checkRange(src: { name: string; size: number }, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new GemmaError('BAD_ARGUMENT', `invalid byte range offset=${offset} length=${length}`, { file: src.name });
  }
  if (offset + length > src.size) {
    throw new GemmaError('TRUNCATED', `read of ${length} bytes at offset ${offset} runs past the end (${src.size} bytes)`, { file: src.name });
  }
}

export class BufferSource implements ByteSource {
  readonly size: number;
  constructor(readonly bytes: Uint8Array, readonly name = '<buffer>') { this.size = bytes.byteLength; }
  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this, offset, length);
    return this.bytes.subarray(offset, offset + length);
  }
}

export class BlobSource implements ByteSource {
  readonly size: number;
  readonly name: string;
  constructor(readonly blob: Blob, name?: string) {
    this.size = blob.size;
    this.name = name ?? ((blob as { name?: string }).name ?? '<blob>');
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this, offset, length);
    return new Uint8Array(await this.blob.slice(offset, offset + length).arrayBuffer());
  }
}

/** HTTP(S) source using Range requests. `open` does one HEAD (or ranged GET) to learn the size. */
export class UrlSource implements ByteSource {
  private constructor(readonly name: string, readonly size: number, private readonly fetchImpl: typeof fetch) {}

  static async open(url: string, fetchArg?: typeof fetch): Promise<UrlSource> {
    // never call a browser's fetch as a method of another object ("Illegal invocation")
    const fetchImpl: typeof fetch = fetchArg ?? ((input, init) => fetch(input, init));
    let res: Response;
    try {
      res = await fetchImpl(url, { headers: { Range: 'bytes=0-0' } });
    } catch (cause) {
      throw new GemmaError('IO', `cannot fetch ${url}`, { file: url, cause });
    }
    if (res.status !== 206 && res.status !== 200) throw new GemmaError('IO', `HTTP ${res.status} fetching ${url}`, { file: url });
    let size: number | undefined;
    const cr = res.headers.get('content-range');
    if (cr) { const m = /\/(\d+)\s*$/.exec(cr); if (m) size = Number(m[1]); }
    if (size === undefined && res.status === 200) {
      const cl = res.headers.get('content-length');
      if (cl) size = Number(cl);
    }
    await res.body?.cancel().catch(() => {});
    if (size === undefined || !Number.isSafeInteger(size)) throw new GemmaError('IO', `server did not report a size for ${url} (Range requests needed)`, { file: url });
    return new UrlSource(url, size, fetchImpl);
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this, offset, length);
    if (length === 0) return new Uint8Array(0);
    let res: Response;
    try {
      res = await this.fetchImpl(this.name, { headers: { Range: `bytes=${offset}-${offset + length - 1}` } });
    } catch (cause) {
      throw new GemmaError('IO', `range read failed`, { file: this.name, cause });
    }
    if (res.status !== 206) throw new GemmaError('IO', `HTTP ${res.status} for a Range request (server must support Range)`, { file: this.name });
    const buf = new Uint8Array(await res.arrayBuffer());
    if (buf.byteLength !== length) throw new GemmaError('TRUNCATED', `range read returned ${buf.byteLength} of ${length} bytes`, { file: this.name });
    return buf;
  }
}
