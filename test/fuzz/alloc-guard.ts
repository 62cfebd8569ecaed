/**
 * An allocation tripwire for the fuzz worker: the global ArrayBuffer, typed-array and Array
 * constructors are replaced by proxies that refuse (and record) any single allocation
 * over a bound. A header that claims 1 TB must be rejected by a check, not by the
 * allocator — and a lazily-committed 2 GB `new Float32Array(n)` would not even show up
 * in RSS, so sizes are checked where they are asked for.
 *
 * Engine code looks these constructors up as globals at call time, so the proxies see
 * every `new Float32Array(n)`, `new Array(n)` and `Array.from({ length: n })`.
 */
export class AllocationRefused extends Error {
  constructor(readonly what: string, readonly bytes: number) {
    super(`fuzz guard: refused to allocate ${what} of ${bytes} bytes`);
    this.name = 'AllocationRefused';
  }
}

/** Refusals since the last `takeRefusals()`: seen even when the engine wraps or swallows the error. */
let refusals: AllocationRefused[] = [];
export function takeRefusals(): AllocationRefused[] { const r = refusals; refusals = []; return r; }

const TYPED = [
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array',
  'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array', 'Float16Array',
];

function lengthArg(a: unknown): number {
  if (typeof a === 'number') return a;
  // array-likes are copied; buffers and views are not new memory
  if (a && typeof a === 'object' && !(a instanceof ArrayBuffer) && !ArrayBuffer.isView(a) && typeof (a as { length?: unknown }).length === 'number') {
    return (a as { length: number }).length;
  }
  return 0;
}

let installed = false;
let suspended = 0;

/** Run `f` (the fuzzer's own work: building a mutated input) with the guard off. */
export async function unguarded<T>(f: () => Promise<T>): Promise<T> {
  suspended++;
  try { return await f(); } finally { suspended--; }
}

export function installAllocGuard(maxBytes: number, maxArrayLength: number): void {
  if (installed) return;
  installed = true;
  const g = globalThis as unknown as Record<string, unknown>;
  const refuse = (what: string, bytes: number): never => {
    const e = new AllocationRefused(what, bytes);
    refusals.push(e);
    throw e;
  };
  for (const name of ['ArrayBuffer', 'SharedArrayBuffer', ...TYPED]) {
    const C = g[name] as (new (...a: unknown[]) => object) & { BYTES_PER_ELEMENT?: number } | undefined;
    if (!C) continue;
    const bpe = C.BYTES_PER_ELEMENT ?? 1;
    g[name] = new Proxy(C, {
      construct(target, args, newTarget) {
        const bytes = lengthArg(args[0]) * bpe;
        if (bytes > maxBytes && suspended === 0) refuse(name, bytes);
        return Reflect.construct(target, args, newTarget);
      },
    });
  }
  const A = Array;
  const check = (args: unknown[]) => {
    if (args.length === 1 && typeof args[0] === 'number' && args[0] > maxArrayLength && suspended === 0) refuse('Array', args[0] * 8);
  };
  g['Array'] = new Proxy(A, {
    construct(target, args, newTarget) { check(args); return Reflect.construct(target, args, newTarget); },
    apply(target, self, args) { check(args); return Reflect.apply(target, self, args); },
  });
}
