/**
 * tokenizer.model: SentencePiece's ModelProto (protobuf, proto2), read by hand.
 *
 *   ModelProto      1: repeated SentencePiece pieces  2: TrainerSpec  3: NormalizerSpec
 *   SentencePiece   1: string piece  2: float score  3: Type type (default NORMAL)
 *   TrainerSpec     3: model_type (default UNIGRAM)  35: byte_fallback  40-43: unk/bos/eos/pad id
 *   NormalizerSpec  1: name  2: precompiled_charsmap  3: add_dummy_prefix (default true)
 *                   4: remove_extra_whitespaces (default true)  5: escape_whitespaces (default true)
 *
 * Every length is checked against the bytes that remain, so a corrupt file ends in
 * GemmaError('TOKENIZER') and never in a large allocation or a loop.
 */
import { GemmaError } from '../errors.js';
import { MAX_VOCAB, PieceType } from './pieces.js';

const FILE = 'tokenizer.model';
const MODEL_TYPE_BPE = 2;

export interface SentencePieceModel {
  pieces: string[];
  scores: Float32Array;
  types: Uint8Array;
  modelType: number;
  byteFallback: boolean;
  unkId: number;
  bosId: number;
  eosId: number;
  padId: number;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
  normalizerName: string;
  hasCharsMap: boolean;
}

function corrupt(what: string, at: number): never {
  throw new GemmaError('TOKENIZER', `corrupt SentencePiece model: ${what} at byte ${at}`, { file: FILE });
}

/** A cursor over one protobuf message [pos, end). */
class Proto {
  constructor(readonly b: Uint8Array, public pos: number, readonly end: number) {}

  done(): boolean { return this.pos >= this.end; }

  /** varint as a number: exact up to 2^53; int32 fields use `int32()` */
  varint(): number {
    let result = 0, mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) corrupt('truncated varint', this.pos);
      const c = this.b[this.pos++]!;
      result += (c & 0x7f) * mul;
      if (c < 0x80) return result;
      mul *= 128;
    }
    return corrupt('varint longer than 10 bytes', this.pos);
  }

  /** int32 fields: negative values are written as 10-byte two's complement varints */
  int32(): number {
    let lo = 0;
    for (let i = 0, shift = 0; i < 10; i++, shift += 7) {
      if (this.pos >= this.end) corrupt('truncated varint', this.pos);
      const c = this.b[this.pos++]!;
      if (shift < 32) lo |= (c & 0x7f) << shift;
      if (c < 0x80) return lo | 0;
    }
    return corrupt('varint longer than 10 bytes', this.pos);
  }

  bytes(): Proto {
    const len = this.varint();
    if (len > this.end - this.pos) corrupt(`length ${len} past the end`, this.pos);
    const sub = new Proto(this.b, this.pos, this.pos + len);
    this.pos += len;
    return sub;
  }

  float(): number {
    if (this.end - this.pos < 4) corrupt('truncated float', this.pos);
    const v = new DataView(this.b.buffer, this.b.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  skip(wire: number): void {
    switch (wire) {
      case 0: this.varint(); return;
      case 1: if (this.end - this.pos < 8) corrupt('truncated fixed64', this.pos); this.pos += 8; return;
      case 2: this.bytes(); return;
      case 5: if (this.end - this.pos < 4) corrupt('truncated fixed32', this.pos); this.pos += 4; return;
      default: corrupt(`unsupported wire type ${wire}`, this.pos);
    }
  }

  /** Next (field, wire type). */
  tag(): [number, number] {
    const at = this.pos;
    const t = this.varint();
    const field = Math.floor(t / 8), wire = t % 8;
    if (field === 0) corrupt('field number 0', at);
    return [field, wire];
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function text(p: Proto): string {
  try { return utf8.decode(p.b.subarray(p.pos, p.end)); } catch { return corrupt('invalid UTF-8 in a string', p.pos); }
}

function want(wire: number, expected: number, field: string, at: number): void {
  if (wire !== expected) corrupt(`field ${field} has wire type ${wire}`, at);
}

export function parseSentencePieceModel(bytes: Uint8Array): SentencePieceModel {
  const top = new Proto(bytes, 0, bytes.length);
  const pieces: string[] = [];
  let scores = new Float32Array(1024);
  let types = new Uint8Array(1024);
  const m: SentencePieceModel = {
    pieces, scores, types, modelType: 1 /* UNIGRAM, the proto default */, byteFallback: false,
    unkId: 0, bosId: 1, eosId: 2, padId: -1,
    addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true, normalizerName: '', hasCharsMap: false,
  };
  while (!top.done()) {
    const at = top.pos;
    const [field, wire] = top.tag();
    if (field === 1) {
      want(wire, 2, 'pieces', at);
      if (pieces.length >= MAX_VOCAB) throw new GemmaError('LIMIT', `more than ${MAX_VOCAB} pieces`, { file: FILE });
      const p = top.bytes();
      let piece: string | undefined, score = 0, type: number = PieceType.NORMAL;
      while (!p.done()) {
        const pat = p.pos;
        const [f, w] = p.tag();
        if (f === 1) { want(w, 2, 'piece', pat); piece = text(p.bytes()); }
        else if (f === 2) { want(w, 5, 'score', pat); score = p.float(); }
        else if (f === 3) { want(w, 0, 'type', pat); type = p.varint(); }
        else p.skip(w);
      }
      if (piece === undefined || piece.length === 0) corrupt(`piece ${pieces.length} is empty`, at);
      if (type < 1 || type > 6) corrupt(`piece ${pieces.length} has unknown type ${type}`, at);
      const id = pieces.length;
      if (id === scores.length) {
        const s2 = new Float32Array(id * 2); s2.set(scores); scores = s2;
        const t2 = new Uint8Array(id * 2); t2.set(types); types = t2;
      }
      pieces.push(piece); scores[id] = score; types[id] = type;
    } else if (field === 2) {
      want(wire, 2, 'trainer_spec', at);
      const t = top.bytes();
      while (!t.done()) {
        const tat = t.pos;
        const [f, w] = t.tag();
        if (f === 3) { want(w, 0, 'model_type', tat); m.modelType = t.varint(); }
        else if (f === 35) { want(w, 0, 'byte_fallback', tat); m.byteFallback = t.varint() !== 0; }
        else if (f === 40) { want(w, 0, 'unk_id', tat); m.unkId = t.int32(); }
        else if (f === 41) { want(w, 0, 'bos_id', tat); m.bosId = t.int32(); }
        else if (f === 42) { want(w, 0, 'eos_id', tat); m.eosId = t.int32(); }
        else if (f === 43) { want(w, 0, 'pad_id', tat); m.padId = t.int32(); }
        else t.skip(w);
      }
    } else if (field === 3) {
      want(wire, 2, 'normalizer_spec', at);
      const n = top.bytes();
      while (!n.done()) {
        const nat = n.pos;
        const [f, w] = n.tag();
        if (f === 1) { want(w, 2, 'name', nat); m.normalizerName = text(n.bytes()); }
        else if (f === 2) { want(w, 2, 'precompiled_charsmap', nat); const cm = n.bytes(); m.hasCharsMap = cm.end > cm.pos; }
        else if (f === 3) { want(w, 0, 'add_dummy_prefix', nat); m.addDummyPrefix = n.varint() !== 0; }
        else if (f === 4) { want(w, 0, 'remove_extra_whitespaces', nat); m.removeExtraWhitespaces = n.varint() !== 0; }
        else if (f === 5) { want(w, 0, 'escape_whitespaces', nat); m.escapeWhitespaces = n.varint() !== 0; }
        else n.skip(w);
      }
    } else top.skip(wire);
  }
  if (pieces.length === 0) throw new GemmaError('TOKENIZER', 'SentencePiece model has no pieces (not a tokenizer.model?)', { file: FILE });
  m.scores = scores.subarray(0, pieces.length);
  m.types = types.subarray(0, pieces.length);
  return m;
}

export function requireBpe(m: SentencePieceModel): void {
  if (m.modelType !== MODEL_TYPE_BPE) {
    const name = ['?', 'UNIGRAM', 'BPE', 'WORD', 'CHAR'][m.modelType] ?? String(m.modelType);
    throw new GemmaError('TOKENIZER', `SentencePiece model type ${name} is not supported (Gemma uses BPE)`, { file: FILE, field: 'trainer_spec.model_type' });
  }
  if (m.hasCharsMap) {
    throw new GemmaError('TOKENIZER', `SentencePiece normalizer ${JSON.stringify(m.normalizerName)} with a precompiled charsmap is not supported (Gemma uses identity)`, { file: FILE, field: 'normalizer_spec' });
  }
}
