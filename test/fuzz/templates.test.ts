/**
 * Chat templates are code from model files. Every hostile template (endless or nested
 * loops, exponential recursion, doubling strings and lists, huge indents, sandbox escapes)
 * must end quickly in GemmaError('TEMPLATE' or 'LIMIT'), or render text that leaks nothing
 * from the JavaScript side; the published Gemma templates must still render long
 * conversations.
 */
import { describe, expect, it } from 'vitest';
import { GemmaError } from '../../src/errors.js';
import { BUILTIN_CHAT_TEMPLATES, type ChatMessage, renderChat } from '../../src/tokenizer/index.js';
import { HOSTILE_TEMPLATES } from './mutate.js';

const MESSAGES: ChatMessage[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Hi' },
  { role: 'assistant', content: 'Hello!' },
  { role: 'user', content: 'line one\nline two' },
];

function outcome(template: string, messages = MESSAGES): { code: string; ms: number; text?: string } {
  const t0 = performance.now();
  try {
    const text = renderChat(messages, { template, foldSystem: true });
    return { code: 'ok', ms: performance.now() - t0, text };
  } catch (e) {
    if (!(e instanceof GemmaError)) throw e;
    return { code: e.code, ms: performance.now() - t0 };
  }
}

describe('hostile chat templates', () => {
  it.each(HOSTILE_TEMPLATES.map((t, i) => [i, t] as const))('#%i ends in a GemmaError or harmless text, within the time budget', (_, template) => {
    const r = outcome(template);
    // 1 s budget for the system-role probe or the render (the probe rethrows), plus one builtin
    // loop, parsing, and slack for a loaded 2-core CI machine
    expect(r.ms).toBeLessThan(5000);
    if (r.code === 'ok') {
      // no function source, object dumps, or process details: the sandbox shows only Jinja values
      expect(r.text!.length).toBeLessThan(1 << 20);
      expect(r.text).not.toMatch(/function|native code|\[object|process|globalThis|uid=/);
    } else {
      expect(['TEMPLATE', 'LIMIT']).toContain(r.code);
    }
  });

  it('loops, recursion and growth are stopped by the budget, not by luck', () => {
    const stopped = [
      '{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}',
      '{% set x = range(100000) %}{% for a in x %}{% for b in x %}{% endfor %}{% endfor %}',
      '{% macro g() %}{% for i in range(100000) %}{% endfor %}{% endmacro %}{% for i in range(100000) %}{{ g() }}{% endfor %}',
      "{{ messages[0]['content']|indent(400000000) }}",
      '{{ messages|tojson(indent=400000000) }}',
    ];
    for (const t of stopped) {
      let err: GemmaError | undefined;
      try { renderChat(MESSAGES, { template: t, foldSystem: true }); } catch (e) { err = e as GemmaError; }
      expect(err, t).toBeInstanceOf(GemmaError);
      expect(err!.code, t).toBe('TEMPLATE');
      expect(err!.message, t).toMatch(/ran more than \d+ steps|ran longer than \d+ ms|width \d+ is over/);
    }
  });

  it('strings and lists that double in a loop hit the size limit (LIMIT) before memory runs out', () => {
    for (const t of [
      "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|upper|length }}",
      '{% set ns = namespace(a=[1]) %}{% for i in range(64) %}{% set ns.a = ns.a + ns.a %}{% endfor %}{{ ns.a|length }}',
    ]) {
      let err: GemmaError | undefined;
      try { renderChat(MESSAGES, { template: t }); } catch (e) { err = e as GemmaError; }
      expect(err, t).toBeInstanceOf(GemmaError);
      expect(err!.code, t).toBe('LIMIT');
      expect(err!.message, t).toMatch(/built a (string|list) of/);
    }
  });

  it('the size limit is the caller\'s maxChars', () => {
    const t = "{% set ns = namespace(s='abcdefgh') %}{% for i in range(12) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}";
    expect(renderChat(MESSAGES, { template: t, maxChars: 1 << 15 })).toHaveLength(8 << 12);
    expect(() => renderChat(MESSAGES, { template: t, maxChars: 1 << 14 })).toThrow(/string of 32768 characters/);
  });

  it('the Gemma templates still render 3000-message conversations', () => {
    const msgs: ChatMessage[] = Array.from({ length: 3000 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `message ${i}` }));
    for (const f of [1, 2, 3] as const) {
      const text = renderChat(msgs, { template: BUILTIN_CHAT_TEMPLATES[f] });
      // independent count: one turn marker per message, plus the generation prompt
      expect(text.split('<start_of_turn>').length - 1).toBe(3001);
    }
  });
});
