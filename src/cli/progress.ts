/**
 * Progress output for the CLI: a redrawn bar on a TTY, plain lines otherwise (logs, CI, pipes),
 * nothing with --json/--quiet. Everything goes to stderr so stdout stays the command's output.
 */
import type { LoadProgressEvent } from '../api/sources.js';

export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  /** false: print nothing */
  enabled?: boolean;
  /** override TTY detection (tests) */
  tty?: boolean;
}

function fmtBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(0)} KiB`;
  return `${n} B`;
}

export class ProgressBar {
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly enabled: boolean;
  private lastDraw = 0;
  private lastPlainStep = -1;
  private open = false;

  constructor(private readonly label: string, o: ProgressOptions = {}) {
    this.stream = o.stream ?? process.stderr;
    this.tty = o.tty ?? !!this.stream.isTTY;
    this.enabled = o.enabled ?? true;
  }

  /** done of total (units are the caller's); `detail` is shown after the bar */
  update(done: number, total: number, detail = ''): void {
    if (!this.enabled) return;
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    if (this.tty) {
      const t = Date.now();
      if (t - this.lastDraw < 80 && done < total) return;
      this.lastDraw = t;
      const cols = Math.max(20, Math.min(this.stream.columns ?? 80, 120));
      const width = Math.max(10, Math.min(30, cols - this.label.length - detail.length - 16));
      const fill = Math.round(frac * width);
      const line = `${this.label} [${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${(frac * 100).toFixed(0).padStart(3)}% ${detail}`;
      this.stream.write(`\r${line.slice(0, cols - 1)}\x1b[K`);
      this.open = true;
    } else {
      // plain lines at 0, 25, 50, 75, 100 %
      const step = Math.floor(frac * 4);
      if (step === this.lastPlainStep) return;
      this.lastPlainStep = step;
      this.stream.write(`${this.label}: ${(frac * 100).toFixed(0)}%${detail ? ` (${detail})` : ''}\n`);
    }
  }

  /** finish the bar with a message line */
  done(message?: string): void {
    if (!this.enabled) return;
    if (this.tty && this.open) this.stream.write('\r\x1b[K');
    this.open = false;
    if (message) this.stream.write(`${message}\n`);
  }
}

/** onProgress for loadModel: backend line, download bar, weights bar, ready line. */
export function loadProgress(o: ProgressOptions = {}): (e: LoadProgressEvent) => void {
  const stream = o.stream ?? process.stderr;
  const enabled = o.enabled ?? true;
  let dl: ProgressBar | undefined, w: ProgressBar | undefined;
  return (e) => {
    if (!enabled) return;
    switch (e.phase) {
      case 'backend':
        stream.write(`backend: ${e.backend} (${e.reason})\n`);
        break;
      case 'download':
        dl ??= new ProgressBar('download', o);
        dl.update(e.loaded, e.total, `${fmtBytes(e.loaded)} / ${fmtBytes(e.total)}`);
        break;
      case 'weights':
        dl?.done();
        dl = undefined;
        w ??= new ProgressBar('loading', o);
        w.update(e.done, e.total, `${e.done}/${e.total} tensors`);
        break;
      case 'ready':
        dl?.done();
        w?.done();
        stream.write(`loaded in ${(e.ms / 1000).toFixed(2)} s\n`);
        break;
    }
  };
}
