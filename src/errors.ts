/**
 * One error type for every loader, the tokenizer and the engine.
 * `code` is stable (tests and callers switch on it); `file`, `tensor` and `field`
 * say where the problem is; `message` is for humans.
 */
export type GemmaErrorCode =
  | 'BAD_ARGUMENT'        // an API/CLI argument is wrong
  | 'IO'                  // a read failed (file missing, network, permission)
  | 'TRUNCATED'           // data ends before the structure it promises
  | 'BAD_MAGIC'           // not the file format we were told
  | 'BAD_HEADER'          // header is malformed (JSON, counts, lengths, alignment)
  | 'LIMIT'               // a size/count exceeds a safety limit
  | 'UNSUPPORTED_VERSION' // a format version we do not read
  | 'UNSUPPORTED_DTYPE'   // a tensor type we do not read
  | 'UNKNOWN_MODEL'       // not a Gemma architecture we know
  | 'BAD_CONFIG'          // config values missing or inconsistent
  | 'MISSING_TENSOR'      // a weight the architecture needs is absent
  | 'BAD_SHAPE'           // a tensor shape does not match the config
  | 'BAD_TENSOR'          // tensor data out of range, overlapping, wrong size
  | 'DUPLICATE'           // duplicate names (tensors, metadata keys, vocab pieces)
  | 'TOKENIZER'           // tokenizer file problems
  | 'TEMPLATE'            // chat template rendering problems
  | 'CONTEXT_OVERFLOW'    // prompt + generation longer than the context
  | 'BUSY'                // model already generating
  | 'ABORTED'             // cancelled by an AbortSignal
  | 'BACKEND'             // backend unavailable / device lost / OOM
  | 'INTERNAL';

export interface GemmaErrorDetails {
  file?: string;
  tensor?: string;
  field?: string;
  cause?: unknown;
}

export class GemmaError extends Error {
  readonly code: GemmaErrorCode;
  readonly file?: string;
  readonly tensor?: string;
  readonly field?: string;

  constructor(code: GemmaErrorCode, message: string, details: GemmaErrorDetails = {}) {
    const where = [
      details.file !== undefined ? `file ${details.file}` : '',
      details.tensor !== undefined ? `tensor ${details.tensor}` : '',
      details.field !== undefined ? `field ${details.field}` : '',
    ].filter(Boolean).join(', ');
    super(where ? `${message} (${where})` : message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.name = 'GemmaError';
    this.code = code;
    this.file = details.file;
    this.tensor = details.tensor;
    this.field = details.field;
  }
}

export function isGemmaError(e: unknown, code?: GemmaErrorCode): e is GemmaError {
  return e instanceof GemmaError && (code === undefined || e.code === code);
}
