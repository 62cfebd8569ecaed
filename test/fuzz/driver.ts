/**
 * Runs fuzz cases in worker processes (worker.ts) and keeps the statistics. The worker is
 * a separate process so that a case that blocks the event loop forever (a synchronous
 * infinite loop) or crashes the process is caught: when no report arrives within hangMs
 * the worker is killed, the case is recorded as a hang, and a fresh worker continues
 * with the next case.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './corpus.js';
import { CASE_MS, type TargetName } from './targets.js';
import type { CaseReport, Failure, HeapReport, RunRequest } from './worker.js';

export interface FuzzOptions {
  target: TargetName;
  seed: number;
  /** number of cases, from case index `start` */
  cases: number;
  start?: number;
  corpus?: string;
  includeOptional?: boolean;
  /** bound per case (load + 2-token generation), CPU ms; a promise that has not settled after 2 x caseMs of wall time is a timeout */
  caseMs?: number;
  /** wall time without a report before the worker is declared hung, ms (default 3 x caseMs + 5 s) */
  hangMs?: number;
  /** GC + heap measurement every this many cases */
  heapEvery?: number;
  /** the allocation guard's bound for one allocation, bytes (default 16 MB: the inputs are < 1 MB) */
  maxAllocBytes?: number;
  /** JS heap limit of the worker, MB */
  maxOldSpaceMb?: number;
  onCase?: (c: CaseReport) => void;
  /** give up after this many failures (they are usually one bug) */
  maxFailures?: number;
}

export interface FailedCase extends Omit<CaseReport, 'type' | 'failure'> { failure: Failure; repro: string }

export interface FuzzStats {
  target: TargetName;
  seed: number;
  cases: number;
  ok: number;
  /** GemmaError code → count */
  codes: Record<string, number>;
  failures: FailedCase[];
  ms: number;
  /** the case that took the most CPU time */
  slowest: { i: number; ms: number; desc: string };
  /** heapUsed + external after GC: at the first measurement after the first batch, and at the end */
  heap: { baseline: number; final: number; max: number; rssMax: number; samples: number };
  restarts: number;
}

export function reproCommand(target: string, corpus: string, seed: number, i: number): string {
  return `npm run fuzz -- --target ${target} --corpus ${corpus} --seed ${seed} --case ${i}`;
}

const WORKER = join(ROOT, 'test', 'fuzz', 'worker.ts');

export async function fuzz(o: FuzzOptions): Promise<FuzzStats> {
  const caseMs = o.caseMs ?? CASE_MS[o.target] ?? 2000, hangMs = o.hangMs ?? 3 * caseMs + 5000;
  const start = o.start ?? 0, end = start + o.cases;
  const stats: FuzzStats = {
    target: o.target, seed: o.seed, cases: 0, ok: 0, codes: {}, failures: [], ms: 0,
    slowest: { i: -1, ms: 0, desc: '' }, heap: { baseline: -1, final: 0, max: 0, rssMax: 0, samples: 0 }, restarts: 0,
  };
  const t0 = performance.now();
  const heapEvery = o.heapEvery ?? 250;
  let next = start;
  // the case the worker is on (its 'start' report), for hangs and crashes
  let current = { corpus: o.corpus ?? '?', desc: '', size: 0 };
  const fail = (i: number, corpus: string, failure: Failure, desc = '', size = 0, ms = 0, cpuMs = 0) => {
    stats.failures.push({ i, corpus, desc, size, ms, cpuMs, outcome: 'FAIL', failure, repro: reproCommand(o.target, corpus, o.seed, i) });
  };
  while (next < end && stats.failures.length < (o.maxFailures ?? 20)) {
    const from = next;
    const result = await new Promise<{ exit: string; stderr: string }>((resolve) => {
      const child: ChildProcess = fork(WORKER, [], {
        execArgv: ['--expose-gc', `--max-old-space-size=${o.maxOldSpaceMb ?? 1024}`, '--import', 'tsx'],
        cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
      let timer: ReturnType<typeof setTimeout> | undefined;
      let hung = false;
      const arm = (ms: number) => { clearTimeout(timer); timer = setTimeout(() => { hung = true; child.kill('SIGKILL'); }, ms); };
      arm(60_000); // start-up (tsx, corpus)
      child.on('message', (raw) => {
        const m = raw as { type: string } & Partial<Omit<CaseReport, 'type'> & Omit<HeapReport, 'type'>>;
        if (m.type === 'ready') {
          const req: RunRequest = {
            type: 'run', target: o.target, seed: o.seed, start: from, count: end - from, corpus: o.corpus,
            includeOptional: o.includeOptional ?? false, caseMs, heapEvery, maxAllocBytes: o.maxAllocBytes ?? 16 << 20,
          };
          child.send(req);
          arm(hangMs);
          return;
        }
        if (m.type === 'heap') {
          // the first sample is taken before any case; the baseline is the one after the first batch (caches warm)
          stats.heap.samples++;
          if (stats.heap.samples === 2 || (stats.heap.baseline < 0 && m.i! >= end)) stats.heap.baseline = m.bytes!;
          stats.heap.final = m.bytes!;
          stats.heap.max = Math.max(stats.heap.max, m.bytes!);
          stats.heap.rssMax = Math.max(stats.heap.rssMax, m.rss!);
          arm(hangMs);
          return;
        }
        if (m.type === 'start') {
          current = { corpus: m.corpus!, desc: m.desc!, size: m.size! };
          return;
        }
        if (m.type === 'case') {
          const c = m as CaseReport;
          next = c.i + 1;
          stats.cases++;
          if (c.cpuMs > stats.slowest.ms) stats.slowest = { i: c.i, ms: c.cpuMs, desc: c.desc };
          if (c.outcome === 'ok') stats.ok++;
          else if (c.outcome !== 'FAIL') stats.codes[c.outcome] = (stats.codes[c.outcome] ?? 0) + 1;
          if (c.failure) fail(c.i, c.corpus, c.failure, c.desc, c.size, c.ms, c.cpuMs);
          o.onCase?.(c);
          arm(hangMs);
        }
      });
      child.on('exit', (code, signal) => { clearTimeout(timer); resolve({ exit: hung ? 'hang' : signal ? `signal ${signal}` : `code ${code}`, stderr }); });
    });
    if (next >= end) break;
    const last = stats.failures[stats.failures.length - 1];
    if (last && last.i === next - 1 && last.failure.message.startsWith('did not settle')) continue; // the worker exits after a timeout by design
    // the worker died or hung in case `next`
    stats.cases++;
    stats.restarts++;
    const kind = result.exit === 'hang' ? 'hang' : 'crash';
    fail(next, current.corpus, { kind, message: kind === 'hang' ? `no report within ${hangMs} ms (event loop blocked)` : `worker exited (${result.exit})`, stack: result.stderr.slice(-2000) }, current.desc, current.size);
    next++;
  }
  stats.ms = performance.now() - t0;
  return stats;
}

export function formatStats(s: FuzzStats): string {
  const codes = Object.entries(s.codes).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
  const lines = [
    `${s.target.padEnd(17)} seed ${s.seed}: ${s.cases} cases in ${(s.ms / 1000).toFixed(1)} s — ok ${s.ok}; ${codes || 'no errors'}; failures ${s.failures.length}`,
    `${''.padEnd(17)} heap after GC ${mb(s.heap.baseline)} → ${mb(s.heap.final)} (max ${mb(s.heap.max)}, rss max ${mb(s.heap.rssMax)}); slowest case ${s.slowest.i}: ${s.slowest.ms.toFixed(0)} ms CPU`,
  ];
  for (const f of s.failures.slice(0, 10)) {
    lines.push(`  FAIL case ${f.i} [${f.corpus}] ${f.failure.kind}: ${f.failure.message}`, `    mutation: ${f.desc}`, `    reproduce: ${f.repro}`);
    if (f.failure.stack) lines.push(f.failure.stack.split('\n').slice(0, 8).map((l) => `      ${l}`).join('\n'));
  }
  return lines.join('\n');
}
