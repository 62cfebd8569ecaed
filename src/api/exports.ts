/** The public API shared by the Node/Deno entry (src/index.ts) and the browser entry (src/browser.ts). */
export { Gemma, type ChatApi, type ChatCompletions, type Completions, type LayerHook } from './gemma.js';
export { ChatSession, type ChatSessionOptions } from './chat-session.js';
export { Generation, type GenerateResult, type FinishReason, type TokenLogprob, type Usage, type Timings } from './generation.js';
export { type GenerateOptions, DEFAULT_MAX_TOKENS } from './decode-loop.js';
export { type SamplingOptions, SAMPLING_DEFAULTS, Sampler, resolveSampling } from './sampler.js';
export type {
  ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, Completion, CompletionRequest, OpenAIUsage, RequestOptions,
} from './openai.js';
export { type LoadModelOptions } from './load-model.js';
export { type ModelSource, type LoadProgressEvent, blobFileSet, urlFileSet } from './sources.js';
export { type BackendChoice, hasWebGpuAdapter } from './backend-select.js';
export { clearModelCache, isCached, DEFAULT_CACHE_NAME } from './browser-cache.js';
export { estimateMemory, type MemoryEstimate } from './memory.js';
export { recommend, gemmaVariants, type Recommendation, type RecommendOptions } from './recommend.js';
export { GemmaError, isGemmaError, type GemmaErrorCode } from '../errors.js';
export { GemmaTokenizer, renderChat, BUILTIN_CHAT_TEMPLATES, type ChatMessage } from '../tokenizer/index.js';
export type { GemmaConfig } from '../model/config.js';
export { registerBackend, backendNames } from '../kernels/index.js';
export type { Backend } from '../kernels/backend.js';
export { BufferSource, BlobSource, UrlSource, type ByteSource } from '../io/source.js';
export type { FileSet } from '../format/store.js';
