import { writeFile } from 'node:fs/promises';
import { cliBackend } from '../backend.js';
import { loadPath } from '../../node.js';
import { type Command, flagString, parseArgs, parseIdList, requireString, UsageError } from '../command.js';

export const logitsCommand: Command = {
  name: 'logits',
  summary: 'write raw logits for given token ids (parity checks)',
  usage: `usage: gemma-ts logits <model> --tokens 2,17,99 --out FILE [--all] [--backend reference|wasm|webgpu]

<model> is a .gguf file or a safetensors directory. Writes float32 little-endian logits,
shape [positions x vocab] with --all, else [1 x vocab] for the last position.`,
  async run(argv) {
    const p = parseArgs(argv, ['all']);
    const model = p.positionals[0];
    if (!model) throw new UsageError('missing <model>');
    const tokens = parseIdList(requireString(p, 'tokens'));
    const out = requireString(p, 'out');
    const backend = await cliBackend(flagString(p, 'backend') ?? 'reference');
    const loaded = await loadPath(model, { backend, noTokenizer: true, contextLength: Math.max(tokens.length, 16) });
    try {
      const logits = await loaded.model.logits(tokens, { allLogits: p.flags.has('all') });
      await writeFile(out, new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength));
      console.error(`wrote ${logits.length / loaded.config.vocabSize} x ${loaded.config.vocabSize} logits to ${out}`);
    } finally {
      loaded.model.dispose();
      await loaded.close();
    }
  },
};
