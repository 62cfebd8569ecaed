/**
 * A JSON reader over UTF-8 bytes that walks the structure without building it.
 * tokenizer.json for Gemma 3 is 33 MB, almost all of it the vocab and merges; JSON.parse
 * would build a 262k-key object and 515k two-string arrays only for us to copy them.
 * Here the caller steps through objects and arrays, reads the strings and numbers it
 * needs, takes raw byte spans (for hashing without decoding) and skips the rest.
 * Every malformed input ends in GemmaError('TOKENIZER'), with the byte offset.
 */
import { GemmaError } from '../errors.js';
import { jsonDepth, MAX_JSON_DEPTH } from '../format/json-depth.js';

const Q = 0x22, BS = 0x5c;

export class JsonScanner {
  pos = 0;
  /** scratch UTF-16 units for string decoding */
  private units = new Uint16Array(256);

  constructor(readonly b: Uint8Array, private readonly file = 'tokenizer.json') {}

  fail(what: string): never {
    throw new GemmaError('TOKENIZER', `malformed JSON: ${what} at byte ${this.pos}`, { file: this.file });
  }

  ws(): void {
    const b = this.b;
    let p = this.pos;
    while (p < b.length) {
      const c = b[p]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      p++;
    }
    this.pos = p;
  }

  peek(): number { this.ws(); return this.pos < this.b.length ? this.b[this.pos]! : -1; }

  expect(c: number): void {
    if (this.peek() !== c) this.fail(`expected '${String.fromCharCode(c)}'`);
    this.pos++;
  }

  /** After a value inside an object/array: true if a ',' followed, false at the closing bracket. */
  more(close: number): boolean {
    const c = this.peek();
    if (c === 0x2c) { this.pos++; return true; }
    if (c === close) { this.pos++; return false; }
    return this.fail(`expected ',' or '${String.fromCharCode(close)}'`);
  }

  /** Opens an object; returns false if it is empty (and consumes the '}'). */
  openObject(): boolean {
    this.expect(0x7b);
    if (this.peek() === 0x7d) { this.pos++; return false; }
    return true;
  }

  openArray(): boolean {
    this.expect(0x5b);
    if (this.peek() === 0x5d) { this.pos++; return false; }
    return true;
  }

  /** Reads `"key":` and returns the key. */
  key(): string {
    const k = this.string();
    this.expect(0x3a);
    return k;
  }

  /**
   * The raw bytes of a string (between the quotes) without decoding; sets `spanEscaped`
   * when it holds a backslash. Leaves pos after the closing quote.
   */
  spanEscaped = false;
  stringSpan(): number {
    if (this.peek() !== Q) this.fail('expected a string');
    const b = this.b;
    let p = ++this.pos;
    let escaped = false;
    for (;;) {
      if (p >= b.length) { this.pos = p; this.fail('unterminated string'); }
      const c = b[p]!;
      if (c === Q) break;
      if (c === BS) { escaped = true; p += 2; continue; }
      if (c < 0x20) { this.pos = p; this.fail('control character in string'); }
      p++;
    }
    const start = this.pos;
    this.pos = p + 1;
    this.spanEscaped = escaped;
    return start;
  }

  string(): string {
    const start = this.stringSpan();
    return this.decodeSpan(start, this.pos - 1);
  }

  /** Decode string bytes [start, end) (inside the quotes), JSON escapes and UTF-8. */
  decodeSpan(start: number, end: number): string {
    const b = this.b;
    if (this.units.length < end - start) this.units = new Uint16Array(Math.max(end - start, this.units.length * 2));
    const u = this.units;
    let n = 0;
    let p = start;
    while (p < end) {
      const c = b[p]!;
      if (c < 0x80) {
        if (c !== BS) { u[n++] = c; p++; continue; }
        const e = b[p + 1];
        p += 2;
        switch (e) {
          case Q: u[n++] = Q; break;
          case BS: u[n++] = BS; break;
          case 0x2f: u[n++] = 0x2f; break;
          case 0x62: u[n++] = 8; break;
          case 0x66: u[n++] = 12; break;
          case 0x6e: u[n++] = 10; break;
          case 0x72: u[n++] = 13; break;
          case 0x74: u[n++] = 9; break;
          case 0x75: {
            let v = 0;
            for (let k = 0; k < 4; k++) {
              const h = hex(b[p + k] ?? -1);
              if (h < 0) { this.pos = p; this.fail('bad \\u escape'); }
              v = v * 16 + h;
            }
            u[n++] = v; p += 4; break;
          }
          default: this.pos = p; this.fail('bad escape');
        }
        continue;
      }
      // multi-byte UTF-8 → one or two UTF-16 units
      let cp: number, len: number;
      if (c >= 0xc2 && c < 0xe0) { cp = c & 0x1f; len = 2; }
      else if (c >= 0xe0 && c < 0xf0) { cp = c & 0x0f; len = 3; }
      else if (c >= 0xf0 && c < 0xf5) { cp = c & 0x07; len = 4; }
      else { this.pos = p; this.fail('invalid UTF-8'); }
      if (p + len > end) { this.pos = p; this.fail('invalid UTF-8'); }
      for (let k = 1; k < len; k++) {
        const cc = b[p + k]!;
        if ((cc & 0xc0) !== 0x80) { this.pos = p; this.fail('invalid UTF-8'); }
        cp = (cp << 6) | (cc & 0x3f);
      }
      if ((len === 3 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) || (len === 4 && (cp < 0x10000 || cp > 0x10ffff))) {
        this.pos = p; this.fail('invalid UTF-8');
      }
      p += len;
      if (cp >= 0x10000) { cp -= 0x10000; u[n++] = 0xd800 + (cp >> 10); u[n++] = 0xdc00 + (cp & 0x3ff); }
      else u[n++] = cp;
    }
    return unitsToString(u, n);
  }

  /** A JSON number (we only need integers and plain decimals). */
  number(): number {
    this.ws();
    const b = this.b;
    const start = this.pos;
    let p = start;
    while (p < b.length) {
      const c = b[p]!;
      if ((c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45) p++;
      else break;
    }
    if (p === start) this.fail('expected a number');
    let s = '';
    for (let k = start; k < p; k++) s += String.fromCharCode(b[k]!);
    const v = Number(s);
    if (!Number.isFinite(v)) this.fail('bad number');
    this.pos = p;
    return v;
  }

  /** Non-negative integer, fast path for ids. */
  uint(): number {
    this.ws();
    const b = this.b;
    let p = this.pos;
    let v = 0;
    const start = p;
    while (p < b.length) {
      const c = b[p]!;
      if (c < 0x30 || c > 0x39) break;
      v = v * 10 + (c - 0x30);
      p++;
    }
    if (p === start || p - start > 15) this.fail('expected a non-negative integer');
    const c = b[p];
    if (c === 0x2e || c === 0x65 || c === 0x45) this.fail('expected an integer');
    this.pos = p;
    return v;
  }

  /** Skips any value (iteratively, so deep nesting cannot overflow the stack). */
  skip(): void {
    let depth = 0;
    do {
      const c = this.peek();
      if (c === Q) this.stringSpan();
      else if (c === 0x7b || c === 0x5b) { this.pos++; depth++; }
      else if (c === 0x7d || c === 0x5d) { this.pos++; depth--; }
      else if (c === 0x2c || c === 0x3a) { if (depth === 0) this.fail('unexpected separator'); this.pos++; }
      else if (c === 0x74) this.literal('true');
      else if (c === 0x66) this.literal('false');
      else if (c === 0x6e) this.literal('null');
      else if (c === -1) this.fail('unexpected end');
      else this.number();
      if (depth < 0) this.fail('unbalanced brackets');
    } while (depth > 0);
  }

  /** Parses one (small) value with JSON.parse. */
  value(): unknown {
    this.ws();
    const start = this.pos;
    this.skip();
    // JSON.parse takes ~2 µs per nesting level (and a deep value would overflow JSON.stringify later)
    if (jsonDepth(this.b.subarray(start, this.pos)) < 0) { this.pos = start; this.fail(`value nested deeper than ${MAX_JSON_DEPTH}`); }
    try {
      const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(this.b.subarray(start, this.pos));
      return JSON.parse(text);
    } catch (e) {
      this.pos = start;
      return this.fail(`value: ${(e as Error).message}`);
    }
  }

  private literal(word: string): void {
    for (let k = 0; k < word.length; k++) {
      if (this.b[this.pos + k] !== word.charCodeAt(k)) this.fail(`expected ${word}`);
    }
    this.pos += word.length;
  }

  atEnd(): boolean { this.ws(); return this.pos >= this.b.length; }
}

function hex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

function unitsToString(u: Uint16Array, n: number): string {
  // fromCharCode over an array gives a flat string (hashing it later is cheap); `+=` would build ropes
  if (n <= 8192) return String.fromCharCode.apply(null, u.subarray(0, n) as unknown as number[]);
  let s = '';
  for (let i = 0; i < n; i += 8192) s += String.fromCharCode.apply(null, u.subarray(i, Math.min(n, i + 8192)) as unknown as number[]);
  return s;
}
