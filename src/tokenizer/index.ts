export { GemmaTokenizer } from './gemma-tokenizer.js';
export type { EncodeOptions, StreamDecoder, IncrementalState } from './tokenizer.js';
export { PieceType } from './pieces.js';
export { tokenizerFromFiles, chatTemplateFromGgufMetadata, type TokenizerFiles, type LoadedTokenizer } from './load.js';
export { renderChat, BUILTIN_CHAT_TEMPLATES, type ChatMessage, type ChatContentPart, type RenderChatOptions } from './chat.js';
export { IncrementalPromptEncoder } from './incremental.js';
