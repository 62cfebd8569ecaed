/**
 * GemmaTokenizer: the public face of the tokenizer, one static constructor per source.
 * The encode/decode machinery is TokenizerCore (tokenizer.ts).
 */
import { GemmaError } from '../errors.js';
import { toGgufMetadata, toTokenizerJson } from './export.js';
import { parseTokenizerJsonBytes, parseTokenizerJsonObject } from './hf-json.js';
import { parseSentencePieceModel } from './sentencepiece-model.js';
import { specFromGguf, specFromHf, specFromPieces, specFromSentencePiece, type PiecesInput } from './specs.js';
import { TokenizerCore } from './tokenizer.js';

export class GemmaTokenizer extends TokenizerCore {
  /** SentencePiece ModelProto bytes (tokenizer.model). */
  static fromSentencePieceModel(bytes: Uint8Array, name?: string): GemmaTokenizer {
    if (!(bytes instanceof Uint8Array)) throw new GemmaError('BAD_ARGUMENT', 'fromSentencePieceModel expects bytes');
    return new GemmaTokenizer(specFromSentencePiece(parseSentencePieceModel(bytes), name));
  }

  /** HF tokenizer.json, as text, UTF-8 bytes or an already parsed object. */
  static fromTokenizerJson(json: string | Uint8Array | object, name?: string): GemmaTokenizer {
    let data;
    if (typeof json === 'string') data = parseTokenizerJsonBytes(new TextEncoder().encode(json));
    else if (json instanceof Uint8Array) data = parseTokenizerJsonBytes(json);
    else data = parseTokenizerJsonObject(json);
    return new GemmaTokenizer(specFromHf(data, name));
  }

  /** GGUF metadata (tokenizer.ggml.* keys, as the GGUF reader returns them). */
  static fromGgufMetadata(meta: Map<string, unknown>, name?: string): GemmaTokenizer {
    if (!(meta instanceof Map)) throw new GemmaError('BAD_ARGUMENT', 'fromGgufMetadata expects a Map');
    return new GemmaTokenizer(specFromGguf(meta, name));
  }

  /** Build directly from pieces (SentencePiece types: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte). */
  static fromPieces(spec: PiecesInput, name?: string): GemmaTokenizer {
    return new GemmaTokenizer(specFromPieces(spec, name));
  }

  /** GGUF metadata entries for this vocabulary (tokenizer.ggml.model = "llama", ...). */
  toGgufMetadata(): Map<string, unknown> {
    return toGgufMetadata(this);
  }

  /** HF tokenizer.json text for this vocabulary. */
  toTokenizerJson(): string {
    return toTokenizerJson(this);
  }
}
