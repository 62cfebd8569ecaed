/** Backends for CLI commands: the same selection as loadModel (auto, webgpu via Dawn in Node, wasm, reference). */
import { type BackendChoice, pickBackend } from '../api/backend-select.js';
import { nodePlatform } from '../api/node-platform.js';
import type { Backend } from '../kernels/backend.js';

export async function cliBackend(choice: BackendChoice = 'auto', threads?: number, backendOptions?: Record<string, unknown>): Promise<Backend> {
  const picked = await pickBackend(choice, { threads, prepareWebGpu: nodePlatform.prepareWebGpu, backendOptions });
  return picked.backend;
}
