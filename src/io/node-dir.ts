/** A model directory on disk as a FileSet (Node only). */
import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileSet } from '../format/store.js';
import { GemmaError } from '../errors.js';
import { FileSource } from './node-file.js';

export function nodeDirFileSet(dir: string): FileSet {
  const safe = (f: string) => {
    if (f.includes('/') || f.includes('\\') || f === '..' || f === '.') throw new GemmaError('BAD_ARGUMENT', `not a plain file name: ${f}`, { file: dir });
    return join(dir, f);
  };
  return {
    name: dir,
    has: async (f) => access(safe(f)).then(() => true, () => false),
    open: (f) => FileSource.open(safe(f)),
    list: () => readdir(dir),
  };
}
