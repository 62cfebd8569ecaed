/** Node file source (kept out of browser bundles). */
import { open, type FileHandle } from 'node:fs/promises';
import { GemmaError } from '../errors.js';
import { type ByteSource, checkRange } from './source.js';

export class FileSource implements ByteSource {
  private constructor(readonly name: string, readonly size: number, private fh: FileHandle) {}

  static async open(path: string): Promise<FileSource> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (cause) {
      throw new GemmaError('IO', `cannot open ${path}: ${(cause as Error).message}`, { file: path, cause });
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new Error('not a regular file');
      return new FileSource(path, st.size, fh);
    } catch (cause) {
      await fh.close().catch(() => {});
      throw new GemmaError('IO', `cannot read ${path}: ${(cause as Error).message}`, { file: path, cause });
    }
  }

  async read(offset: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    checkRange(this, offset, length);
    const buf = into && into.byteLength >= length ? into.subarray(0, length) : new Uint8Array(length);
    let done = 0;
    while (done < length) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await this.fh.read(buf, done, length - done, offset + done));
      } catch (cause) {
        throw new GemmaError('IO', `read of ${length} bytes at ${offset} failed: ${(cause as Error).message}`, { file: this.name, cause });
      }
      if (bytesRead === 0) throw new GemmaError('TRUNCATED', `file ended early at ${offset + done}`, { file: this.name });
      done += bytesRead;
    }
    return buf;
  }

  async close(): Promise<void> { await this.fh.close(); }
}
