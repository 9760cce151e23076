import * as tf from '@tensorflow/tfjs-core';
import { RnodeError } from '../errors.js';
import { list, register, resolve, type PluginRef } from '../registry.js';
import type { BackendInitContext, BackendPlugin } from './types.js';
import { cpuBackend } from './cpu.js';
import { wasmBackend } from './wasm.js';
import { webgpuBackend } from './webgpu.js';
import { tensorflowBackend, tensorflowGpuBackend } from './tensorflow.js';

export type { BackendPlugin, BackendInitContext } from './types.js';
export type { WebgpuBackendOptions } from './webgpu.js';
export { cpuBackend, wasmBackend, webgpuBackend, tensorflowBackend, tensorflowGpuBackend };
export { createWebgpuBackend } from './webgpu.js';
export { registerWasmKernels } from './wasm-kernels.js';
export { hostTensorIO, HOST_BACKENDS } from './host-io.js';
export type { HostTensorIO } from './host-io.js';

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
 */
export async function probeBackends(): Promise<
  Array<{ name: string; available: boolean; software: boolean; priority: number; reason?: string }>
> {
  registerBuiltinBackends();
  const out = [];
  for (const b of list<BackendPlugin>('backend')) {
    const available = await safeAvailable(b);
    const reason = available ? undefined : b.unavailableReason?.();
    out.push({
      name: b.name,
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
 * Pick the fastest available backend: the largest priority among available,
 * non-software backends (a software WebGPU adapter such as SwiftShader is never
 * chosen). `cpu` is always available, so this always succeeds.
 */
export async function pickAutoBackend(): Promise<BackendPlugin> {
  registerBuiltinBackends();
  const candidates = list<BackendPlugin>('backend').slice().sort((a, b) => b.priority - a.priority);
  for (const b of candidates) {
    if (!(await safeAvailable(b))) continue;
    if (b.isSoftware?.()) continue;
    return b;
  }
  return cpuBackend;
}

/**
 * Initialise a backend and make it tfjs's current one. Accepts a plugin object,
 * a registered name, or `auto`. Errors name the backend and say what to install.
 */
export async function useBackend(
  ref: PluginRef<BackendPlugin> | 'auto' = 'auto',
  ctx: BackendInitContext = defaultCtx,
): Promise<BackendPlugin> {
  registerBuiltinBackends();
  const plugin = ref === 'auto' ? await pickAutoBackend() : resolve<BackendPlugin>('backend', ref, 'backend');
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
  const name = tf.getBackend();
  if (name !== 'webgpu') return true;
  // WebGPU's synchronous read goes through OffscreenCanvas, which Node lacks.
  return typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas !== 'undefined';
}
