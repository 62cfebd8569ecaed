/** `gemma-ts tokenize SOURCE --text "..."`: ids as JSON (BOS not added), or `--decode "[...]"`. */
import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { GemmaError } from '../../errors.js';
import { GemmaTokenizer, tokenizerFromFiles, type TokenizerFiles } from '../../tokenizer/index.js';
import { type Command, flagString, parseArgs, UsageError } from '../command.js';

async function readIfExists(path: string): Promise<Uint8Array | undefined> {
  try { return new Uint8Array(await readFile(path)); } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new GemmaError('IO', `cannot read ${path}: ${(e as Error).message}`, { file: path, cause: e });
  }
}

/** A model directory, a tokenizer.json / tokenizer.model file, or a GGUF file. */
export async function loadTokenizer(source: string): Promise<GemmaTokenizer> {
  let isDir: boolean;
  try { isDir = (await stat(source)).isDirectory(); } catch (e) {
    throw new GemmaError('IO', `cannot open ${source}: ${(e as Error).message}`, { file: source, cause: e });
  }
  if (isDir) {
    const files: TokenizerFiles = {};
    for (const f of ['tokenizer.json', 'tokenizer.model', 'tokenizer_config.json'] as const) {
      const b = await readIfExists(join(source, f));
      if (b) (files as Record<string, Uint8Array>)[f] = b;
    }
    return tokenizerFromFiles(files, source).tokenizer;
  }
  if (source.endsWith('.gguf')) {
    // loaded on demand: the GGUF reader is only needed for this source
    const [{ readGguf }, { FileSource }] = await Promise.all([import('../../format/gguf.js'), import('../../io/node-file.js')]);
    const src = await FileSource.open(source);
    try {
      const f = await readGguf(src);
      return GemmaTokenizer.fromGgufMetadata(f.metadata as Map<string, unknown>, basename(source));
    } finally { await src.close(); }
  }
  const bytes = (await readIfExists(source))!;
  if (source.endsWith('.json')) return GemmaTokenizer.fromTokenizerJson(bytes, basename(source));
  if (source.endsWith('.model')) return GemmaTokenizer.fromSentencePieceModel(bytes, basename(source));
  throw new UsageError(`${source}: expected a model directory, tokenizer.json, tokenizer.model or .gguf`);
}

export const tokenizeCommand: Command = {
  name: 'tokenize',
  summary: 'encode text to token ids (or decode ids) with a model\'s tokenizer',
  usage: `usage: gemma-ts tokenize SOURCE (--text TEXT | --file PATH | --decode JSON) [--literal] [--bos] [--skip-special]

SOURCE: a model directory (tokenizer.json, else tokenizer.model), a tokenizer.json or
tokenizer.model file, or a .gguf file.
  --text TEXT      print the ids of TEXT as a JSON array (no BOS; special-token text such as
                   <start_of_turn> is recognised, like HF encode with add_special_tokens=false)
  --file PATH      the same for a file's UTF-8 text
  --literal        treat special-token text as plain text
  --bos            prepend BOS
  --decode JSON    print the text of a JSON array of ids
  --skip-special   with --decode: leave out control tokens`,
  async run(argv) {
    const p = parseArgs(argv, ['literal', 'bos', 'skip-special']);
    const source = p.positionals[0];
    if (!source) throw new UsageError('SOURCE is required');
    const text = flagString(p, 'text');
    const file = flagString(p, 'file');
    const decode = flagString(p, 'decode');
    if ([text, file, decode].filter((x) => x !== undefined).length !== 1) throw new UsageError('give exactly one of --text, --file, --decode');
    const tok = await loadTokenizer(source);
    if (decode !== undefined) {
      let ids: unknown;
      try { ids = JSON.parse(decode); } catch { throw new UsageError('--decode expects a JSON array of ids'); }
      if (!Array.isArray(ids) || !ids.every((x) => Number.isInteger(x))) throw new UsageError('--decode expects a JSON array of integer ids');
      process.stdout.write(tok.decode(ids as number[], { skipSpecial: p.flags.has('skip-special') }) + '\n');
      return 0;
    }
    let input = text;
    if (file !== undefined) {
      const b = await readIfExists(file);
      if (!b) throw new GemmaError('IO', `no such file: ${file}`, { file });
      try { input = new TextDecoder('utf-8', { fatal: true }).decode(b); } catch {
        throw new GemmaError('BAD_ARGUMENT', `${file} is not valid UTF-8`, { file });
      }
    }
    const ids = tok.encode(input!, { allowSpecial: !p.flags.has('literal'), addBos: p.flags.has('bos') });
    process.stdout.write(JSON.stringify(ids) + '\n');
    return 0;
  },
};
