import { describe, expect, it } from 'vitest';
import { loadProgress, ProgressBar } from '../../src/cli/progress.js';

function fakeStream(tty: boolean) {
  const out: string[] = [];
  return { out, stream: { isTTY: tty, columns: 80, write: (s: string) => { out.push(s); return true; } } as unknown as NodeJS.WriteStream };
}

describe('progress output', () => {
  it('plain lines at 0/25/50/75/100 % when not a TTY', () => {
    const { out, stream } = fakeStream(false);
    const bar = new ProgressBar('loading', { stream });
    for (let i = 0; i <= 40; i++) bar.update(i, 40, `${i}/40`);
    bar.done('done');
    expect(out).toEqual(['loading: 0% (0/40)\n', 'loading: 25% (10/40)\n', 'loading: 50% (20/40)\n', 'loading: 75% (30/40)\n', 'loading: 100% (40/40)\n', 'done\n']);
  });

  it('a redrawn bar on a TTY, cleared at the end', () => {
    const { out, stream } = fakeStream(true);
    const bar = new ProgressBar('loading', { stream });
    bar.update(5, 10);
    bar.update(10, 10);
    bar.done();
    expect(out[0]).toMatch(/^\rloading \[#+-+\]  50% /);
    expect(out[1]).toMatch(/^\rloading \[#+\] 100% /);
    expect(out.at(-1)).toBe('\r\x1b[K');
    expect(out.every((l) => !l.includes('\n'))).toBe(true);
  });

  it('loadProgress prints the backend, bars and the ready line; nothing when disabled', () => {
    const { out, stream } = fakeStream(false);
    const on = loadProgress({ stream });
    on({ phase: 'backend', backend: 'wasm', reason: 'auto: no WebGPU adapter' });
    on({ phase: 'weights', done: 1, total: 2, tensor: 'a' });
    on({ phase: 'weights', done: 2, total: 2, tensor: 'b' });
    on({ phase: 'ready', backend: 'wasm', ms: 1500 });
    expect(out).toEqual(['backend: wasm (auto: no WebGPU adapter)\n', 'loading: 50% (1/2 tensors)\n', 'loading: 100% (2/2 tensors)\n', 'loaded in 1.50 s\n']);
    const q = fakeStream(false);
    loadProgress({ stream: q.stream, enabled: false })({ phase: 'ready', backend: 'wasm', ms: 1 });
    expect(q.out).toEqual([]);
  });
});
