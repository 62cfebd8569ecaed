/**
 * Finding a tokenizer among a model directory's files: tokenizer.json first (the HF
 * reference semantics), then tokenizer.model; tokenizer_config.json adds the chat
 * template and the BOS/EOS settings.
 */
import { GemmaError } from '../errors.js';
import { checkJsonDepth } from '../format/json-depth.js';
import { GemmaTokenizer } from './gemma-tokenizer.js';

export interface TokenizerFiles {
  'tokenizer.json'?: string | Uint8Array;
  'tokenizer.model'?: Uint8Array;
  'tokenizer_config.json'?: string | Uint8Array;
}

export interface LoadedTokenizer {
  tokenizer: GemmaTokenizer;
  chatTemplate?: string;
  /** token texts from tokenizer_config.json, when given */
  bosToken?: string;
  eosToken?: string;
  /** tokenizer_config.json add_bos_token / add_eos_token (Gemma: true / false) */
  addBosToken?: boolean;
  addEosToken?: boolean;
  /** which file the vocabulary came from */
  source: 'tokenizer.json' | 'tokenizer.model';
}

const MAX_CONFIG_BYTES = 64 << 20;

export function tokenizerFromFiles(files: TokenizerFiles, name?: string): LoadedTokenizer {
  let tokenizer: GemmaTokenizer;
  let source: LoadedTokenizer['source'];
  const json = files['tokenizer.json'];
  const model = files['tokenizer.model'];
  if (json !== undefined) { tokenizer = GemmaTokenizer.fromTokenizerJson(json, name); source = 'tokenizer.json'; }
  else if (model !== undefined) { tokenizer = GemmaTokenizer.fromSentencePieceModel(model, name); source = 'tokenizer.model'; }
  else throw new GemmaError('TOKENIZER', 'no tokenizer.json or tokenizer.model among the model files');
  const out: LoadedTokenizer = { tokenizer, source };
  const cfgRaw = files['tokenizer_config.json'];
  if (cfgRaw === undefined) return out;
  const cfg = parseConfig(cfgRaw);
  const template = pickChatTemplate(cfg['chat_template']);
  if (template !== undefined) out.chatTemplate = template;
  const bos = tokenText(cfg['bos_token']), eos = tokenText(cfg['eos_token']);
  if (bos !== undefined) out.bosToken = bos;
  if (eos !== undefined) out.eosToken = eos;
  if (typeof cfg['add_bos_token'] === 'boolean') out.addBosToken = cfg['add_bos_token'];
  if (typeof cfg['add_eos_token'] === 'boolean') out.addEosToken = cfg['add_eos_token'];
  // Gemma 3's config names <end_of_turn> as eos_token: generation must stop on it too
  if (eos !== undefined) {
    const id = tokenizer.pieceToId(eos);
    if (id !== undefined) tokenizer.addStopId(id);
  }
  return out;
}

function parseConfig(raw: string | Uint8Array): Record<string, unknown> {
  if (raw.length > MAX_CONFIG_BYTES) throw new GemmaError('LIMIT', 'tokenizer_config.json over 64 MiB', { file: 'tokenizer_config.json' });
  let text: string;
  try {
    text = typeof raw === 'string' ? raw : new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch (cause) {
    throw new GemmaError('TOKENIZER', 'tokenizer_config.json is not valid UTF-8', { file: 'tokenizer_config.json', cause });
  }
  checkJsonDepth(text, 'tokenizer_config.json');
  let cfg: unknown;
  try { cfg = JSON.parse(text); } catch (cause) {
    throw new GemmaError('TOKENIZER', `tokenizer_config.json is not valid JSON: ${(cause as Error).message}`, { file: 'tokenizer_config.json', cause });
  }
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) throw new GemmaError('TOKENIZER', 'tokenizer_config.json is not an object', { file: 'tokenizer_config.json' });
  return cfg as Record<string, unknown>;
}

/** chat_template is a string, or a list of {name, template} (the "default" one is used). */
function pickChatTemplate(t: unknown): string | undefined {
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const named = t.filter((x): x is { name: string; template: string } => typeof x?.name === 'string' && typeof x?.template === 'string');
    return (named.find((x) => x.name === 'default') ?? named[0])?.template;
  }
  return undefined;
}

function tokenText(t: unknown): string | undefined {
  if (typeof t === 'string') return t;
  if (typeof t === 'object' && t !== null && typeof (t as { content?: unknown }).content === 'string') return (t as { content: string }).content;
  return undefined;
}

/** The chat template a GGUF carries (tokenizer.chat_template), if any. */
export function chatTemplateFromGgufMetadata(meta: Map<string, unknown>): string | undefined {
  const t = meta.get('tokenizer.chat_template');
  return typeof t === 'string' ? t : undefined;
}
