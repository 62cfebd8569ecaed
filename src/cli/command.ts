/** A CLI sub-command: `gemma-ts <name> ...`. Each lives in src/cli/commands/<name>.ts. */
export interface Command {
  name: string;
  /** one line for `gemma-ts --help` */
  summary: string;
  /** full usage text for `gemma-ts <name> --help` */
  usage: string;
  /** returns the process exit code (0 when omitted) */
  run(argv: string[]): Promise<number | void>;
}

/** Minimal flag parser: --key value, --key=value, --flag (boolean), positionals. */
export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string | true>;
}

export function parseArgs(argv: string[], booleanFlags: readonly string[] = []): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') { positionals.push(...argv.slice(i + 1)); break; }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) { flags.set(a.slice(2, eq), a.slice(eq + 1)); continue; }
      const key = a.slice(2);
      const next = argv[i + 1];
      if (booleanFlags.includes(key) || next === undefined || next.startsWith('--')) flags.set(key, true);
      else { flags.set(key, next); i++; }
    } else if (a.startsWith('-') && a.length === 2 && a !== '-') {
      flags.set(a.slice(1), true);
    } else positionals.push(a);
  }
  return { positionals, flags };
}

export function flagString(p: ParsedArgs, key: string): string | undefined {
  const v = p.flags.get(key);
  return typeof v === 'string' ? v : undefined;
}

export function flagNumber(p: ParsedArgs, key: string): number | undefined {
  const v = flagString(p, key);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${key} expects a number, got ${JSON.stringify(v)}`);
  return n;
}

/** A mistake in the command line (printed with the usage text, exit code 2). */
export class UsageError extends Error {
  constructor(message: string) { super(message); this.name = 'UsageError'; }
}

export function requireString(p: ParsedArgs, key: string): string {
  const v = flagString(p, key);
  if (v === undefined) throw new UsageError(`--${key} is required`);
  return v;
}

/** Parse "2,17,99" into token ids. */
export function parseIdList(s: string): number[] {
  const ids = s.split(',').map((x) => x.trim()).filter(Boolean).map(Number);
  if (!ids.length || ids.some((x) => !Number.isInteger(x) || x < 0)) throw new UsageError(`expected comma-separated token ids, got ${JSON.stringify(s)}`);
  return ids;
}
