import { createInterface } from 'node:readline';
import { type Command, flagString, parseArgs } from '../command.js';
import { generateOptions, LOAD_FLAGS_USAGE, openModel, SAMPLING_FLAGS_USAGE, statsLine } from './generate.js';

const HELP = `commands: /reset (forget the conversation), /system TEXT (set the system prompt; /system alone removes it), /stats, /exit`;

export const chatCommand: Command = {
  name: 'chat',
  summary: 'interactive chat with streaming replies (/reset, /system, /exit)',
  usage: `usage: gemma-ts chat [model] [--system TEXT] [options]

Reads one user message per line from stdin and streams the model's reply. The KV cache is
kept across turns, so each turn only evaluates its new tokens. On a TTY it shows a "> "
prompt; piped input is answered line by line. Ctrl-C stops a reply; Ctrl-D (or /exit) quits.
${HELP}

  --system TEXT        system prompt
  --stats              print tokens/s after every reply
  --quiet              no loading progress

${SAMPLING_FLAGS_USAGE}

${LOAD_FLAGS_USAGE}`,
  async run(argv) {
    const p = parseArgs(argv, ['quiet', 'stats', 'ignore-eos']);
    const quiet = p.flags.has('quiet');
    const opts = generateOptions(p);
    if (!p.flags.has('max-tokens')) opts.maxTokens = 512;
    const { model } = await openModel(p, quiet);
    const tty = !!process.stdin.isTTY && !!process.stdout.isTTY;
    const session = model.createChatSession({ system: flagString(p, 'system') });
    const rl = createInterface({ input: process.stdin, output: tty ? process.stdout : undefined, terminal: tty });
    let current: { abort(): void } | undefined;
    rl.on('SIGINT', () => { if (current) current.abort(); else rl.close(); });
    const say = (s: string) => process.stdout.write(s);
    if (tty) { say(`chatting with ${model.name} on ${model.backend}. ${HELP}\n`); rl.setPrompt('> '); rl.prompt(); }
    let last: string | undefined;
    try {
      for await (const raw of rl) {
        const line = raw.trim();
        if (line === '') { if (tty) rl.prompt(); continue; }
        if (line === '/exit' || line === '/quit') break;
        if (line === '/reset') { session.reset(); say('(conversation reset)\n'); }
        else if (line === '/system' || line.startsWith('/system ')) {
          const text = line.slice('/system'.length).trim();
          session.setSystem(text || undefined);
          session.reset();
          say(text ? '(system prompt set, conversation reset)\n' : '(system prompt removed, conversation reset)\n');
        } else if (line === '/stats') say(`${last ?? '(no reply yet)'}; ${session.cachedTokens} tokens in the cache\n`);
        else if (line === '/help') say(HELP + '\n');
        else if (line.startsWith('/')) say(`unknown command ${line.split(' ')[0]}. ${HELP}\n`);
        else {
          const g = session.send(line, opts);
          current = g;
          try {
            for await (const chunk of g) say(chunk);
            const r = await g.result;
            say(r.finishReason === 'abort' ? ' [stopped]\n' : '\n');
            last = statsLine(r, model.backend);
            if (p.flags.has('stats')) process.stderr.write(last + '\n');
          } catch (e) {
            process.stderr.write(`error: ${(e as Error).message}\n`);
          } finally {
            current = undefined;
          }
        }
        if (tty) rl.prompt();
      }
    } finally {
      rl.close();
      session.dispose();
      await model.dispose();
    }
  },
};
