/**
 * The demo page: open a model (URL, file(s) or folder), watch it load, chat with streaming
 * output. Everything runs in the page through the browser build (src/browser.ts).
 */
import { type ChatSession, clearModelCache, type Gemma, type LoadProgressEvent, loadModel, type ModelSource } from '../src/browser.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const ui = {
  url: $<HTMLInputElement>('url'), loadUrl: $<HTMLButtonElement>('load-url'), files: $<HTMLInputElement>('files'), folder: $<HTMLInputElement>('folder'),
  backend: $<HTMLSelectElement>('backend'), context: $<HTMLInputElement>('context'), cache: $<HTMLInputElement>('cache'), clearCache: $<HTMLButtonElement>('clear-cache'),
  progress: $<HTMLProgressElement>('progress'), status: $<HTMLSpanElement>('status'), backendUsed: $<HTMLSpanElement>('backend-used'),
  messages: $<HTMLDivElement>('messages'), composer: $<HTMLFormElement>('composer'), system: $<HTMLInputElement>('system'),
  prompt: $<HTMLTextAreaElement>('prompt'), send: $<HTMLButtonElement>('send'), stop: $<HTMLButtonElement>('stop'), reset: $<HTMLButtonElement>('reset'),
  maxTokens: $<HTMLInputElement>('max-tokens'), temperature: $<HTMLInputElement>('temperature'), seed: $<HTMLInputElement>('seed'), stats: $<HTMLSpanElement>('stats'),
  raw: $<HTMLInputElement>('raw'),
};

let model: Gemma | undefined;
let session: ChatSession | undefined;
let sessionSystem = '';
let running: { abort(): void } | undefined;
let loading: AbortController | undefined;

function setStatus(text: string, error = false): void {
  ui.status.textContent = text;
  ui.status.classList.toggle('error', error);
}

function mib(n: number): string { return `${(n / 2 ** 20).toFixed(1)} MiB`; }

function onProgress(e: LoadProgressEvent): void {
  switch (e.phase) {
    case 'backend':
      ui.backendUsed.hidden = false;
      ui.backendUsed.textContent = e.backend;
      ui.backendUsed.title = e.reason;
      setStatus(`backend ${e.backend} (${e.reason})`);
      break;
    case 'download':
      ui.progress.value = e.total ? e.loaded / e.total : 0;
      setStatus(`downloading ${e.file.split('/').pop()}: ${mib(e.loaded)} / ${mib(e.total)}`);
      break;
    case 'weights':
      ui.progress.value = e.done / e.total;
      setStatus(`loading weights ${e.done}/${e.total}`);
      break;
    case 'ready':
      ui.progress.value = 1;
      break;
  }
}

function setChatEnabled(on: boolean): void {
  for (const el of [ui.prompt, ui.send, ui.reset]) el.disabled = !on;
}

function addMessage(role: 'user' | 'assistant' | 'note', text: string): HTMLDivElement {
  const div = document.createElement('div');
  div.className = `msg ${role}`;
  div.textContent = text;
  ui.messages.append(div);
  ui.messages.scrollTop = ui.messages.scrollHeight;
  return div;
}

async function load(source: ModelSource, label: string): Promise<void> {
  loading?.abort();
  loading = new AbortController();
  running?.abort();
  session?.dispose();
  session = undefined;
  const old = model;
  model = undefined;
  setChatEnabled(false);
  await old?.dispose();
  ui.progress.value = 0;
  ui.backendUsed.hidden = true;
  setStatus(`opening ${label}…`);
  const t0 = performance.now();
  try {
    model = await loadModel(source, {
      backend: ui.backend.value, contextLength: Number(ui.context.value) || undefined,
      cache: ui.cache.checked, onProgress, signal: loading.signal,
    });
  } catch (e) {
    const cause = (e as { cause?: { message?: string } }).cause?.message;
    setStatus(`could not load ${label}: ${(e as Error).message}${cause ? ` (${cause})` : ''}`, true);
    return;
  }
  ui.backendUsed.hidden = false;
  ui.backendUsed.textContent = model.backend;
  setStatus(`ready: ${model.name} (Gemma ${model.config.family}, ${model.config.numLayers} layers, context ${model.contextLength}) on ${model.backend} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  document.body.dataset.state = 'ready';
  addMessage('note', `${model.name} loaded on ${model.backend}`);
  setChatEnabled(true);
  ui.prompt.focus();
}

function currentSession(): ChatSession {
  const sys = ui.system.value.trim();
  if (!session || sys !== sessionSystem) {
    session?.dispose();
    session = model!.createChatSession({ system: sys || undefined });
    sessionSystem = sys;
  }
  return session;
}

async function send(): Promise<void> {
  const text = ui.prompt.value.trim();
  if (!model || !text || running) return;
  ui.prompt.value = '';
  addMessage('user', text);
  const out = addMessage('assistant', '');
  out.classList.add('streaming');
  const seed = ui.seed.value === '' ? undefined : Number(ui.seed.value);
  const opts = { maxTokens: Number(ui.maxTokens.value) || 256, temperature: Number(ui.temperature.value), seed };
  // raw completion: the text continues the prompt (base models); else a chat turn
  if (ui.raw.checked) out.textContent = text;
  const g = ui.raw.checked ? model.generate(text, opts) : currentSession().send(text, opts);
  running = g;
  ui.stop.disabled = false;
  ui.send.disabled = true;
  document.body.dataset.state = 'generating';
  try {
    for await (const chunk of g) { out.textContent += chunk; ui.messages.scrollTop = ui.messages.scrollHeight; }
    const r = await g.result;
    ui.stats.textContent = `${r.usage.completionTokens} tokens · ${r.tokensPerSecond.toFixed(1)} tokens/s · prompt ${r.usage.promptTokens} (${r.usage.cachedTokens} cached) · ${r.finishReason}`;
    if (r.finishReason === 'abort') out.textContent += ' [stopped]';
  } catch (e) {
    out.textContent += `\n[error: ${(e as Error).message}]`;
  } finally {
    out.classList.remove('streaming');
    running = undefined;
    ui.stop.disabled = true;
    ui.send.disabled = false;
    document.body.dataset.state = 'ready';
  }
}

ui.loadUrl.addEventListener('click', () => { const u = ui.url.value.trim(); if (u) void load(u, u); });
ui.url.addEventListener('keydown', (e) => { if (e.key === 'Enter') ui.loadUrl.click(); });
ui.files.addEventListener('change', () => { if (ui.files.files?.length) void load(Array.from(ui.files.files), `${ui.files.files.length} file(s)`); });
ui.folder.addEventListener('change', () => { if (ui.folder.files?.length) void load(Array.from(ui.folder.files), 'folder'); });
ui.composer.addEventListener('submit', (e) => { e.preventDefault(); void send(); });
ui.prompt.addEventListener('keydown', (e) => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); void send(); } });
ui.stop.addEventListener('click', () => running?.abort());
ui.reset.addEventListener('click', () => { session?.reset(); ui.messages.replaceChildren(); ui.stats.textContent = ''; addMessage('note', 'conversation reset'); });
ui.clearCache.addEventListener('click', async () => { const n = await clearModelCache(); setStatus(`removed ${n} cached file(s)`); });

// default URL: the trained demo model when the server has it, else the synthetic one
void (async () => {
  const r = await fetch('models/demo/config.json', { method: 'HEAD' }).catch(() => undefined);
  if (!r?.ok) ui.url.value = 'models/demo-synth/';
  document.body.dataset.state = 'idle';
})();
