/**
 * Chat rendering against Python Jinja2 renders (../shared/fixtures/chat-templates), and the
 * ids of those renders against HF tokenizers (Rust) ids stored in the same fixture.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isGemmaError } from '../../src/errors.js';
import { BUILTIN_CHAT_TEMPLATES, GemmaTokenizer, IncrementalPromptEncoder, renderChat, type ChatMessage } from '../../src/tokenizer/index.js';
import { readVocabBytes, SHARED } from './helpers.js';

const DIR = join(SHARED, 'fixtures/chat-templates');
const fixture = JSON.parse(readFileSync(join(DIR, 'expected_renders.json'), 'utf8')) as {
  conversations: Record<string, ChatMessage[]>;
  renders: Record<string, Record<string, { output?: string; error?: string; prompt_ids?: number[]; huggingface_jinja?: { error: string } }>>;
};
const template = (f: string): string => readFileSync(join(DIR, f), 'utf8');

function renderError(f: () => unknown): Error {
  try { f(); } catch (e) { return e as Error; }
  throw new Error('expected an error');
}

describe('built-in templates', () => {
  it('are the published Gemma templates, byte for byte', () => {
    expect(BUILTIN_CHAT_TEMPLATES[1]).toBe(template('gemma-it-v1.jinja'));
    expect(BUILTIN_CHAT_TEMPLATES[2]).toBe(template('gemma-2-it.jinja'));
    expect(BUILTIN_CHAT_TEMPLATES[3]).toBe(template('gemma-3-it.jinja'));
  });
});

describe('renders equal Python Jinja2, byte for byte', () => {
  for (const [file, cases] of Object.entries(fixture.renders)) {
    for (const [conv, exp] of Object.entries(cases)) {
      it(`${file} / ${conv}`, () => {
        const run = (): string => renderChat(fixture.conversations[conv]!, { template: template(file), bosToken: '<bos>', eosToken: '<eos>', addGenerationPrompt: true });
        // Python stringifies list content for Gemma 1/2; @huggingface/jinja refuses: we report that as TEMPLATE
        const expectedError = exp.huggingface_jinja?.error ?? exp.error;
        if (expectedError !== undefined) {
          const e = renderError(run);
          expect(isGemmaError(e, 'TEMPLATE')).toBe(true);
          expect(e.message).toContain(expectedError.replace(/^TemplateError: /, ''));
        } else {
          expect(run()).toBe(exp.output);
        }
      });
    }
  }
});

describe('rendered prompts tokenize to the HF tokenizers (Rust) ids', () => {
  let g3: GemmaTokenizer, g2: GemmaTokenizer;
  beforeAll(() => {
    g3 = GemmaTokenizer.fromTokenizerJson(readVocabBytes('gemma3'));
    g2 = GemmaTokenizer.fromTokenizerJson(readVocabBytes('gemma2'));
  }, 60_000);
  it('every fixture render with prompt_ids', () => {
    let checked = 0;
    for (const [file, cases] of Object.entries(fixture.renders)) {
      for (const exp of Object.values(cases)) {
        if (!exp.prompt_ids || exp.output === undefined) continue;
        const tok = file.startsWith('gemma-3') ? g3 : g2;
        expect(tok.encode(exp.output)).toEqual(exp.prompt_ids);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(8);
  });
  it('stops on <eos> and <end_of_turn>', () => {
    expect([...g3.stopIds].sort()).toEqual([1, 106]);
    expect([...g2.stopIds].sort()).toEqual([1, 107]);
  });
});

describe('system messages', () => {
  const withSystem = fixture.conversations['system_user_assistant_user']!;
  const gemma3Expected = fixture.renders['gemma-3-it.jinja']!['system_user_assistant_user']!.output!;
  const llamaWithSystem = fixture.conversations['llamacpp_test_conversation_with_system']!;
  const gemma3Llama = fixture.renders['gemma-3-it.jinja']!['llamacpp_test_conversation_with_system']!.output!;

  it('Gemma 1/2 templates reject a system role with a clear TEMPLATE error that names foldSystem', () => {
    for (const family of [1, 2] as const) {
      const e = renderError(() => renderChat(withSystem, { family }));
      expect(isGemmaError(e, 'TEMPLATE')).toBe(true);
      expect(e.message).toMatch(/System role not supported/);
      expect(e.message).toMatch(/foldSystem/);
    }
  });

  it('foldSystem folds it into the first user turn exactly as Gemma 3 does (Python render of the Gemma 3 template)', () => {
    for (const family of [1, 2] as const) {
      expect(renderChat(withSystem, { family, foldSystem: true })).toBe(gemma3Expected);
      expect(renderChat(llamaWithSystem, { family, foldSystem: true })).toBe(gemma3Llama);
    }
  });

  it('foldSystem leaves a template that takes system messages alone', () => {
    expect(renderChat(withSystem, { family: 3, foldSystem: true })).toBe(gemma3Expected);
    expect(renderChat(withSystem, { family: 3 })).toBe(gemma3Expected);
  });

  it('a system message alone becomes a user turn when folded', () => {
    expect(renderChat([{ role: 'system', content: 'Be brief.' }], { family: 2, foldSystem: true }))
      .toBe('<bos><start_of_turn>user\nBe brief.<end_of_turn>\n<start_of_turn>model\n');
  });
});

describe('options and limits', () => {
  const conv: ChatMessage[] = [{ role: 'user', content: 'Hi' }];
  it('add_generation_prompt can be turned off; family 3 is the default', () => {
    expect(renderChat(conv, { addGenerationPrompt: false })).toBe('<bos><start_of_turn>user\nHi<end_of_turn>\n');
    expect(renderChat(conv)).toBe(renderChat(conv, { template: template('gemma-3-it.jinja') }));
  });
  it('a template that loops too long fails instead of hanging', () => {
    const e = renderError(() => renderChat(conv, { template: '{% for i in range(1000000000) %}x{% endfor %}' }));
    expect(isGemmaError(e, 'TEMPLATE')).toBe(true);
  });
  it('a template that does not parse is a TEMPLATE error', () => {
    expect(isGemmaError(renderError(() => renderChat(conv, { template: '{% for %}' })), 'TEMPLATE')).toBe(true);
  });
  it('the rendered size is bounded', () => {
    const e = renderError(() => renderChat([{ role: 'user', content: 'x'.repeat(5000) }], { maxChars: 1000 }));
    expect(isGemmaError(e, 'LIMIT')).toBe(true);
  });
  it('malformed messages are BAD_ARGUMENT', () => {
    expect(isGemmaError(renderError(() => renderChat([{ role: 'user' } as unknown as ChatMessage])), 'BAD_ARGUMENT')).toBe(true);
    expect(isGemmaError(renderError(() => renderChat('hi' as unknown as ChatMessage[])), 'BAD_ARGUMENT')).toBe(true);
  });
});

describe('multi-turn prompts reuse the tokenized prefix', () => {
  let tok: GemmaTokenizer;
  beforeAll(() => { tok = GemmaTokenizer.fromTokenizerJson(readVocabBytes('gemma3')); }, 60_000);

  it('each turn re-encodes only past the last turn marker, and the ids equal a full encode', () => {
    const enc = new IncrementalPromptEncoder(tok);
    const turns: ChatMessage[] = [];
    const replies = ['Hello there!  How can I help?', 'Two plus two is 4.', '東京 is Tokyo 😀'];
    const questions = ['Hi', 'What is 2+2?', 'Translate 東京', 'Thanks'];
    let prevLen = 0;
    for (let t = 0; t < questions.length; t++) {
      turns.push({ role: 'user', content: questions[t]! });
      const prompt = renderChat(turns, { family: 3 });
      const { ids, reused } = enc.encode(prompt);
      expect([...ids]).toEqual(tok.encode(prompt));
      if (t > 0) {
        // everything up to the previous prompt's last <start_of_turn> is kept
        expect(reused).toBeGreaterThan(prevLen - 4);
        expect(reused).toBeLessThan(ids.length);
      }
      prevLen = ids.length;
      if (t < replies.length) turns.push({ role: 'assistant', content: replies[t]! });
    }
  });

  it('random edits anywhere still give the full-encode ids', () => {
    const enc = new IncrementalPromptEncoder(tok);
    let text = '<start_of_turn>user\nabc  def<end_of_turn>\n<start_of_turn>model\nxyz<end_of_turn>\n';
    let seed = 7;
    const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
    const bits = ['<start_of_turn>', '<end_of_turn>', ' ', 'a', '\n', '😀', '<start_of_tur', 'n>', '  '];
    for (let k = 0; k < 200; k++) {
      const at = rnd(text.length + 1);
      text = rnd(3) === 0 ? text.slice(0, at) + text.slice(at + rnd(5)) : text.slice(0, at) + bits[rnd(bits.length)] + text.slice(at);
      expect([...enc.encode(text).ids]).toEqual(tok.encode(text));
    }
  });
});
