/**
 * A tiny WGSL preprocessor, so one shader file can serve the f32/f16, subgroup/workgroup-memory
 * and per-dtype variants:
 *
 *   #include "name"      paste SHADERS[name] (itself preprocessed), once per shader
 *   #if NAME / #if !NAME  keep the lines up to the matching #else / #endif when NAME is truthy / falsy
 *   #else, #endif
 *   {{NAME}}             replaced by String(defines[NAME]) (an unknown name is an error)
 *
 * Directives must start their line (after whitespace). Nothing else is interpreted.
 */
import { GemmaError } from '../../errors.js';
import { SHADERS } from './shaders.generated.js';

export type Defines = Readonly<Record<string, string | number | boolean>>;

export function preprocess(name: string, defines: Defines, included = new Set<string>()): string {
  const src = SHADERS[name];
  if (src === undefined) throw new GemmaError('INTERNAL', `no shader named ${JSON.stringify(name)}`);
  included.add(name);
  const out: string[] = [];
  // stack of [this branch is taken, some enclosing branch is off]
  const stack: { on: boolean; parentOn: boolean; seenElse: boolean }[] = [];
  const live = () => stack.every((s) => s.on);
  const lines = src.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const where = `${name}.wgsl:${i + 1}`;
    const subst = (s: string) => s.replace(/\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}/g, (_, k: string) => {
      const v = defines[k];
      if (v === undefined) throw new GemmaError('INTERNAL', `${where}: {{${k}}} is not defined`);
      return String(v);
    });
    const line = lines[i]!;
    const t = line.trim();
    let m: RegExpMatchArray | null;
    if ((m = t.match(/^#if\s+(!?)([A-Za-z_][A-Za-z0-9_]*)\s*$/))) {
      const v = Boolean(defines[m[2]!]);
      stack.push({ on: m[1] ? !v : v, parentOn: live(), seenElse: false });
    } else if (t === '#else') {
      const top = stack[stack.length - 1];
      if (!top || top.seenElse) throw new GemmaError('INTERNAL', `${where}: #else without #if`);
      top.on = !top.on;
      top.seenElse = true;
    } else if (t === '#endif') {
      if (!stack.pop()) throw new GemmaError('INTERNAL', `${where}: #endif without #if`);
    } else if ((m = t.match(/^#include\s+"([^"]+)"\s*$/))) {
      const inc = live() ? subst(m[1]!) : '';
      if (inc && !included.has(inc)) out.push(preprocess(inc, defines, included));
    } else if (t.startsWith('#')) {
      throw new GemmaError('INTERNAL', `${where}: unknown directive ${t}`);
    } else if (live()) {
      out.push(subst(line));
    }
  }
  if (stack.length) throw new GemmaError('INTERNAL', `${name}.wgsl: #if without #endif`);
  return out.join('\n');
}
