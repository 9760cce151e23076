// Backend selection inside a worker: the public backend subpaths of @rnode/core, with the
// tfjs .wasm binaries located by Vite (?url imports, hashed into the build). The WebGPU backend
// (tfjs-backend-webgpu, most of the worker's code) is a separate chunk, loaded only when asked
// for: a wasm worker starts without parsing it.
import { useBackend, type BackendPlugin } from '@rnode/core';
import { setWasmPaths, wasmBackend } from '@rnode/core/backends/wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import type { BackendChoice } from './settings';

setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimd,
});

interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; description?: string; device?: string };
}

/** The WebGPU adapter's name as the browser reports it, or why there is none. */
export async function adapterName(): Promise<string> {
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } }).gpu;
  if (!gpu) return 'no navigator.gpu';
  const a = await gpu.requestAdapter();
  if (!a) return 'no WebGPU adapter';
  const i = a.info ?? {};
  return [i.vendor, i.architecture, i.description, i.device].filter((x) => x).join(' ') || 'unnamed adapter';
}

/**
 * Activate a backend. Both presets train on WebGPU: an adaptive training solve (FFJORD's
 * dopri5) cannot read synchronously there, and `createTrainer` then takes the asynchronous
 * adjoint by itself.
 */
export async function selectBackend(choice: BackendChoice): Promise<{ name: string; adapter: string; note: string }> {
  if (choice === 'wasm') {
    await useBackend([wasmBackend]);
    return { name: 'wasm', adapter: 'WebAssembly (CPU)', note: '' };
  }
  const [adapter, { webgpuBackend }] = await Promise.all([adapterName(), import('@rnode/core/backends/webgpu')]);
  const list: BackendPlugin[] = choice === 'webgpu' ? [webgpuBackend] : [webgpuBackend, wasmBackend];
  const b = await useBackend(list);
  const note = b.name !== 'webgpu' && choice === 'webgpu' ? `WebGPU unavailable (${adapter})` : '';
  return { name: b.name, adapter: b.name === 'webgpu' ? adapter : 'WebAssembly (CPU)', note };
}
