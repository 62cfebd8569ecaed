/**
 * A small protobuf writer for SentencePiece ModelProto, written from the .proto field
 * numbers for the tests (the engine only reads). Fields: pieces=1 {piece=1, score=2 (f32),
 * type=3}, trainer_spec=2 {model_type=3, byte_fallback=35, unk/bos/eos/pad_id=40..43},
 * normalizer_spec=3 {name=1, add_dummy_prefix=3, remove_extra_whitespaces=4, escape_whitespaces=5}.
 */
export interface ModelProtoInput {
  pieces: string[];
  scores: ArrayLike<number>;
  types: ArrayLike<number>;
  unkId: number; bosId: number; eosId: number; padId: number;
  byteFallback: boolean;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  modelType?: number; // 2 = BPE
  omitNormalizerSpec?: boolean;
}

export class ProtoWriter {
  private parts: number[] = [];
  varint(v: number): this {
    // int32 negatives are sign-extended to 64 bits: ten bytes
    if (v < 0) {
      let big = BigInt.asUintN(64, BigInt(v));
      for (let i = 0; i < 10; i++) { const b = Number(big & 0x7fn); big >>= 7n; this.parts.push(big > 0n ? b | 0x80 : b); }
      return this;
    }
    while (v >= 0x80) { this.parts.push((v % 128) | 0x80); v = Math.floor(v / 128); }
    this.parts.push(v);
    return this;
  }
  tag(field: number, wire: number): this { return this.varint(field * 8 + wire); }
  uint(field: number, v: number): this { return this.tag(field, 0).varint(v); }
  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.parts.push(...b);
    return this;
  }
  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2).varint(b.length);
    for (const x of b) this.parts.push(x);
    return this;
  }
  string(field: number, s: string): this { return this.bytes(field, new TextEncoder().encode(s)); }
  message(field: number, w: ProtoWriter): this { return this.bytes(field, w.finish()); }
  finish(): Uint8Array { return Uint8Array.from(this.parts); }
}

export function writeModelProto(m: ModelProtoInput): Uint8Array {
  const top = new ProtoWriter();
  for (let i = 0; i < m.pieces.length; i++) {
    const p = new ProtoWriter().string(1, m.pieces[i]!).float(2, m.scores[i]!);
    if (m.types[i] !== 1) p.uint(3, m.types[i]!); // NORMAL is the default: leave it out, as protobuf does
    top.message(1, p);
  }
  const trainer = new ProtoWriter().uint(3, m.modelType ?? 2).uint(4, m.pieces.length)
    .uint(35, m.byteFallback ? 1 : 0).uint(40, m.unkId).uint(41, m.bosId).uint(42, m.eosId).uint(43, m.padId);
  top.message(2, trainer);
  if (!m.omitNormalizerSpec) {
    top.message(3, new ProtoWriter().string(1, 'identity').uint(3, m.addDummyPrefix ? 1 : 0)
      .uint(4, m.removeExtraWhitespaces ? 1 : 0).uint(5, 1));
  }
  return top.finish();
}
