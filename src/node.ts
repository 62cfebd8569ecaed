/** Node helpers: load a model from a path (a .gguf file or a HF-style directory). */
import { stat } from 'node:fs/promises';
import { GemmaError } from './errors.js';
import { nodeDirFileSet } from './io/node-dir.js';
import { FileSource } from './io/node-file.js';
import { type Loaded, type LoadOptions, loadFileSet, loadGgufSource } from './load.js';

export async function loadPath(path: string, opts: LoadOptions): Promise<Loaded> {
  let st;
  try { st = await stat(path); } catch (cause) { throw new GemmaError('IO', `cannot open ${path}`, { file: path, cause }); }
  if (st.isDirectory()) return loadFileSet(nodeDirFileSet(path), opts);
  const src = await FileSource.open(path);
  try {
    return await loadGgufSource(src, opts);
  } catch (e) {
    await src.close();
    throw e;
  }
}
