/**
 * Mutations of valid inputs. Every mutation is a pure function of (input, rng), so a case
 * is reproducible from its seed. Generic byte mutations (bit flips, truncation, length
 * inflation, splices) apply to every target; structure-aware ones aim at GGUF fields
 * (counts, lengths, dtypes, dimensions, offsets), the safetensors JSON header, JSON
 * documents (config.json, tokenizer.json, tokenizer_config.json) and Jinja templates.
 */
import { type Field, ggufFields } from './layout.js';

export type Rng = () => number;

export interface Mutated { bytes: Uint8Array; desc: string }

const int = (r: Rng, n: number): number => Math.floor(r() * n);
const pick = <T>(r: Rng, a: readonly T[]): T => a[int(r, a.length)]!;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Values that break length and count checks: sign bits, word boundaries, past-the-end sizes. */
function interesting(r: Rng, size: number, current: number, fileSize: number): bigint {
  const max = size === 8 ? 2n ** 64n - 1n : size === 4 ? 2n ** 32n - 1n : size === 2 ? 0xffffn : 0xffn;
  const c = BigInt(Math.max(0, Math.floor(current)));
  const options = [
    0n, 1n, 2n, 7n, 0x7fn, 0x80n, 0xffn, 0x7fffn, 0x8000n, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn,
    2n ** 32n, 2n ** 40n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n,
    c + 1n, c > 0n ? c - 1n : 0n, c * 2n, c * 256n, c + 32n, BigInt(fileSize), BigInt(fileSize) + 1n, BigInt(fileSize) * 2n,
    BigInt(fileSize) - c, 1000000000000n,
  ];
  return pick(r, options) & max;
}

function writeInt(b: Uint8Array, pos: number, size: number, v: bigint): void {
  for (let i = 0; i < size && pos + i < b.length; i++) b[pos + i] = Number((v >> BigInt(8 * i)) & 0xffn);
}

function readInt(b: Uint8Array, pos: number, size: number): number {
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + (b[pos + i] ?? 0);
  return v;
}

// ---------------------------------------------------------------- generic bytes

/** Positions near the start are where headers are: half the picks land in the first 4 KiB. */
function position(r: Rng, len: number): number {
  if (len === 0) return 0;
  return r() < 0.5 ? int(r, Math.min(len, 4096)) : int(r, len);
}

export function bitFlips(r: Rng, b: Uint8Array): Mutated {
  const out = b.slice();
  const n = 1 + int(r, 8);
  for (let i = 0; i < n && out.length; i++) { const p = position(r, out.length); out[p]! ^= 1 << int(r, 8); }
  return { bytes: out, desc: `bitflip x${n}` };
}

export function byteSets(r: Rng, b: Uint8Array): Mutated {
  const out = b.slice();
  const n = 1 + int(r, 4);
  for (let i = 0; i < n && out.length; i++) out[position(r, out.length)] = pick(r, [0, 1, 0x7f, 0x80, 0xff, 0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, int(r, 256)]);
  return { bytes: out, desc: `byteset x${n}` };
}

export function truncate(r: Rng, b: Uint8Array): Mutated {
  const n = position(r, b.length);
  return { bytes: b.slice(0, n), desc: `truncate to ${n} of ${b.length}` };
}

export function inflate(r: Rng, b: Uint8Array): Mutated {
  const out = b.slice();
  const size = pick(r, [4, 8, 8]);
  const pos = r() < 0.7 ? Math.floor(position(r, out.length) / size) * size : position(r, out.length);
  const v = interesting(r, size, readInt(out, pos, size), b.length);
  writeInt(out, pos, size, v);
  return { bytes: out, desc: `inflate u${size * 8} at ${pos} = ${v}` };
}

/** Insert, delete, duplicate or overwrite a range, with bytes from this input or another one. */
export function splice(r: Rng, b: Uint8Array, others: Uint8Array[]): Mutated {
  const donor = others.length && r() < 0.4 ? pick(r, others) : b;
  const len = 1 + int(r, r() < 0.8 ? 64 : 4096);
  const from = int(r, Math.max(1, donor.length - len));
  const chunk = donor.subarray(from, from + len);
  const at = position(r, b.length);
  const op = int(r, 4);
  let out: Uint8Array;
  if (op === 0) out = concat(b.subarray(0, at), chunk, b.subarray(at));
  else if (op === 1) out = concat(b.subarray(0, at), b.subarray(Math.min(b.length, at + len)));
  else if (op === 2) out = concat(b.subarray(0, at + chunk.length > b.length ? at : at + chunk.length), b.subarray(at));
  else { out = b.slice(); out.set(chunk.subarray(0, Math.max(0, out.length - at)), at); }
  return { bytes: out, desc: `splice ${['insert', 'delete', 'duplicate', 'overwrite'][op]} ${len} bytes at ${at}${donor !== b ? ' (from another file)' : ''}` };
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

export function generic(r: Rng, b: Uint8Array, others: Uint8Array[]): Mutated {
  switch (int(r, 5)) {
    case 0: return bitFlips(r, b);
    case 1: return byteSets(r, b);
    case 2: return truncate(r, b);
    case 3: return inflate(r, b);
    default: return splice(r, b, others);
  }
}

// ---------------------------------------------------------------- GGUF fields

const fieldCache = new WeakMap<Uint8Array, Field[]>();
function fieldsOf(b: Uint8Array): Field[] {
  let f = fieldCache.get(b);
  if (!f) { f = ggufFields(b); fieldCache.set(b, f); }
  return f;
}

const GGML_IDS = [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 20, 24, 28, 30, 31, 39, 40, 255, 0x7fffffff, 0xffffffff];

export function ggufMutation(r: Rng, b: Uint8Array): Mutated {
  const fields = fieldsOf(b);
  const out = b.slice();
  const kind = int(r, 6);
  const of = (k: Field['kind'][]) => fields.filter((f) => k.includes(f.kind));
  if (kind === 0) {
    // a count or a length claims more (or less) than is there
    const f = pick(r, of(['tensor_count', 'kv_count', 'key_len', 'str_len', 'array_len', 'name_len', 'n_dims']));
    const v = interesting(r, f.size, readInt(b, f.pos, f.size), b.length);
    writeInt(out, f.pos, f.size, v);
    return { bytes: out, desc: `gguf ${f.kind}${f.key ? ` (${f.key})` : ''} = ${v}` };
  }
  if (kind === 1) {
    const f = pick(r, of(['ggml_type']));
    const v = r() < 0.3 ? readInt(b, pick(r, of(['ggml_type'])).pos, 4) : pick(r, GGML_IDS);
    writeInt(out, f.pos, 4, BigInt(v));
    return { bytes: out, desc: `gguf dtype of ${f.key} = ${v}` };
  }
  if (kind === 2) {
    const ne = of(['ne']);
    const f = pick(r, ne);
    const cur = readInt(b, f.pos, 8);
    const v = r() < 0.3 ? BigInt(readInt(b, pick(r, ne).pos, 8)) : pick(r, [0n, 1n, BigInt(cur + 1), BigInt(Math.max(0, cur - 1)), BigInt(cur * 2), BigInt(cur / 2 | 0), 2n ** 32n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 31n, 3n]);
    writeInt(out, f.pos, 8, v);
    return { bytes: out, desc: `gguf shape of ${f.key}: ne = ${v}` };
  }
  if (kind === 3) {
    const offs = of(['offset']);
    const f = pick(r, offs);
    const cur = readInt(b, f.pos, 8);
    const v = pick(r, [0n, BigInt(cur + 32), BigInt(Math.max(0, cur - 32)), BigInt(cur + 1), BigInt(readInt(b, pick(r, offs).pos, 8)), 2n ** 63n, 2n ** 64n - 32n, BigInt(b.length)]);
    writeInt(out, f.pos, 8, v);
    return { bytes: out, desc: `gguf offset of ${f.key} = ${v}` };
  }
  if (kind === 4) {
    const f = pick(r, of(['value_type', 'array_type']));
    const v = pick(r, [0, 1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 0xffffffff]);
    writeInt(out, f.pos, 4, BigInt(v));
    return { bytes: out, desc: `gguf ${f.kind} of ${f.key} = ${v}` };
  }
  // a metadata scalar (head counts, lengths, token ids, alignment...) gets an odd value
  const f = pick(r, of(['scalar']));
  const v = interesting(r, f.size, readInt(b, f.pos, f.size), b.length);
  writeInt(out, f.pos, f.size, v);
  return { bytes: out, desc: `gguf scalar ${f.key} = ${v}` };
}

// ---------------------------------------------------------------- JSON documents

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const ODD_VALUES: (() => Json)[] = [
  () => null, () => true, () => false, () => 0, () => -1, () => 1, () => 2 ** 31, () => 2 ** 32, () => 2 ** 53, () => 2 ** 53 + 2,
  () => 1e308, () => -1e308, () => 1.5, () => -0.5, () => 1e-300, () => '', () => 'x', () => 'a'.repeat(100_000),
  () => '\u0000\ud800', () => [], () => ({}), () => [1, 2, 3], () => ({ a: 1 }), () => '<bos>', () => 'linear',
  () => Array.from({ length: 10_000 }, (_, i) => i),
];

/** Every path in a JSON value (containers and leaves), at most `limit` of them (uniform by reservoir). */
function paths(root: Json, r: Rng, limit = 4096): (string | number)[][] {
  const out: (string | number)[][] = [];
  let seen = 0;
  const stack: { v: Json; p: (string | number)[] }[] = [{ v: root, p: [] }];
  while (stack.length) {
    const { v, p } = stack.pop()!;
    seen++;
    if (out.length < limit) out.push(p); else { const j = int(r, seen); if (j < limit) out[j] = p; }
    if (Array.isArray(v)) v.forEach((x, i) => stack.push({ v: x, p: [...p, i] }));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) stack.push({ v: x, p: [...p, k] });
  }
  return out;
}

function getAt(root: Json, p: (string | number)[]): Json {
  let v: Json = root;
  for (const k of p) v = (v as Record<string, Json>)[k as string]!;
  return v;
}

function deepNest(depth: number, open: string, close: string, inner = '1'): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

export function jsonMutation(r: Rng, b: Uint8Array): Mutated {
  let root: Json;
  try { root = JSON.parse(dec.decode(b)) as Json; } catch { return generic(r, b, []); }
  const op = int(r, 7);
  if (op === 5) {
    // deep nesting and duplicate keys need the text itself
    const text = dec.decode(b);
    const at = text.indexOf('{') + 1;
    if (r() < 0.5) {
      const depth = pick(r, [100, 300, 10_000, 200_000, 2_000_000]);
      const nest = r() < 0.5 ? deepNest(depth, '[', ']') : deepNest(depth, '{"a":', '}');
      if (r() < 0.5) return { bytes: enc.encode(text.slice(0, at) + `"deep":${nest},` + text.slice(at)), desc: `json nested ${depth} deep` };
      // in place of a value the reader parses (a normalizer, a chat template, a dtype...)
      const q = pick(r, paths(root, r).filter((x) => x.length > 0 && x.length < 4));
      if (!q) return { bytes: b, desc: 'json unchanged' };
      const parent = getAt(root, q.slice(0, -1)) as Record<string, Json>;
      parent[q[q.length - 1] as string] = '\u0000DEEP';
      return { bytes: enc.encode(JSON.stringify(root).replace('"\\u0000DEEP"', nest)), desc: `json ${q.join('.').slice(0, 80)} nested ${depth} deep` };
    }
    const keys = Object.keys(root as object);
    const k = keys.length ? pick(r, keys) : 'x';
    const v = JSON.stringify(ODD_VALUES[int(r, ODD_VALUES.length)]!());
    return { bytes: enc.encode(text.slice(0, at) + `${JSON.stringify(k)}:${v},` + text.slice(at)), desc: `json duplicate key ${k}` };
  }
  if (op === 6) { const g = generic(r, b, []); return { bytes: g.bytes, desc: `json bytes: ${g.desc}` }; }
  const all = paths(root, r);
  const p = pick(r, all);
  if (p.length === 0) return { bytes: enc.encode(JSON.stringify(ODD_VALUES[int(r, ODD_VALUES.length)]!())), desc: 'json root replaced' };
  const parent = getAt(root, p.slice(0, -1)) as Record<string, Json> | Json[];
  const key = p[p.length - 1]!;
  const where = p.join('.').slice(0, 120);
  if (op === 0 || op === 1) {
    const v = ODD_VALUES[int(r, ODD_VALUES.length)]!();
    (parent as Record<string, Json>)[key as string] = v;
    return { bytes: enc.encode(JSON.stringify(root)), desc: `json ${where} = ${JSON.stringify(v).slice(0, 40)}` };
  }
  if (op === 2) {
    if (Array.isArray(parent)) parent.splice(key as number, 1); else delete parent[key as string];
    return { bytes: enc.encode(JSON.stringify(root)), desc: `json delete ${where}` };
  }
  if (op === 3) {
    // swap with another value somewhere in the document (a shape for an offset, a piece for an id...)
    const q = pick(r, all);
    const other = q.length ? getAt(root, q) : null;
    (parent as Record<string, Json>)[key as string] = structuredClone(other);
    return { bytes: enc.encode(JSON.stringify(root)), desc: `json ${where} = value of ${q.join('.').slice(0, 80)}` };
  }
  // numbers nudged: off by one, doubled, negated
  const cur = getAt(root, p);
  const v = typeof cur === 'number' ? pick(r, [cur + 1, cur - 1, cur * 2, -cur, cur * 1e6, cur + 0.5]) : pick(r, [0, -1, 1e9]);
  (parent as Record<string, Json>)[key as string] = v;
  return { bytes: enc.encode(JSON.stringify(root)), desc: `json ${where}: ${JSON.stringify(cur)?.slice(0, 30)} -> ${v}` };
}

// ---------------------------------------------------------------- safetensors header

export function safetensorsMutation(r: Rng, b: Uint8Array): Mutated {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const hlen = Number(dv.getBigUint64(0, true));
  const header = JSON.parse(dec.decode(b.subarray(8, 8 + hlen))) as Record<string, { dtype: Json; shape: Json; data_offsets: Json }>;
  const data = b.subarray(8 + hlen);
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const name = pick(r, names);
  const t = header[name]!;
  const other = header[pick(r, names)]!;
  const op = int(r, 8);
  let desc: string;
  if (op === 0) { t.dtype = pick(r, ['F32', 'F16', 'BF16', 'I8', 'U8', 'F64', 'I64', 'F8_E4M3', 'Q4', '', 'f32', 7, null]); desc = `dtype of ${name} = ${JSON.stringify(t.dtype)}`; }
  else if (op === 1) {
    const shape = (t.shape as number[]).slice();
    const i = int(r, Math.max(1, shape.length));
    shape[i] = pick(r, [0, 1, -1, 1.5, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 1e300, (shape[i] ?? 1) * 2, (shape[i] ?? 1) + 1]);
    t.shape = shape; desc = `shape of ${name} = ${JSON.stringify(shape)}`;
  } else if (op === 2) { t.shape = structuredClone(other.shape); desc = `shape of ${name} = shape of another tensor`; }
  else if (op === 3) {
    const [a, z] = t.data_offsets as [number, number];
    t.data_offsets = pick(r, [[z, a], [a + 1, z + 1], [a - 4, z - 4], [a, z + 4], [0, z - a], [a, data.length + 4], [-4, z], [a, 2 ** 53], [a + 0.5, z], [a], 'x']);
    desc = `data_offsets of ${name} = ${JSON.stringify(t.data_offsets)}`;
  } else if (op === 4) { t.data_offsets = structuredClone(other.data_offsets); desc = `data_offsets of ${name} = another tensor's (overlap)`; }
  else if (op === 5) { delete header[name]; desc = `tensor ${name} removed`; }
  else if (op === 6) { (header as Record<string, unknown>)['__metadata__'] = pick(r, [[], 'x', { a: 1 }, { format: { deep: [1] } }, null]); desc = `__metadata__ = ${JSON.stringify(header['__metadata__'])}`; }
  else if (op === 7 && r() < 0.15) {
    // the same tensor twice (JSON.parse would keep the second silently)
    const json = JSON.stringify(header);
    const entry = `${JSON.stringify(name)}:${JSON.stringify(other)}`;
    return withHeader(enc.encode(json.replace('{', `{${entry},`)), data, `tensor ${name} given twice`, r);
  }
  else if (op === 7 && r() < 0.3) {
    // deep nesting: JSON.parse time grows ~2 µs per level, and the header may be 100 MB
    const depth = pick(r, [1000, 100_000, 3_000_000]);
    (header as Record<string, unknown>)['__deep__'] = DEEP;
    const json = JSON.stringify(header).replace('"__deep__":"DEEP"', `"__deep__":${'['.repeat(depth)}${']'.repeat(depth)}`);
    return withHeader(enc.encode(json), data, `header nested ${depth} deep`);
  }
  else { (header as Record<string, unknown>)[name] = pick(r, [null, 1, 'x', [], {}]); desc = `entry ${name} = ${JSON.stringify(header[name])}`; }
  return withHeader(enc.encode(JSON.stringify(header)), data, desc, r);
}

const DEEP = 'DEEP';

/** header JSON + data, with a length prefix that is right, or off by a little, or a lie */
function withHeader(json: Uint8Array, data: Uint8Array, desc: string, r?: Rng): Mutated {
  const out = new Uint8Array(8 + json.length + data.length);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  const lenRoll = r ? r() : 0;
  const len = !r || lenRoll < 0.8 ? BigInt(json.length) : lenRoll < 0.9 ? BigInt(json.length + pick(r, [-1, 1, 8, -8])) : interesting(r, 8, json.length, out.length);
  new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, len), true);
  return { bytes: out, desc: `safetensors ${desc}${len !== BigInt(json.length) ? `, header length ${len}` : ''}` };
}

// ---------------------------------------------------------------- Jinja templates

/** Templates that try to hang, exhaust memory or leave the sandbox. */
export const HOSTILE_TEMPLATES: string[] = [
  '{% for i in range(1000000000) %}x{% endfor %}',
  '{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}',
  '{% for i in range(99999) %}{% for j in range(99999) %}x{% endfor %}{% endfor %}',
  "{{ 'a' * 1000000000 }}",
  "{{ 'a' * 10**9 }}",
  "{{ ''.__class__ }}",
  "{{ ''.__class__.__mro__[1].__subclasses__() }}",
  '{{ messages.__class__.__init__.__globals__ }}',
  "{{ raise_exception.constructor('return process')() }}",
  "{{ range.constructor('return globalThis.process.exit(3)')() }}",
  "{{ messages.constructor.constructor('return process')() }}",
  "{{ messages['constructor']['constructor']('return process')() }}",
  "{{ messages[0].content.constructor.fromCharCode(65) }}",
  "{{ messages.__proto__ }}{{ messages['__proto__']['polluted'] }}",
  '{{ cycler.__init__.__globals__.os.popen("id").read() }}',
  '{{ self.__init__.__globals__ }}',
  '{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}',
  '{% macro f(n) %}{{ f(n + 1) }}{{ f(n + 1) }}{% endmacro %}{{ f(1) }}',
  "{% set ns = namespace(s='ab') %}{% for i in range(100) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s|length }}",
  "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|upper|length }}",
  '{% set ns = namespace(a=[1]) %}{% for i in range(64) %}{% set ns.a = ns.a + ns.a %}{% endfor %}{{ ns.a|length }}',
  "{{ range(100000)|join(range(100000)|join(',')) }}",
  "{{ messages[0]['content']|indent(400000000) }}",
  '{{ messages|tojson(indent=400000000) }}',
  '{{ "a\nb"|indent(300000000, true) }}',
  "{{ strftime_now('%Y' * 100000) }}",
  '{% for m in messages %}{% for m2 in messages %}{% for m3 in range(100000) %}{{ m3 }}{% endfor %}{% endfor %}{% endfor %}',
  '{{ ' + '('.repeat(100_000) + '1' + ')'.repeat(100_000) + ' }}',
  '{% if true %}'.repeat(50_000) + 'x' + '{% endif %}'.repeat(50_000),
  '{{ [' + '['.repeat(50_000) + ']'.repeat(50_000) + '] }}',
  '{{ ' + 'x.'.repeat(100_000) + 'y }}',
  '{{ "' + 'a'.repeat(1 << 20) + '" }}',
  '{%- for message in messages -%}{{ message["content"] }}' + '{{ "x" }}'.repeat(20000) + '{%- endfor -%}',
  '{% set x = range(100000) %}{% for a in x %}{% for b in x %}{% endfor %}{% endfor %}',
  '{{ range(100000)|list|tojson }}',
  '{% for i in range(100000) %}{% set ns = namespace(a=range(100000)|list) %}{% endfor %}',
  '{{ messages[::0] }}{{ messages[::-1] }}',
  '{% for x in "abc"*100 %}{% endfor %}',
  '{% raw %}{{ unclosed',
  '{% for %}',
  '{{',
  '{% endfor %}',
  '{# unclosed comment',
];

const JINJA_FRAGMENTS = [
  '{{', '}}', '{%', '%}', '{#', '#}', '{%-', '-%}', '{% for m in messages %}', '{% endfor %}', '{% if ', '{% endif %}', '{% else %}',
  '{% set x = ', '{{ x }}', '{% macro m() %}', '{% endmacro %}', '{{ m() }}', 'range(', ')', '(', '[', ']', "'", '"', '|', '|trim', '|length',
  '|tojson', '|indent(', '.', '[0]', "['content']", 'messages', 'loop.index0', 'raise_exception(', 'namespace(', '**', '*', '~', '+', ' and ',
  ' or ', ' not ', ' is ', ' in ', '1000000000', '-1', '0', 'none', 'true', '{% break %}', '{% continue %}', '{% call %}', '{% filter upper %}',
  '{% endfilter %}', '{% generation %}', '\n', ' ', '\\', '{% raw %}', '{% endraw %}',
];

export function templateMutation(r: Rng, b: Uint8Array): Mutated {
  const roll = r();
  if (roll < 0.15) {
    const i = int(r, HOSTILE_TEMPLATES.length);
    return { bytes: enc.encode(HOSTILE_TEMPLATES[i]!), desc: `hostile template #${i}` };
  }
  let text = dec.decode(b);
  if (roll < 0.3) {
    // a hostile template spliced into a real one
    const h = pick(r, HOSTILE_TEMPLATES);
    const at = int(r, text.length + 1);
    return { bytes: enc.encode(text.slice(0, at) + h + text.slice(at)), desc: `hostile template spliced at ${at}` };
  }
  if (roll < 0.85) {
    const n = 1 + int(r, 4);
    const ops: string[] = [];
    for (let k = 0; k < n; k++) {
      const at = int(r, text.length + 1);
      const op = int(r, 3);
      if (op === 0) { const f = pick(r, JINJA_FRAGMENTS); text = text.slice(0, at) + f + text.slice(at); ops.push(`insert ${JSON.stringify(f)} at ${at}`); }
      else if (op === 1) { const len = 1 + int(r, 40); text = text.slice(0, at) + text.slice(at + len); ops.push(`delete ${len} at ${at}`); }
      else { const len = 1 + int(r, 200); const from = int(r, text.length); text = text.slice(0, at) + text.slice(from, from + len) + text.slice(at); ops.push(`duplicate ${len} at ${at}`); }
    }
    return { bytes: enc.encode(text), desc: `template ${ops.join(', ')}` };
  }
  return generic(r, b, []);
}
