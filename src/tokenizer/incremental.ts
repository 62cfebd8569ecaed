/**
 * Multi-turn prompts without re-tokenizing the whole conversation: each turn's rendered
 * prompt shares a prefix with the previous one, and BPE never merges across a whole
 * token (<start_of_turn>, <end_of_turn>, ...), so the ids up to the last such token
 * before the first changed character stay valid. `reused` is that count; an engine keeps
 * its KV cache for those positions.
 */
import type { EncodeOptions, IncrementalState, TokenizerCore } from './tokenizer.js';

export class IncrementalPromptEncoder {
  private state: IncrementalState | undefined;

  constructor(private readonly tokenizer: TokenizerCore, private readonly opts: EncodeOptions = {}) {}

  /** ids of `text`; the first `reused` equal the previous call's and were not re-encoded. */
  encode(text: string): { ids: readonly number[]; reused: number } {
    this.state = this.tokenizer.encodeIncremental(text, this.state, this.opts);
    return { ids: this.state.ids, reused: this.state.reused };
  }

  reset(): void { this.state = undefined; }
}
