/** gemma-ts command line: `gemma-ts <command> [options]`. */
import { isGemmaError } from '../errors.js';
import { COMMANDS } from './commands/index.js';

function help(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length));
  return ['usage: gemma-ts <command> [options]', '', 'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`), '', 'gemma-ts <command> --help for details'].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') { console.log(help()); return name ? 0 : 1; }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) { console.error(`gemma-ts: unknown command ${JSON.stringify(name)}\n\n${help()}`); return 2; }
  if (rest.includes('--help') || rest.includes('-h')) { console.log(cmd.usage); return 0; }
  try {
    return (await cmd.run(rest)) ?? 0;
  } catch (e) {
    if (isGemmaError(e)) { console.error(`gemma-ts ${name}: error [${e.code}]: ${e.message}`); return 1; }
    if (e instanceof Error && e.name === 'UsageError') { console.error(`gemma-ts ${name}: ${e.message}\n\n${cmd.usage}`); return 2; }
    throw e;
  }
}

process.exitCode = await main(process.argv.slice(2));
