/**
 * Checks on JSON from model files that run before JSON.parse: nesting depth, and
 * duplicate keys in a safetensors header.
 *
 * V8's JSON.parse spends ~2 µs per nesting level, so 100 MB of '[' (a safetensors header
 * may be that long) blocks the event loop for minutes, and a deep value later fed to
 * JSON.stringify overflows the stack. Real model JSON nests fewer than 10 levels. The scan
 * is linear and allocation-free: brackets inside strings are skipped, everything else is
 * left to JSON.parse.
 */
import { GemmaError } from '../errors.js';

export const MAX_JSON_DEPTH = 256;

/** Depth of the deepest [ or { in `text` (bytes or a string), or -1 once it passes `max`. */
export function jsonDepth(text: Uint8Array | string, max = MAX_JSON_DEPTH): number {
  const bytes = typeof text !== 'string';
  const n = text.length;
  let depth = 0, deepest = 0, inString = false;
  for (let i = 0; i < n; i++) {
    const c = bytes ? (text as Uint8Array)[i]! : (text as string).charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;              // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {  // [ {
      if (++depth > deepest) { deepest = depth; if (deepest > max) return -1; }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/**
 * The first key that appears twice in the top-level object of `text` (bytes of a JSON
 * object whose depth is already checked), or undefined. JSON.parse keeps the last of
 * duplicate keys silently; for a tensor index that would make two readers of one file
 * disagree about where a tensor is.
 */
export function firstDuplicateKey(text: Uint8Array): string | undefined {
  const seen = new Set<string>();
  const dec = new TextDecoder('utf-8', { fatal: false });
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === 0x22) {
      const start = i;
      for (i++; i < text.length && text[i] !== 0x22; i++) if (text[i] === 0x5c) i++;
      if (depth !== 1) continue;
      let j = i + 1;
      while (j < text.length && (text[j] === 0x20 || text[j] === 0x0a || text[j] === 0x0d || text[j] === 0x09)) j++;
      if (text[j] !== 0x3a) continue; // a value, not a key
      let key: string;
      try { key = JSON.parse(dec.decode(text.subarray(start, i + 1))) as string; } catch { continue; }
      if (seen.has(key)) return key;
      seen.add(key);
    } else if (c === 0x5b || c === 0x7b) depth++;
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return undefined;
}

/** `text`, after checking its depth: `JSON.parse(depthChecked(text, file))`. */
export function depthChecked(text: string, file: string): string {
  checkJsonDepth(text, file);
  return text;
}

/** GemmaError('LIMIT') naming `file` when `text` nests deeper than MAX_JSON_DEPTH. */
export function checkJsonDepth(text: Uint8Array | string, file: string, field?: string): void {
  if (jsonDepth(text) < 0) throw new GemmaError('LIMIT', `JSON nested deeper than ${MAX_JSON_DEPTH} levels`, { file, field });
}
