/** The CLI's sub-commands, in `--help` order. Add one import + one entry per command. */
import type { Command } from '../command.js';
import { benchCommand } from './bench.js';
import { chatCommand } from './chat.js';
import { generateCommand } from './generate.js';
import { inspectCommand } from './inspect.js';
import { logitsCommand } from './logits.js';
import { quantizeCommand } from './quantize.js';
import { quantReportCommand } from './quant-report.js';
import { recommendCommand } from './recommend.js';
import { serveCommand } from './serve.js';
import { synthCommand } from './synth.js';
import { tokenizeCommand } from './tokenize.js';

export const COMMANDS: Command[] = [
  generateCommand,
  chatCommand,
  inspectCommand,
  serveCommand,
  recommendCommand,
  logitsCommand,
  quantizeCommand,
  quantReportCommand,
  synthCommand,
  tokenizeCommand,
  benchCommand,
];
