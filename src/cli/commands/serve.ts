/**
 * `gemma-ts serve`: an OpenAI-compatible HTTP server for one model per process.
 *
 *   POST /v1/chat/completions   (stream: true → server-sent events, ending in `data: [DONE]`)
 *   POST /v1/completions
 *   GET  /v1/models, GET /health
 *
 * Limits: request bodies up to --max-body, max_tokens up to --max-tokens-limit, at most
 * --max-queue requests waiting behind the running one (then 429). A client that disconnects
 * aborts its generation. Binds 127.0.0.1 unless --host says otherwise.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { GemmaError, isGemmaError } from '../../errors.js';
import type { Gemma } from '../../api/gemma.js';
import type { ChatCompletionRequest, CompletionRequest } from '../../api/openai.js';
import { parseByteSize } from '../../api/memory.js';
import { type Command, flagNumber, flagString, parseArgs, UsageError } from '../command.js';
import { LOAD_FLAGS_USAGE, openModel } from './generate.js';

export interface ServeOptions {
  host?: string;
  port?: number;
  /** largest request body in bytes (default 1 MiB) */
  maxBody?: number;
  /** largest max_tokens a request may ask for (default 4096); also the default is min(512, this) */
  maxTokensLimit?: number;
  /** require `Authorization: Bearer <apiKey>` */
  apiKey?: string;
  /** Access-Control-Allow-Origin value (default: none) */
  cors?: string;
  log?: (line: string) => void;
}

export interface RunningServer { url: string; port: number; server: Server; close(): Promise<void> }

class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly type = 'invalid_request_error', readonly code: string | null = null) { super(message); }
}

function statusOf(e: unknown): HttpError {
  if (e instanceof HttpError) return e;
  if (isGemmaError(e)) {
    switch (e.code) {
      case 'BAD_ARGUMENT': case 'TEMPLATE': case 'TOKENIZER': case 'CONTEXT_OVERFLOW': case 'LIMIT':
        return new HttpError(400, e.message, 'invalid_request_error', e.code.toLowerCase());
      case 'BUSY': return new HttpError(429, e.message, 'rate_limit_error', 'busy');
      case 'ABORTED': return new HttpError(499, e.message, 'aborted', 'aborted');
      default: return new HttpError(500, e.message, 'server_error', e.code.toLowerCase());
    }
  }
  return new HttpError(500, (e as Error)?.message ?? String(e), 'server_error');
}

async function readBody(req: IncomingMessage, max: number): Promise<unknown> {
  const len = Number(req.headers['content-length'] ?? 0);
  if (len > max) throw new HttpError(413, `request body of ${len} bytes is over the ${max}-byte limit`);
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > max) throw new HttpError(413, `request body is over the ${max}-byte limit`);
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!/^application\/json\b/i.test(String(req.headers['content-type'] ?? 'application/json'))) throw new HttpError(415, 'send JSON (content-type: application/json)');
  try { return JSON.parse(text); } catch { throw new HttpError(400, 'the request body is not valid JSON'); }
}

export function startServer(model: Gemma, o: ServeOptions = {}): Promise<RunningServer> {
  const host = o.host ?? '127.0.0.1';
  const maxBody = o.maxBody ?? 1 << 20;
  const maxTokensLimit = o.maxTokensLimit ?? 4096;
  const created = Math.floor(Date.now() / 1000);
  const log = o.log ?? (() => {});

  const headers = (extra: Record<string, string> = {}): Record<string, string> => ({
    ...(o.cors ? { 'access-control-allow-origin': o.cors, 'access-control-allow-headers': 'authorization, content-type', 'access-control-allow-methods': 'GET, POST, OPTIONS' } : {}),
    ...extra,
  });
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, headers({ 'content-type': 'application/json' }));
    res.end(JSON.stringify(body));
  };
  const fail = (res: ServerResponse, e: unknown) => {
    const h = statusOf(e);
    if (res.headersSent) { if (!res.writableEnded) { res.write(`data: ${JSON.stringify({ error: { message: h.message, type: h.type, code: h.code } })}\n\n`); res.end(); } return; }
    json(res, h.status, { error: { message: h.message, type: h.type, code: h.code, param: null } });
  };

  /** clamp the request's token budget to the server's limit */
  const limitTokens = (req: { max_tokens?: number | null; max_completion_tokens?: number | null }) => {
    for (const k of ['max_tokens', 'max_completion_tokens'] as const) {
      const v = req[k];
      if (v !== undefined && v !== null && (typeof v !== 'number' || v > maxTokensLimit)) throw new HttpError(400, `${k} must be a number <= ${maxTokensLimit}`, 'invalid_request_error', 'max_tokens');
    }
    if ((req.max_tokens ?? null) === null && (req.max_completion_tokens ?? null) === null) req.max_tokens = Math.min(512, maxTokensLimit);
  };

  const sse = async (res: ServerResponse, stream: AsyncIterable<unknown>) => {
    res.writeHead(200, headers({ 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' }));
    for await (const chunk of stream) {
      if (res.destroyed) return;
      res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    }
    res.write('data: [DONE]\n\n');
    res.end();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (req.method === 'OPTIONS') { res.writeHead(204, headers()); res.end(); return; }
    if (path === '/health' && req.method === 'GET') return json(res, 200, { status: 'ok', model: model.name, backend: model.backend, pending: model.pending });
    if (o.apiKey && req.headers.authorization !== `Bearer ${o.apiKey}`) throw new HttpError(401, 'missing or wrong API key', 'authentication_error', 'invalid_api_key');
    if (path === '/v1/models' && req.method === 'GET') {
      return json(res, 200, { object: 'list', data: [{ id: model.name, object: 'model', created, owned_by: 'gemma-ts' }] });
    }
    if (path === `/v1/models/${model.name}` && req.method === 'GET') return json(res, 200, { id: model.name, object: 'model', created, owned_by: 'gemma-ts' });
    const isChat = path === '/v1/chat/completions', isText = path === '/v1/completions';
    if (!isChat && !isText) throw new HttpError(404, `no route ${req.method} ${url.pathname}`, 'invalid_request_error', 'not_found');
    if (req.method !== 'POST') throw new HttpError(405, `use POST for ${url.pathname}`);
    const body = await readBody(req, maxBody);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'the request body must be a JSON object');
    const r = body as ChatCompletionRequest & CompletionRequest;
    limitTokens(r);
    r.model = model.name;
    const ac = new AbortController();
    res.on('close', () => { if (!res.writableFinished) ac.abort(); });
    const t0 = Date.now();
    const out = isChat
      ? await model.chat.completions.create(r as ChatCompletionRequest, { signal: ac.signal })
      : await model.completions.create(r as CompletionRequest, { signal: ac.signal });
    if (r.stream) await sse(res, out as AsyncIterable<unknown>);
    else json(res, 200, out);
    log(`${req.method} ${url.pathname} ${r.stream ? 'stream ' : ''}${Date.now() - t0} ms`);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!(e instanceof HttpError) && !isGemmaError(e)) log(`error: ${(e as Error)?.stack ?? e}`);
      fail(res, e);
    });
  });
  server.requestTimeout = 0; // long generations; clients that leave abort their request
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new GemmaError('IO', `cannot listen on ${host}:${o.port ?? 8080}: ${(e as Error).message}`, { cause: e })));
    server.listen(o.port ?? 8080, host, () => {
      const a = server.address();
      const port = typeof a === 'object' && a ? a.port : o.port ?? 8080;
      const shown = host.includes(':') ? `[${host}]` : host;
      resolve({
        url: `http://${shown}:${port}`, port, server,
        close: () => new Promise<void>((ok) => { server.closeAllConnections(); server.close(() => ok()); }),
      });
    });
  });
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'OpenAI-compatible HTTP server (/v1/chat/completions, /v1/completions, /v1/models)',
  usage: `usage: gemma-ts serve [model] [--host 127.0.0.1] [--port 8080] [options]

Serves one model (the demo model when none is given) with OpenAI's request and response
shapes, streaming with server-sent events when a request says "stream": true. Requests run
one at a time in arrival order.

  --host H              address to bind (default 127.0.0.1: this machine only)
  --port N              default 8080 (0: any free port)
  --api-key KEY         require "Authorization: Bearer KEY"
  --max-body SIZE       largest request body (default 1MB)
  --max-tokens-limit N  largest max_tokens a request may ask (default 4096; default per request: min(512, N))
  --max-queue N         requests allowed to wait (default 16; more get HTTP 429)
  --cors ORIGIN         send Access-Control-Allow-Origin: ORIGIN (e.g. '*')
  --quiet               no request log

${LOAD_FLAGS_USAGE}`,
  async run(argv) {
    const p = parseArgs(argv, ['quiet']);
    const quiet = p.flags.has('quiet');
    const maxBodyFlag = flagString(p, 'max-body');
    const maxBody = maxBodyFlag === undefined ? undefined : parseByteSize(maxBodyFlag);
    if (maxBodyFlag !== undefined && maxBody === undefined) throw new UsageError('--max-body expects a size like 1MB');
    const maxQueue = flagNumber(p, 'max-queue') ?? 16;
    const { model } = await openModel(p, quiet, { maxQueue });
    const s = await startServer(model, {
      host: flagString(p, 'host'), port: flagNumber(p, 'port'), maxBody, maxTokensLimit: flagNumber(p, 'max-tokens-limit'),
      apiKey: flagString(p, 'api-key'), cors: flagString(p, 'cors'), log: quiet ? undefined : (l) => process.stderr.write(l + '\n'),
    });
    // the URL line goes to stdout so scripts can wait for it
    process.stdout.write(`serving ${model.name} (${model.backend}) at ${s.url}/v1\n`);
    await new Promise<void>((resolve) => {
      const stop = () => { process.off('SIGINT', stop); process.off('SIGTERM', stop); void s.close().then(() => resolve()); };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await model.dispose();
  },
};
