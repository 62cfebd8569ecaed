/** The CLI's sub-commands, in `--help` order. Add one import + one entry per command. */
import type { Command } from '../command.js';

export const COMMANDS: Command[] = [
];
