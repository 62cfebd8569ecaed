import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../src/cli/commands/serve.js';
import { writeSynth } from '../../src/cli/commands/synth.js';
import { type Gemma, loadModel } from '../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'gemma-ts-serve-'));
const gguf = join(dir, 'tiny.gguf');
let model: Gemma, server: RunningServer, url: string;

beforeAll(async () => {
  await writeSynth('tiny-gemma-3', 'f32', 'gguf', 6, gguf);
  model = await loadModel(gguf, { backend: 'reference', contextLength: 128, maxQueue: 1 });
  server = await startServer(model, { port: 0, maxTokensLimit: 64, maxBody: 4096 });
  url = server.url;
});
afterAll(async () => { await server?.close(); await model?.dispose(); });

const post = (path: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal) =>
  fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body), signal });

/** parse a server-sent-events body into its data payloads */
function sseData(text: string): string[] {
  expect(text.endsWith('\n\n')).toBe(true);
  return text.split('\n\n').filter(Boolean).map((ev) => {
    expect(ev.startsWith('data: ')).toBe(true);
    return ev.slice(6);
  });
}

describe('serve (OpenAI-compatible HTTP)', () => {
  it('binds 127.0.0.1 and lists the model at /v1/models', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const r = await fetch(url + '/v1/models');
    expect(r.status).toBe(200);
    const j = await r.json();
    expect(j).toEqual({ object: 'list', data: [{ id: model.name, object: 'model', created: expect.any(Number), owned_by: 'gemma-ts' }] });
  });

  it('POST /v1/chat/completions returns a chat.completion equal to the API result', async () => {
    const msgs = [{ role: 'user', content: 'Hello' }];
    const r = await post('/v1/chat/completions', { model: 'whatever', messages: msgs, max_tokens: 6, temperature: 0 });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    const j = await r.json();
    expect(j.object).toBe('chat.completion');
    expect(j.model).toBe(model.name);
    expect(j.choices[0].message.role).toBe('assistant');
    const direct = await model.chat(msgs, { temperature: 0, maxTokens: 6 });
    expect(j.choices[0].message.content).toBe(direct.text);
    expect(j.choices[0].finish_reason).toBe(direct.finishReason);
    expect(j.usage).toMatchObject({ prompt_tokens: direct.usage.promptTokens, completion_tokens: direct.usage.completionTokens });
  });

  it('stream: true sends SSE chunks ending in [DONE] that join to the same text', async () => {
    const body = { messages: [{ role: 'user', content: 'Tell me a story' }], max_tokens: 10, temperature: 0, stream: true };
    const r = await post('/v1/chat/completions', body);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/event-stream');
    const data = sseData(await r.text());
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    for (const c of chunks) expect(c.object).toBe('chat.completion.chunk');
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.at(-1).choices[0].finish_reason).toMatch(/^(stop|length)$/);
    const text = chunks.map((c) => c.choices[0].delta.content ?? '').join('');
    const direct = await model.chat(body.messages, { temperature: 0, maxTokens: 10 });
    expect(text).toBe(direct.text);
  });

  it('POST /v1/completions, plain and streamed', async () => {
    const r = await post('/v1/completions', { prompt: 'Once upon a time', max_tokens: 5, temperature: 0 });
    const j = await r.json();
    expect(j.object).toBe('text_completion');
    const direct = await model.generate('Once upon a time', { temperature: 0, maxTokens: 5 });
    expect(j.choices[0].text).toBe(direct.text);
    const s = await post('/v1/completions', { prompt: 'Once upon a time', max_tokens: 5, temperature: 0, stream: true });
    const data = sseData(await s.text());
    expect(data.at(-1)).toBe('[DONE]');
    expect(data.slice(0, -1).map((d) => JSON.parse(d).choices[0].text).join('')).toBe(direct.text);
  });

  it('rejects bad requests with OpenAI-style errors and the right status', async () => {
    const cases: [Promise<Response>, number][] = [
      [fetch(url + '/v1/nope'), 404],
      [fetch(url + '/v1/chat/completions'), 405],
      [post('/v1/chat/completions', '{not json'), 400],
      [post('/v1/chat/completions', { messages: [] }), 400],
      [post('/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }], max_tokens: 65 }), 400],
      [post('/v1/chat/completions', { messages: [{ role: 'user', content: 'x'.repeat(5000) }] }), 413],
      // prompts longer than the 128-token context: CONTEXT_OVERFLOW → 400
      [post('/v1/chat/completions', { messages: [{ role: 'user', content: 'word '.repeat(400) }] }), 400],
      [post('/v1/completions', { prompt: Array.from({ length: 300 }, () => 7), max_tokens: 2 }), 400],
    ];
    for (const [p, status] of cases) {
      const r = await p;
      expect(r.status).toBe(status);
      const j = await r.json();
      expect(typeof j.error.message).toBe('string');
    }
  });

  it('answers 429 when the queue is full, and a client that disconnects frees the model', async () => {
    const long = { messages: [{ role: 'user', content: 'Go on' }], max_tokens: 64, temperature: 0, stream: true, ignore_eos: true };
    const slow = model.onLayer(() => new Promise((r) => setTimeout(r, 5))); // ~30 ms a token
    const ac = new AbortController();
    const first = await post('/v1/chat/completions', long, {}, ac.signal);
    const reader = first.body!.getReader();
    await reader.read(); // the role chunk: generation is running
    const second = post('/v1/chat/completions', { ...long, stream: false, max_tokens: 2 });
    await new Promise((r) => setTimeout(r, 50));
    const third = await post('/v1/chat/completions', { ...long, stream: false, max_tokens: 2 });
    expect(third.status).toBe(429);
    expect((await third.json()).error.type).toBe('rate_limit_error');
    ac.abort();
    await reader.cancel().catch(() => {});
    expect((await second).status).toBe(200);
    for (let i = 0; i < 50 && model.pending > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(model.pending).toBe(0);
    slow();
  });

  it('requires the API key when one is set', async () => {
    const s = await startServer(model, { port: 0, apiKey: 'sekret' });
    try {
      expect((await fetch(s.url + '/v1/models')).status).toBe(401);
      expect((await fetch(s.url + '/v1/models', { headers: { authorization: 'Bearer sekret' } })).status).toBe(200);
    } finally { await s.close(); }
  });

  it('`gemma-ts serve` starts from the shell on a free port', async () => {
    const bin = join(__dirname, '..', '..', 'bin', 'gemma-ts.js');
    const child = spawn(process.execPath, [bin, 'serve', gguf, '--port', '0', '--backend', 'reference', '--quiet'], { env: { ...process.env, GEMMA_TS_FROM_SOURCE: '1' } });
    try {
      const base = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d) => { out += d; const m = /at (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(out); if (m) resolve(m[1]!); });
        child.once('exit', (c) => reject(new Error(`serve exited with ${c}`)));
        setTimeout(() => reject(new Error('serve did not start')), 60_000);
      });
      const r = await fetch(base + '/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 3 }) });
      expect(r.status).toBe(200);
      expect((await r.json()).choices[0].message.role).toBe('assistant');
    } finally {
      child.kill('SIGTERM');
    }
  });
});
