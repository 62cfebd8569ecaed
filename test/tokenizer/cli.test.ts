/** `gemma-ts tokenize`: every source kind, --text / --decode / --literal / --bos. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { tokenizeCommand } from '../../src/cli/commands/tokenize.js';
import { ggufToBuffer, ggufTyped, writeGguf } from '../../src/format/gguf.js';
import { GemmaTokenizer } from '../../src/tokenizer/index.js';
import { SHARED, vocabPath } from './helpers.js';
import { writeModelProto } from './proto-writer.js';

async function run(args: string[]): Promise<string> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => { out += String(chunk); return true; });
  try { expect(await tokenizeCommand.run(args)).toBe(0); } finally { spy.mockRestore(); }
  return out;
}

afterEach(() => vi.restoreAllMocks());

describe('gemma-ts tokenize', () => {
  it('a model directory: the ids HF tokenizers (Rust) gives for a Gemma 3 chat render', async () => {
    const fx = JSON.parse(readFileSync(join(SHARED, 'fixtures/chat-templates/expected_renders.json'), 'utf8'));
    const exp = fx.renders['gemma-3-it.jinja']['system_user_assistant_user'];
    const dir = join(vocabPath('gemma3'), '..');
    expect(JSON.parse(await run([dir, '--text', exp.output]))).toEqual(exp.prompt_ids);
    expect(await run([dir, '--decode', JSON.stringify(exp.prompt_ids)])).toBe(exp.output + '\n');
    expect(await run([dir, '--decode', JSON.stringify(exp.prompt_ids), '--skip-special'])).not.toContain('<start_of_turn>');
  }, 60_000);

  it('tokenizer.model, .gguf and tokenizer.json files give the same ids; --literal and --bos work', async () => {
    const pieces = ['<pad>', '<eos>', '<bos>', '<unk>', '<start_of_turn>', 'a', 'b', 'ab', '▁', '▁a', ...Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)];
    const types = pieces.map((p, i) => (i < 3 ? 3 : i === 3 ? 2 : i === 4 ? 4 : p.startsWith('<0x') ? 6 : 1));
    const scores = pieces.map((_, i) => -i);
    const tok = GemmaTokenizer.fromPieces({ pieces, scores, types });
    const dir = mkdtempSync(join(tmpdir(), 'gemma-tok-'));
    writeFileSync(join(dir, 'tokenizer.model'), writeModelProto({ pieces, scores, types, unkId: 3, bosId: 2, eosId: 1, padId: 0,
      byteFallback: true, addDummyPrefix: false, removeExtraWhitespaces: false }));
    const meta = new Map([...tok.toGgufMetadata()].map(([k, v]) => [k, ggufTyped(v as never)]));
    meta.set('general.architecture', ggufTyped('gemma3'));
    writeFileSync(join(dir, 'tok.gguf'), await ggufToBuffer(writeGguf(meta, [])));
    writeFileSync(join(dir, 'tokenizer.json'), tok.toTokenizerJson());
    const text = 'ab a<start_of_turn>é';
    const want = tok.encode(text);
    expect(want).toContain(4);
    for (const src of [join(dir, 'tokenizer.model'), join(dir, 'tok.gguf'), join(dir, 'tokenizer.json'), dir]) {
      expect(JSON.parse(await run([src, '--text', text])), src).toEqual(want);
    }
    expect(JSON.parse(await run([join(dir, 'tok.gguf'), '--text', text, '--literal']))).not.toContain(4);
    expect(JSON.parse(await run([join(dir, 'tok.gguf'), '--text', 'a', '--bos']))).toEqual([2, 5]);
  });

  it('usage errors', async () => {
    await expect(tokenizeCommand.run([])).rejects.toThrow(/SOURCE/);
    await expect(tokenizeCommand.run(['x'])).rejects.toThrow(/exactly one/);
    await expect(tokenizeCommand.run(['/no/such/dir', '--text', 'a'])).rejects.toMatchObject({ code: 'IO' });
  });
});
