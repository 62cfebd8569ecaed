/**
 * Piece types and small helpers shared by every tokenizer loader.
 * Types are SentencePiece's (ModelProto.SentencePiece.Type), which GGUF's
 * tokenizer.ggml.token_type also uses.
 */
export const PieceType = {
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;

/** U+2581 LOWER ONE EIGHTH BLOCK: SentencePiece's escaped space. */
export const SPACE_SYMBOL = '\u2581';

/** Most pieces we accept in one vocabulary (Gemma 3 has 262 145). */
export const MAX_VOCAB = 1 << 22;
/** Longest piece we accept, in UTF-16 code units. */
export const MAX_PIECE_CHARS = 1 << 16;

/**
 * Text of Gemma's markup/control pieces. With `allowSpecial: false` these are never
 * produced from user text, whatever type the vocabulary file gives them (Gemma's
 * tokenizer.model marks some of them user-defined, Gemma 1's tokenizer.json does
 * not list the turn markers as added tokens at all).
 */
const CONTROL_TEXT = /^(?:<unused\d+>|<(?:pad|bos|eos|unk|mask|2mass)>|<(?:start|end)_of_(?:turn|image|audio)>|<(?:image|audio)_soft_token>|\[multimodal\]|\[@BOS@\]|\[toxicity=0\])$/;

export function looksLikeControlText(piece: string): boolean {
  const c = piece.charCodeAt(0);
  return (c === 60 /* < */ || c === 91 /* [ */) && CONTROL_TEXT.test(piece);
}

/** Markup pieces that should be matched whole even when a vocabulary file forgets to say so. */
export const GEMMA_MARKUP = [
  '<start_of_turn>', '<end_of_turn>', '<start_of_image>', '<end_of_image>',
  '<image_soft_token>', '<audio_soft_token>', '<start_of_audio>', '<end_of_audio>',
] as const;

/** `<0xAB>` → 0xAB, anything else → -1. */
export function bytePieceValue(piece: string): number {
  if (piece.length !== 6 || piece.charCodeAt(0) !== 60 /* < */ || piece.charCodeAt(1) !== 48 /* 0 */ ||
      piece.charCodeAt(2) !== 120 /* x */ || piece.charCodeAt(5) !== 62 /* > */) return -1;
  const hi = hexValue(piece.charCodeAt(3));
  const lo = hexValue(piece.charCodeAt(4));
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55; // only upper case, as SentencePiece writes them
  return -1;
}

export function bytePieceText(b: number): string {
  return `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
}

/** Replace lone surrogates by U+FFFD (what TextEncoder would do), leaving valid text untouched. */
export function toWellFormed(text: string): string {
  const f = (text as { toWellFormed?: () => string }).toWellFormed;
  if (typeof f === 'function') return f.call(text);
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}
