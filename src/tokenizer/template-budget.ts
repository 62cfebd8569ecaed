/**
 * Budgets for rendering a chat template. Templates come from model files (GGUF
 * tokenizer.chat_template, tokenizer_config.json), so they are untrusted code:
 * @huggingface/jinja's sandbox keeps them away from JavaScript objects, but not from
 * running forever (nested loops, exponential macro recursion) or building huge values
 * (a string doubled in a loop, indent(400000000)). Every evaluation step goes through
 * `evaluate`, so this subclass counts steps — one per AST node evaluated, plus 4 per item
 * of every list or string a {% for %} iterates (charged up front: an empty loop body
 * evaluates nothing), plus the length of every list (and 1/64 of every string) built by a
 * call or filter — checks the clock every 16 steps and at every bulk charge, and refuses
 * any intermediate string or list larger than the rendered prompt may be. A single
 * builtin loop cannot be interrupted: the clock is seen again after it (range() and lists
 * are bounded, so that is at most a few hundred ms).
 */
import { type Environment, Interpreter } from '@huggingface/jinja';

export interface TemplateBudget {
  /** evaluation steps (AST nodes evaluated) */
  maxSteps: number;
  /** wall-clock limit, ms */
  timeoutMs: number;
  /** longest string, in UTF-16 code units */
  maxChars: number;
  /** longest list */
  maxItems: number;
}

export const DEFAULT_TEMPLATE_BUDGET: TemplateBudget = {
  maxSteps: 2_000_000, timeoutMs: 1000, maxChars: 64 << 20, maxItems: 1 << 18,
};

/** Filters that repeat ' ' `width` times before any size check could see the result. */
const WIDTH_FILTERS = new Set(['indent', 'tojson', 'center']);
const MAX_WIDTH = 256;
/** one loop iteration (a new scope and a `loop` object) costs about as much as 4 evaluation steps */
const ITERATION_COST = 4;

export class TemplateBudgetExceeded extends Error {
  /** 'size': a string or list over the limits (GemmaError LIMIT); the others are TEMPLATE errors */
  constructor(readonly kind: 'steps' | 'time' | 'size' | 'width', message: string) { super(message); this.name = 'TemplateBudgetExceeded'; }
}

type Node = Parameters<Interpreter['evaluate']>[0];
type AnyNode = { type: string; [k: string]: unknown };

function now(): number { return globalThis.performance?.now() ?? Date.now(); }

/** Expressions that run builtin loops (range(), filters like join/map/tojson): their result size is charged. */
function costly(statement: Node): boolean {
  const t = statement?.type;
  return t === 'CallExpression' || t === 'FilterExpression' || t === 'FilterStatement';
}

export class BudgetedInterpreter extends Interpreter {
  private steps = 0;
  private ticks = 0;
  private readonly deadline: number;
  /** AST nodes whose value a {% for %} iterates: their length is charged as steps */
  private readonly iterables = new WeakSet<object>();

  constructor(env: Environment, private readonly budget: TemplateBudget) {
    super(env);
    this.deadline = now() + budget.timeoutMs;
  }

  override evaluate(statement: Node, environment: Environment): ReturnType<Interpreter['evaluate']> {
    this.charge(1);
    if (statement) {
      const t = statement.type;
      if (t === 'For') this.markIterable(statement as unknown as AnyNode);
      else if (t === 'FilterExpression' || t === 'FilterStatement') this.checkWidth(statement as unknown as AnyNode, environment);
    }
    const v = super.evaluate(statement, environment);
    const x = (v as { value?: unknown }).value;
    if (typeof x === 'string') {
      if (x.length > this.budget.maxChars) throw new TemplateBudgetExceeded('size', `template built a string of ${x.length} characters (limit ${this.budget.maxChars})`);
      // a loop body that is empty evaluates nothing per iteration: charge the iterations up front
      if (this.iterables.has(statement as object)) this.charge(ITERATION_COST * x.length);
      else if (costly(statement)) this.charge(x.length >>> 6);
    } else if (Array.isArray(x)) {
      if (x.length > this.budget.maxItems) throw new TemplateBudgetExceeded('size', `template built a list of ${x.length} items (limit ${this.budget.maxItems})`);
      if (this.iterables.has(statement as object)) this.charge(ITERATION_COST * x.length);
      else if (costly(statement)) this.charge(x.length);
    } else if (x instanceof Map && this.iterables.has(statement as object)) this.charge(ITERATION_COST * x.size);
    return v;
  }

  /** Count `n` steps of work; look at the clock every 16 single steps and at every bulk charge. */
  private charge(n: number): void {
    this.steps += n;
    if (this.steps > this.budget.maxSteps) throw new TemplateBudgetExceeded('steps', `template ran more than ${this.budget.maxSteps} steps`);
    if ((n > 1 || (++this.ticks & 15) === 0) && now() > this.deadline) throw new TemplateBudgetExceeded('time', `template ran longer than ${this.budget.timeoutMs} ms`);
  }

  private markIterable(node: AnyNode): void {
    const it = node['iterable'] as AnyNode | undefined;
    if (!it) return;
    this.iterables.add(it);
    // {% for x in xs if cond %}: the list evaluated is the select's left side
    if (it.type === 'SelectExpression' && it['lhs']) this.iterables.add(it['lhs'] as object);
  }

  /** indent(width) / tojson(indent=n): the width is checked before the filter runs. */
  private checkWidth(node: AnyNode, environment: Environment): void {
    const f = node['filter'] as AnyNode | undefined;
    if (!f || f.type !== 'CallExpression') return;
    const callee = f['callee'] as AnyNode;
    if (callee?.type !== 'Identifier' || !WIDTH_FILTERS.has(callee['value'] as string)) return;
    for (const a of (f['args'] as AnyNode[]) ?? []) {
      const expr = (a.type === 'KeywordArgumentExpression' ? a['value'] : a) as Node;
      const v = (this.evaluate(expr, environment) as { value?: unknown }).value;
      if (typeof v === 'number' && Math.abs(v) > MAX_WIDTH) throw new TemplateBudgetExceeded('width', `${callee['value'] as string} width ${v} is over ${MAX_WIDTH}`);
    }
  }
}
