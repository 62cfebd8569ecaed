/**
 * A seeded corpus of test strings for tokenizer parity: every category the issue names,
 * plus random mixtures. Deterministic (mulberry32), so failures reproduce.
 */
import { mulberry32 } from '../../src/util/rng.js';

export { mulberry32 };

const WORDS = ['the', 'quick', 'brown', 'fox', 'jumps', 'over', 'lazy', 'dog', 'Hello', 'world', 'tokenizer', 'Gemma',
  'model', 'inference', 'don\'t', 'U.S.A.', 'e-mail', 'naïve', 'café', 'résumé', 'Zürich', 'straße', 'İstanbul', 'ÆØÅ',
  'internationalization', 'pneumonoultramicroscopicsilicovolcanoconiosis', 'I', 'a', 'CamelCaseWord', 'snake_case_word',
  '123', '3.14159', '1,000,000', '2024-05-17', '0x1F', '$99.99', '50%', '#hashtag', '@user', 'https://example.com/a?b=c&d=e'];
const CODE = ['def f(x):\n    return x ** 2\n', 'for (let i = 0; i < n; i++) {\n\tsum += a[i];\n}', '#include <stdio.h>\nint main(void) { printf("hi\\n"); }',
  'SELECT * FROM t WHERE id = 42;', '<div class="a"><span>text</span></div>', '{"key": [1, 2, 3], "nested": {"x": null}}',
  'fn main() -> Result<(), Box<dyn Error>> { Ok(()) }', '    if x:\n        pass\n    else:\n        raise ValueError("no")',
  'const re = /^[a-z]+$/gi;', 'a <= b && c >= d || !e', 'x += 1  # comment', '```python\nprint("x")\n```', '$ npm install --save-dev vitest'];
const SCRIPTS = ['東京は日本の首都です。', '我爱自然语言处理', '한국어 텍스트 처리', 'カタカナとひらがな', 'مرحبا بالعالم', 'שלום עולם',
  'नमस्ते दुनिया', 'สวัสดีชาวโลก', 'Привет, мир!', 'Γειά σου Κόσμε', 'Xin chào thế giới', 'Բարեւ աշխարհ', 'ሰላም ለዓለም',
  'გამარჯობა მსოფლიო', 'ᠮᠣᠩᠭᠣᠯ', 'ꦲꦤꦕꦫꦏ', '𠀋𠂢𠂤𪚥', '𓀀𓀁𓀂'];
const EMOJI = ['😀', '👍🏽', '👨‍👩‍👧‍👦', '🇯🇵', '🏳️‍🌈', '❤️', '🤖', '🦄✨', '1️⃣', '🧑🏿‍🚀', '☃', '♥', '⚡'];
const COMBINING = ['e\u0301', 'a\u0308\u0304', 'n\u0303', '\u0301', 'Z\u0351\u0352\u0353\u0354', 'ก\u0e34\u0e48', 'क\u094d\u0937'];
const SPECIAL = ['<start_of_turn>', '<end_of_turn>', '<bos>', '<eos>', '<pad>', '<unk>', '<mask>', '<start_of_image>', '<end_of_image>',
  '<image_soft_token>', '<unused0>', '<unused42>', '<table>', '</table>', '<h1>', '<start_of_tur', '<<bos>>', '<end_of_turn', '[multimodal]', '<0x41>', '<b>bold</b>'];
const RARE = ['\u0000', '\u0001', '\u001f', '\u007f', '\u0085', '\u00a0', '\u200b', '\u200d', '\u2028', '\ufeff', '\ufffd', '\ue000', '\uf8ff',
  '\u{f0000}', '\u{10fffd}', '\u{1d54f}', '\u{e0041}', '\u3000', '\u202e', '\u{1f9ff}', '\u{2fa1d}', '\u{1b000}'];

function pick<T>(r: () => number, a: readonly T[]): T { return a[Math.floor(r() * a.length)]!; }
function int(r: () => number, lo: number, hi: number): number { return lo + Math.floor(r() * (hi - lo + 1)); }

function spaces(r: () => number): string {
  const k = r();
  if (k < 0.5) return ' ';
  if (k < 0.7) return ' '.repeat(int(r, 2, 8));
  if (k < 0.8) return '\t'.repeat(int(r, 1, 3));
  if (k < 0.9) return '\n'.repeat(int(r, 1, 4));
  return pick(r, [' \t ', '\r\n', ' \n ', '\u3000', '\u00a0', '  \t\t\n']);
}

function piece(r: () => number): string {
  const k = r();
  if (k < 0.45) return pick(r, WORDS);
  if (k < 0.55) return pick(r, SCRIPTS);
  if (k < 0.62) return pick(r, EMOJI);
  if (k < 0.67) return pick(r, COMBINING);
  if (k < 0.74) return pick(r, SPECIAL);
  if (k < 0.80) return pick(r, RARE);
  if (k < 0.88) return String(int(r, 0, 10 ** int(r, 1, 12)));
  if (k < 0.94) return pick(r, CODE);
  return String.fromCodePoint(randomCodePoint(r));
}

/** Any scalar value, weighted to the BMP. */
function randomCodePoint(r: () => number): number {
  for (;;) {
    const cp = r() < 0.8 ? int(r, 0x20, 0xffff) : int(r, 0x10000, 0x10ffff);
    if (cp < 0xd800 || cp > 0xdfff) return cp;
  }
}

export interface CorpusOptions { seed?: number; count?: number }

export function makeCorpus({ seed = 1234, count = 2200 }: CorpusOptions = {}): string[] {
  const r = mulberry32(seed);
  const out: string[] = [
    '', ' ', '  ', '\n', '\t', 'a', ' a', 'a ', ' a ', '\n\n\n', ' \n ',
    ...WORDS, ...CODE, ...SCRIPTS, ...EMOJI, ...COMBINING, ...SPECIAL, ...RARE,
    // long runs
    ' '.repeat(31), ' '.repeat(32), ' '.repeat(100), '\n'.repeat(31), '\n'.repeat(64), '\t'.repeat(40), 'a'.repeat(500),
    '1234567890'.repeat(20), '='.repeat(80), '-'.repeat(120), '😀'.repeat(30), '東'.repeat(50), '\u0301'.repeat(20),
    '<start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n', '<bos><start_of_turn>user\n<start_of_image>What is this?<end_of_turn>\n',
    'x'.repeat(3000) + ' y',
  ];
  while (out.length < count) {
    const k = r();
    let s = '';
    if (k < 0.6) {
      // a sentence-like mixture
      const n = int(r, 1, 14);
      for (let i = 0; i < n; i++) s += (i > 0 ? spaces(r) : '') + piece(r);
      if (r() < 0.3) s = spaces(r) + s;
      if (r() < 0.3) s += spaces(r);
    } else if (k < 0.8) {
      // character soup from a random code point pool
      const pool = Array.from({ length: int(r, 2, 12) }, () => String.fromCodePoint(randomCodePoint(r)));
      pool.push(' ', '\n');
      const n = int(r, 1, 40);
      for (let i = 0; i < n; i++) s += pick(r, pool);
    } else if (k < 0.9) {
      // whitespace-heavy
      const n = int(r, 1, 10);
      for (let i = 0; i < n; i++) s += spaces(r) + (r() < 0.5 ? pick(r, WORDS) : '');
    } else {
      // special tokens glued to text
      const n = int(r, 1, 6);
      for (let i = 0; i < n; i++) s += (r() < 0.5 ? pick(r, SPECIAL) : '') + pick(r, WORDS) + (r() < 0.3 ? spaces(r) : '');
    }
    out.push(s);
  }
  return out;
}

/** Texts for which decode(encode(s)) must give back s: not holding U+2581, which decodes to a space. */
export function roundTrips(s: string): boolean {
  return !s.includes('\u2581');
}
