/**
 * npm run fuzz — the long fuzz run, and the reproducer of single cases.
 *
 *   npm run fuzz                                   every target, 15 000 cases each (105 000), seed 1
 *   npm run fuzz -- --target gguf,template --cases 50000 --seed 7 --jobs 2
 *   npm run fuzz -- --target gguf --corpus g3-bf16 --seed 7 --case 1234 [--save bad.gguf]
 *
 * Exit status 1 when any case failed (an exception other than GemmaError, a hang, a
 * crash, a timeout or an oversized allocation); every failure prints its reproduce line.
 */
import { writeFileSync } from 'node:fs';
import { formatStats, fuzz, type FuzzStats } from './driver.js';
import { TARGETS, type TargetName } from './targets.js';
import { caseInput } from './worker.js';

function args(argv: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const [k, v] = a.includes('=') ? a.slice(2).split('=', 2) as [string, string] : [a.slice(2), argv[i + 1]?.startsWith('--') === false ? argv[++i]! : 'true'];
    m.set(k, v);
  }
  return m;
}

const a = args(process.argv.slice(2));
if (a.has('help')) {
  console.log('usage: npm run fuzz -- [--target t1,t2|all] [--cases N per target] [--seed S] [--jobs J] [--corpus NAME] [--case I [--save FILE]]\n         [--case-ms CPU_MS] [--max-alloc-mb MB] [--slow MS] [--show CODE,...] [--optional false]');
  console.log(`targets: ${TARGETS.join(', ')}`);
  process.exit(0);
}
const targetArg = a.get('target') ?? 'all';
const targets = (targetArg === 'all' ? [...TARGETS] : targetArg.split(',')) as TargetName[];
for (const t of targets) if (!TARGETS.includes(t)) throw new Error(`unknown target ${t} (${TARGETS.join(', ')})`);
const seed = Number(a.get('seed') ?? 1);
const corpus = a.get('corpus');
const caseMs = a.has('case-ms') ? Number(a.get('case-ms')) : undefined;

if (a.has('case')) {
  // one case: print the mutation and the outcome in full
  const i = Number(a.get('case'));
  const t = targets[0]!;
  const { entry, mutated } = await caseInput(t, seed, i, corpus, true);
  console.log(`target ${t}, corpus ${entry.name}, seed ${seed}, case ${i}: ${mutated.desc} (${mutated.bytes.length} bytes)`);
  if (a.has('save')) { writeFileSync(a.get('save')!, mutated.bytes); console.log(`input written to ${a.get('save')}`); }
  const s = await fuzz({ target: t, seed, cases: 1, start: i, corpus: entry.name, includeOptional: true, caseMs,
    onCase: (c) => console.log(`outcome: ${c.outcome}${c.note ? ` — ${c.note}` : ''} (${c.ms.toFixed(1)} ms)`) });
  console.log(formatStats(s));
  process.exit(s.failures.length ? 1 : 0);
}

const perTarget = Number(a.get('cases') ?? 15_000);
const jobs = Math.max(1, Number(a.get('jobs') ?? 2));
const includeOptional = a.get('optional') !== 'false';
const slowMs = a.has('slow') ? Number(a.get('slow')) : 0;
const show = new Set((a.get('show') ?? '').split(',').filter(Boolean));
const maxAllocBytes = a.has('max-alloc-mb') ? Number(a.get('max-alloc-mb')) * 2 ** 20 : undefined;
console.log(`fuzz: ${targets.length} targets x ${perTarget} cases, seed ${seed}, ${jobs} jobs`);
const queue = [...targets];
const results: FuzzStats[] = [];
let done = 0;
const total = perTarget * targets.length;
const tick = setInterval(() => { if (process.stderr.isTTY) process.stderr.write(`\r  ${done} / ${total} cases`); }, 2000);
await Promise.all(Array.from({ length: jobs }, async () => {
  for (let t = queue.shift(); t; t = queue.shift()) {
    const s = await fuzz({ target: t, seed, cases: perTarget, corpus, includeOptional, caseMs, maxAllocBytes, onCase: (c) => {
      done++;
      if (show.has(c.outcome)) console.log(`  ${c.outcome}: ${t} case ${c.i} [${c.corpus}] ${c.desc.slice(0, 100)} — ${c.note?.slice(0, 200)}`);
      if (slowMs && c.ms > slowMs) console.log(`  slow: ${t} case ${c.i} [${c.corpus}] ${c.ms.toFixed(0)} ms ${c.outcome}: ${c.desc.slice(0, 160)}`);
    } });
    results.push(s);
    if (process.stderr.isTTY) process.stderr.write('\r');
    console.log(formatStats(s));
  }
}));
clearInterval(tick);
const failures = results.reduce((n, s) => n + s.failures.length, 0);
const cases = results.reduce((n, s) => n + s.cases, 0);
console.log(`\n${cases} cases, ${failures} failures`);
process.exit(failures ? 1 : 0);
