/** Node file sink (kept out of browser bundles): model files streamed to disk. */
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { GemmaError } from '../errors.js';

/** chunks smaller than this are gathered into one write */
const GATHER = 1 << 20;

/**
 * Write `chunks` to `path` and return the number of bytes written. The file is written as
 * `path.partial` and renamed to `path` only when every chunk is on disk, so a failure leaves
 * no half-written `path` (and no `path.partial`; an existing `path` is left as it was).
 *
 * Each write is awaited before the next chunk is pulled (back-pressure without stream events:
 * nothing can wait for a 'drain' that a failed stream never sends, and no 'error' event can go
 * unhandled). A file that cannot be created or written gives GemmaError('IO'); an error thrown
 * by the chunk source (a tensor that cannot be quantized, say) is rethrown as it is.
 */
export async function writeFileChunks(path: string, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<number> {
  const tmp = `${path}.partial`;
  let fh: FileHandle;
  try {
    fh = await open(tmp, 'w');
  } catch (cause) {
    throw new GemmaError('IO', `cannot create ${tmp}: ${(cause as Error).message}`, { file: path, cause });
  }
  let bytes = 0;
  let ok = false;
  try {
    const put = async (b: Uint8Array) => {
      try {
        for (let done = 0; done < b.byteLength;) done += (await fh.write(b, done, b.byteLength - done)).bytesWritten;
      } catch (cause) {
        throw new GemmaError('IO', `writing ${tmp} failed: ${(cause as Error).message}`, { file: path, cause });
      }
      bytes += b.byteLength;
    };
    let gather: Uint8Array | null = null;
    let fill = 0;
    const flush = async () => { if (fill) { await put(gather!.subarray(0, fill)); fill = 0; } };
    for await (const c of chunks) {
      if (c.byteLength >= GATHER) { await flush(); await put(c); continue; }
      if (fill + c.byteLength > GATHER) await flush();
      gather ??= new Uint8Array(GATHER);
      gather.set(c, fill);
      fill += c.byteLength;
    }
    await flush();
    ok = true;
  } finally {
    const closed = fh.close().catch((cause: unknown) => {
      if (ok) throw new GemmaError('IO', `closing ${tmp} failed: ${(cause as Error).message}`, { file: path, cause });
    });
    if (!ok) { await closed.catch(() => {}); await rm(tmp, { force: true }); }
    else await closed;
  }
  try {
    await rename(tmp, path);
  } catch (cause) {
    await rm(tmp, { force: true });
    throw new GemmaError('IO', `cannot rename ${tmp} to ${path}: ${(cause as Error).message}`, { file: path, cause });
  }
  return bytes;
}
