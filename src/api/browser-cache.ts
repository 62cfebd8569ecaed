/**
 * Browser caching of downloaded model files in the Cache API.
 *
 * First load: the response body streams straight into the cache (never one big buffer),
 * counting bytes for progress; then the cached entry is read back as a Blob, which browsers
 * keep on disk, and parsed with ranged slices like any Blob. Later loads skip the network.
 * A file that does not fit the origin's storage quota fails with GemmaError('LIMIT') saying
 * how much is needed and how much is free; `cache: false` streams it without caching.
 */
import { GemmaError } from '../errors.js';
import { BlobSource, type ByteSource } from '../io/source.js';

export const DEFAULT_CACHE_NAME = 'gemma-ts-models';

export interface CacheOptions {
  cacheName?: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  onProgress?: (loaded: number, total: number) => void;
}

interface StorageLike { estimate?(): Promise<{ quota?: number; usage?: number }> }

function cacheStorage(): CacheStorage | undefined {
  return (globalThis as { caches?: CacheStorage }).caches;
}

function mib(n: number): string { return `${(n / 2 ** 20).toFixed(1)} MiB`; }

function isQuotaError(e: unknown): boolean {
  const name = (e as { name?: string })?.name ?? '';
  return name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED' || /quota/i.test(String((e as Error)?.message ?? ''));
}

/**
 * A ByteSource over the cached copy of `url`, downloading it into the cache first when needed.
 * Returns undefined where there is no Cache API (Node, insecure origins): stream instead.
 */
export async function cachedUrlSource(url: string, o: CacheOptions = {}): Promise<ByteSource | undefined> {
  const storage = cacheStorage();
  if (!storage) return undefined;
  let cache: Cache;
  try { cache = await storage.open(o.cacheName ?? DEFAULT_CACHE_NAME); } catch { return undefined; }
  let hit = await cache.match(url);
  if (!hit) {
    const f = o.fetch ?? fetch;
    let res: Response;
    try { res = await f(url, { signal: o.signal }); } catch (cause) { throw new GemmaError('IO', `cannot fetch ${url}`, { file: url, cause }); }
    if (!res.ok || !res.body) throw new GemmaError('IO', `HTTP ${res.status} fetching ${url}`, { file: url });
    const total = Number(res.headers.get('content-length') ?? 0) || 0;
    const est = await ((globalThis as { navigator?: { storage?: StorageLike } }).navigator?.storage?.estimate?.().catch(() => undefined));
    if (total > 0 && est?.quota !== undefined && est.usage !== undefined && total > est.quota - est.usage) {
      await res.body.cancel().catch(() => {});
      throw new GemmaError('LIMIT', `not enough browser storage to cache ${url}: it needs ${mib(total)}, ${mib(Math.max(0, est.quota - est.usage))} of ${mib(est.quota)} is free (free space, or load with cache: false to stream it without caching)`, { file: url });
    }
    let loaded = 0;
    const counter = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, ctl) { loaded += chunk.byteLength; o.onProgress?.(loaded, total || loaded); ctl.enqueue(chunk); },
    });
    const headers = new Headers({ 'content-type': res.headers.get('content-type') ?? 'application/octet-stream' });
    if (total) headers.set('content-length', String(total));
    try {
      await cache.put(url, new Response(res.body.pipeThrough(counter), { status: 200, headers }));
    } catch (e) {
      await cache.delete(url).catch(() => false);
      if (isQuotaError(e)) {
        throw new GemmaError('LIMIT', `browser storage quota exceeded while caching ${url} (${mib(loaded)} written${est?.quota ? `, quota ${mib(est.quota)}` : ''}); free space, or load with cache: false to stream it without caching`, { file: url, cause: e });
      }
      if (o.signal?.aborted) throw new GemmaError('ABORTED', 'loading was aborted', { file: url, cause: e });
      throw new GemmaError('IO', `caching ${url} failed: ${(e as Error).message}`, { file: url, cause: e });
    }
    hit = await cache.match(url);
    if (!hit) throw new GemmaError('IO', `the browser did not keep ${url} in its cache`, { file: url });
  } else {
    const n = Number(hit.headers.get('content-length') ?? 0);
    o.onProgress?.(n, n);
  }
  return new BlobSource(await hit.blob(), url);
}

/** Remove cached model files (all of them, or those whose URL contains `match`). Returns how many. */
export async function clearModelCache(match?: string, cacheName = DEFAULT_CACHE_NAME): Promise<number> {
  const storage = cacheStorage();
  if (!storage) return 0;
  const cache = await storage.open(cacheName);
  let n = 0;
  for (const req of await cache.keys()) {
    if (match === undefined || req.url.includes(match)) { if (await cache.delete(req)) n++; }
  }
  return n;
}

/** Whether `url` is in the model cache. */
export async function isCached(url: string, cacheName = DEFAULT_CACHE_NAME): Promise<boolean> {
  const storage = cacheStorage();
  if (!storage) return false;
  try { return !!(await (await storage.open(cacheName)).match(url)); } catch { return false; }
}
