/** The CLI's sub-commands, in `--help` order. Add one import + one entry per command. */
import type { Command } from '../command.js';
import { logitsCommand } from './logits.js';
import { synthCommand } from './synth.js';
import { tokenizeCommand } from './tokenize.js';

export const COMMANDS: Command[] = [
  logitsCommand,
  synthCommand,
  tokenizeCommand,
];
