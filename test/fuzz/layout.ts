/**
 * Where the fields of a valid GGUF file are, so that mutations can aim at them (a length
 * inflated, a dtype or a dimension swapped). Written from the GGUF spec for the fuzzer,
 * independently of src/format/gguf.ts:
 *
 *   u32 magic | u32 version | u64 n_tensors | u64 n_kv
 *   n_kv x { u64 key_len, key | u32 type | value }        value: scalar | u64 len + bytes | u32 elem_type + u64 n + n values
 *   n_tensors x { u64 name_len, name | u32 n_dims | u64 ne[n_dims] | u32 ggml_type | u64 offset }
 */
export type FieldKind =
  | 'tensor_count' | 'kv_count' | 'key_len' | 'value_type' | 'str_len' | 'array_type' | 'array_len' | 'scalar'
  | 'name_len' | 'n_dims' | 'ne' | 'ggml_type' | 'offset';

export interface Field { kind: FieldKind; pos: number; size: 1 | 2 | 4 | 8; key?: string }

const SCALAR: Record<number, 1 | 2 | 4 | 8> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

export function ggufFields(b: Uint8Array): Field[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Field[] = [];
  let p = 8;
  const u32 = (kind: FieldKind, key?: string) => { out.push({ kind, pos: p, size: 4, key }); const v = dv.getUint32(p, true); p += 4; return v; };
  const u64 = (kind: FieldKind, key?: string) => { out.push({ kind, pos: p, size: 8, key }); const v = Number(dv.getBigUint64(p, true)); p += 8; return v; };
  const str = (kind: FieldKind, key?: string) => { const n = u64(kind, key); const s = new TextDecoder().decode(b.subarray(p, p + n)); p += n; return s; };
  const value = (t: number, key: string): void => {
    if (t === 8) { str('str_len', key); return; }
    if (t === 9) {
      const at = u32('array_type', key);
      const n = u64('array_len', key);
      for (let i = 0; i < n; i++) {
        if (at === 8) str('str_len', key);
        else if (at === 9) value(9, key);
        else { if (i < 4) out.push({ kind: 'scalar', pos: p, size: SCALAR[at]!, key }); p += SCALAR[at]!; }
      }
      return;
    }
    out.push({ kind: 'scalar', pos: p, size: SCALAR[t]!, key });
    p += SCALAR[t]!;
  };
  const nT = u64('tensor_count');
  const nKv = u64('kv_count');
  for (let i = 0; i < nKv; i++) {
    const key = str('key_len');
    value(u32('value_type', key), key);
  }
  for (let i = 0; i < nT; i++) {
    const name = str('name_len');
    const nd = u32('n_dims', name);
    for (let d = 0; d < nd; d++) u64('ne', name);
    u32('ggml_type', name);
    u64('offset', name);
  }
  return out;
}
