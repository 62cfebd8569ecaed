/**
 * Stop strings on a text stream. Text is held back while its tail could still be the start
 * of a stop string, so nothing after (or part of) a stop string is ever emitted.
 * Invariant: the held tail is the longest suffix of the pending text that is a proper prefix
 * of some stop string; hence a stop string can never begin inside already-emitted text.
 */
export class StopMatcher {
  private held = '';
  constructor(private readonly stops: readonly string[]) {}

  /** Add text; returns the text that is safe to emit and the stop string hit, if any. */
  push(text: string): { emit: string; hit?: string } {
    if (this.stops.length === 0) return { emit: text };
    const buf = this.held + text;
    let at = -1, hit: string | undefined;
    for (const s of this.stops) {
      const i = buf.indexOf(s);
      if (i >= 0 && (at < 0 || i < at)) { at = i; hit = s; }
    }
    if (hit !== undefined) { this.held = ''; return { emit: buf.slice(0, at), hit }; }
    let keep = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, buf.length); k > keep; k--) {
        if (buf.endsWith(s.slice(0, k))) { keep = k; break; }
      }
    }
    this.held = buf.slice(buf.length - keep);
    return { emit: buf.slice(0, buf.length - keep) };
  }

  /** The held-back text, at the end of a generation that did not hit a stop string. */
  flush(): string { const h = this.held; this.held = ''; return h; }
}

export function normalizeStops(stop: string | readonly string[] | undefined | null): string[] {
  if (stop === undefined || stop === null) return [];
  const list = typeof stop === 'string' ? [stop] : [...stop];
  return list.filter((s) => typeof s === 'string' && s.length > 0);
}
