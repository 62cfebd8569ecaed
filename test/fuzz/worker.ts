/**
 * The fuzz worker: a child process (node --expose-gc --import tsx) that runs a range of
 * cases of one target and reports each outcome to its parent over IPC. The parent
 * (driver.ts) watches the reports and kills the worker when a case hangs the event loop.
 *
 * Per case: the input is mutated from (target, corpus entry, seed, case index), the target
 * runs under a deadline, and the outcome is 'ok', a GemmaError code, or a failure:
 *   exception  anything thrown that is not a GemmaError (TypeError, RangeError, ...)
 *   alloc      a single allocation over the guard's bound was attempted (even if caught)
 *   timeout    the target's promise did not settle within the deadline
 * Every `heapEvery` cases the worker collects garbage and reports heapUsed + external.
 */
import { GemmaError } from '../../src/errors.js';
import { hashSeed, mulberry32 } from '../../src/util/rng.js';
import { installAllocGuard, takeRefusals, unguarded } from './alloc-guard.js';
import { corpus } from './corpus.js';
import { type TargetName, targets } from './targets.js';

export interface RunRequest {
  type: 'run';
  target: TargetName;
  seed: number;
  start: number;
  count: number;
  /** fix the corpus entry (by name) instead of cycling through them */
  corpus?: string;
  includeOptional: boolean;
  caseMs: number;
  heapEvery: number;
  maxAllocBytes: number;
}

export type Failure = { kind: 'exception' | 'alloc' | 'timeout' | 'hang' | 'crash'; message: string; stack?: string };

export interface CaseReport {
  type: 'case';
  i: number;
  corpus: string;
  desc: string;
  size: number;
  /** wall and CPU time of the case */
  ms: number;
  cpuMs: number;
  outcome: string; // 'ok' | GemmaError code | 'FAIL'
  note?: string;
  failure?: Failure;
}

/** Sent before a case runs, so that a hang or a crash can be attributed. */
export interface StartReport { type: 'start'; i: number; corpus: string; desc: string; size: number }

export interface HeapReport { type: 'heap'; i: number; bytes: number; rss: number }

/** The case's corpus entry and mutation: a pure function of (target, seed, i, corpus choice). */
export async function caseInput(target: TargetName, seed: number, i: number, fixed: string | undefined, includeOptional: boolean) {
  const all = (await corpus()).get(target)!;
  const usable = includeOptional || fixed ? all : all.filter((e) => !e.optional);
  const entry = fixed !== undefined ? all.find((e) => e.name === fixed) : usable[i % usable.length];
  if (!entry) throw new Error(`no corpus entry ${fixed} for ${target} (have ${all.map((e) => e.name).join(', ')})`);
  const r = mulberry32(hashSeed(seed, `${target}/${entry.name}/${i}`));
  const t = (await targets()).get(target)!;
  const m = t.mutate(r, entry.bytes, all.filter((e) => e !== entry).map((e) => e.bytes));
  return { entry, entryIndex: all.indexOf(entry), mutated: m, target: t };
}

function describe(e: unknown): { message: string; stack?: string } {
  if (e instanceof Error) return { message: `${e.name}: ${e.message}`.slice(0, 2000), stack: e.stack?.split('\n').slice(0, 12).join('\n') };
  return { message: `non-Error thrown: ${String(e).slice(0, 500)}` };
}

export async function runOne(req: Pick<RunRequest, 'target' | 'seed' | 'corpus' | 'includeOptional' | 'caseMs'>, i: number, onStart?: (s: StartReport) => Promise<void>): Promise<CaseReport> {
  const { entry, entryIndex, mutated, target } = await unguarded(() => caseInput(req.target, req.seed, i, req.corpus, req.includeOptional));
  await onStart?.({ type: 'start', i, corpus: entry.name, desc: mutated.desc, size: mutated.bytes.length });
  takeRefusals();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let outcome: string, note: string | undefined, failure: Failure | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // the async deadline (a promise that never settles) is in wall time, with room for a loaded machine
  const deadline = new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new DeadlineExceeded()), 2 * req.caseMs); });
  try {
    note = await Promise.race([target.run(mutated.bytes, entryIndex), deadline]);
    outcome = 'ok';
  } catch (e) {
    if (e instanceof DeadlineExceeded) { outcome = 'FAIL'; failure = { kind: 'timeout', message: `did not settle within ${2 * req.caseMs} ms` }; }
    else if (e instanceof GemmaError) { outcome = e.code; note = e.message.slice(0, 300); }
    else { outcome = 'FAIL'; failure = { kind: 'exception', ...describe(e) }; }
  } finally {
    clearTimeout(timer);
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  // a synchronous slow path cannot be interrupted by the deadline timer: judge it afterwards, by
  // CPU time (wall time on a loaded CI machine says more about the neighbours than about the case)
  if (!failure && cpuMs > req.caseMs) { failure = { kind: 'timeout', message: `took ${cpuMs.toFixed(0)} ms of CPU, over the ${req.caseMs} ms bound (ended in ${outcome})` }; outcome = 'FAIL'; }
  const refused = takeRefusals();
  if (refused.length && !failure) {
    const ended = outcome;
    outcome = 'FAIL';
    failure = { kind: 'alloc', message: `${refused[0]!.message} (the case then ended in ${ended})`, stack: refused[0]!.stack?.split('\n').slice(0, 12).join('\n') };
  }
  return { type: 'case', i, corpus: entry.name, desc: mutated.desc, size: mutated.bytes.length, ms, cpuMs, outcome, note, failure };
}

class DeadlineExceeded extends Error {}

function send(msg: unknown): Promise<void> {
  return new Promise((res) => process.send!(msg, undefined, {}, () => res()));
}

async function heap(i: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.(); gc?.();
  const m = process.memoryUsage();
  await send({ type: 'heap', i, bytes: m.heapUsed + m.external, rss: m.rss } satisfies HeapReport);
}

async function serve(req: RunRequest): Promise<void> {
  installAllocGuard(req.maxAllocBytes, req.maxAllocBytes / 8);
  await corpus();
  await targets();
  for (let i = req.start; i < req.start + req.count; i++) {
    if ((i - req.start) % req.heapEvery === 0) await heap(i);
    const rep = await runOne(req, i, send);
    await send(rep);
    // a timed-out case may still be running: this process is no longer clean
    if (rep.failure?.kind === 'timeout' && rep.failure.message.startsWith('did not settle')) process.exit(3);
  }
  await heap(req.start + req.count);
  await send({ type: 'done' });
  process.exit(0);
}

if (process.send) {
  process.once('message', (m: RunRequest) => { void serve(m); });
  void send({ type: 'ready' });
}
