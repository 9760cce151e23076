import * as tf from '@tensorflow/tfjs-core';
import { isRnodeError, RnodeError } from '../errors.js';
import { list, register, resolve, type KnownNames, type PluginRef } from '../registry.js';
import type { BackendInitContext, BackendPlugin } from './types.js';
import { cpuBackend } from './cpu.js';
import { wasmBackend } from './wasm.js';
import { webgpuBackend } from './webgpu.js';
import { tensorflowBackend, tensorflowGpuBackend } from './tensorflow.js';

export type { BackendPlugin, BackendInitContext } from './types.js';
export type { WebgpuBackendOptions } from './webgpu.js';
export { cpuBackend, wasmBackend, webgpuBackend, tensorflowBackend, tensorflowGpuBackend };
export { createWebgpuBackend } from './webgpu.js';

declare module '../registry.js' {
  interface BackendRegistry {
    cpu: true;
    wasm: true;
    webgpu: true;
    tensorflow: true;
    'tensorflow-gpu': true;
  }
}

/** The built-in backend plugins, registered on first use of the backend API. */
export const builtinBackends: readonly BackendPlugin[] = [
  cpuBackend,
  wasmBackend,
  webgpuBackend,
  tensorflowBackend,
  tensorflowGpuBackend,
];

let builtinsRegistered = false;
export function registerBuiltinBackends(): void {
  if (builtinsRegistered) return;
  register(builtinBackends as BackendPlugin[]);
  builtinsRegistered = true;
}

const defaultCtx: BackendInitContext = { warn: () => {} };
let active: BackendPlugin | undefined;

/**
 * Every registered backend with whether it is available here and, if not, why.
 * "Available" means its tfjs package is loadable (it is loaded to find out) and
 * the runtime has what it needs (WebAssembly, a WebGPU adapter); initialising can
 * still fail (e.g. the `.wasm` files are not served), which `useBackend` reports.
 */
export async function probeBackends(): Promise<
  Array<{ name: BackendName; available: boolean; software: boolean; priority: number; reason?: string }>
> {
  registerBuiltinBackends();
  const out = [];
  for (const b of list<BackendPlugin>('backend')) {
    const available = await safeAvailable(b);
    const reason = available ? undefined : b.unavailableReason?.();
    out.push({
      name: b.name as BackendName,
      available,
      software: available ? (b.isSoftware?.() ?? false) : false,
      priority: b.priority,
      ...(reason ? { reason } : {}),
    });
  }
  return out;
}

async function safeAvailable(b: BackendPlugin): Promise<boolean> {
  try {
    return await b.isAvailable();
  } catch {
    return false;
  }
}

/**
 * The order `auto` tries: available, non-software backends by descending
 * priority (a software WebGPU adapter such as SwiftShader is never chosen), then
 * `cpu` as the last resort if it is available.
 */
async function autoCandidates(): Promise<BackendPlugin[]> {
  registerBuiltinBackends();
  const out: BackendPlugin[] = [];
  for (const b of list<BackendPlugin>('backend').slice().sort((a, b) => b.priority - a.priority)) {
    if (!(await safeAvailable(b)) || b.isSoftware?.()) continue;
    out.push(b);
  }
  if (!out.includes(cpuBackend) && (await safeAvailable(cpuBackend))) out.push(cpuBackend);
  return out;
}

/**
 * The backend `auto` would try first: the largest priority among available,
 * non-software backends. Throws BACKEND_UNAVAILABLE when nothing is loadable
 * (not even `@tensorflow/tfjs-backend-cpu`).
 */
export async function pickAutoBackend(): Promise<BackendPlugin> {
  const [first] = await autoCandidates();
  if (!first) throw new RnodeError('BACKEND_UNAVAILABLE', noBackendMessage([]), { source: 'backend:auto' });
  return first;
}

function noBackendMessage(failures: string[]): string {
  return (
    'no backend could be initialised' +
    (failures.length ? `:\n  ${failures.join('\n  ')}` : '') +
    "\ninstall one (e.g. npm install @tensorflow/tfjs-backend-wasm@4.22.0) and, in a bundle, import its rnode entry " +
    "(import '@rnode/core/backends/wasm')"
  );
}

/** A registered backend name (the built-ins, and any a user declares in `BackendRegistry`). */
export type BackendName = KnownNames['backend'];

/** A backend to use: a plugin object, a registered name, or `auto` (the fastest that works here). */
export type BackendChoice = PluginRef<BackendPlugin> | 'auto';

/**
 * Initialise a backend and make it tfjs's current one. Accepts a plugin object,
 * a registered name, `auto`, or a list of these tried in order until one
 * initialises (`['webgpu', 'wasm']`: WebGPU with a wasm fallback). `auto` tries
 * the available backends by priority and falls back past any that fail to
 * initialise. Errors name every backend tried and what went wrong with each.
 */
export async function useBackend(
  ref: BackendChoice | readonly BackendChoice[] = 'auto',
  ctx: BackendInitContext = defaultCtx,
): Promise<BackendPlugin> {
  registerBuiltinBackends();
  const refs = Array.isArray(ref) ? (ref as readonly BackendChoice[]) : [ref as BackendChoice];
  if (refs.length === 0) throw new RnodeError('INVALID_OPTIONS', 'useBackend: the list of backends is empty', { source: 'option:backend' });
  const single = refs.length === 1 && refs[0] !== 'auto';
  const failures: string[] = [];
  for (const r of refs) {
    const candidates = r === 'auto' ? await autoCandidates() : [resolve<BackendPlugin>('backend', r, 'backend')];
    for (const plugin of candidates) {
      try {
        return await initBackend(plugin, ctx);
      } catch (e) {
        if (single) throw e;
        failures.push(`${plugin.name}: ${(e as Error)?.message ?? e}`);
      }
    }
  }
  throw new RnodeError('BACKEND_UNAVAILABLE', noBackendMessage(failures), { source: 'backend:auto' });
}

async function initBackend(plugin: BackendPlugin, ctx: BackendInitContext): Promise<BackendPlugin> {
  if (!(await safeAvailable(plugin))) {
    throw new RnodeError(
      'BACKEND_UNAVAILABLE',
      plugin.unavailableReason?.() ?? `backend "${plugin.name}" is not available in this environment`,
      { source: `backend:${plugin.name}` },
    );
  }
  try {
    await plugin.init(ctx);
    const ok = await tf.setBackend(plugin.tfjsName);
    if (!ok) throw new Error(`tf.setBackend('${plugin.tfjsName}') returned false`);
    await tf.ready();
  } catch (cause) {
    if (isRnodeError(cause)) throw cause;
    throw new RnodeError('BACKEND_UNAVAILABLE', `could not initialise backend "${plugin.name}": ${(cause as Error)?.message ?? cause}`, {
      source: `backend:${plugin.name}`,
      cause,
    });
  }
  active = plugin;
  return plugin;
}

/** The backend plugin last activated by `useBackend`, if tfjs still uses it. */
export function currentBackend(): BackendPlugin | undefined {
  if (active && tf.getBackend() === active.tfjsName) return active;
  return undefined;
}

/**
 * Whether synchronous reads (`dataSync`) work on tfjs's current backend. Code
 * that must read on the host inside a synchronous solve checks this first.
 */
export function canReadSync(): boolean {
  const b = currentBackend();
  if (b) return typeof b.syncRead === 'function' ? b.syncRead() : b.syncRead;
  // Set by tf.setBackend directly: WebGPU's synchronous reads are never trusted (see the webgpu plugin).
  return tf.getBackend() !== 'webgpu';
}
