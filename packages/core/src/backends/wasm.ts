import type { BackendPlugin } from './types.js';
import { importOptional } from '../internal/import.js';
import { registerWasmKernels } from './wasm-kernels.js';

let loaded = false;

/**
 * WebAssembly (XNNPACK, SIMD) kernels: the default in Node. rnode registers the
 * kernels tfjs-backend-wasm lacks for training (Conv2DBackpropFilter and the
 * depthwise backprops), so every model trains on it.
 */
export const wasmBackend: BackendPlugin<'wasm'> = {
  kind: 'backend',
  name: 'wasm',
  tfjsName: 'wasm',
  priority: 20,
  syncRead: true,
  description: 'WebAssembly SIMD kernels (@tensorflow/tfjs-backend-wasm) plus rnode training kernels',
  async isAvailable() {
    return typeof WebAssembly === 'object';
  },
  unavailableReason() {
    return 'backend "wasm" needs WebAssembly, which this runtime lacks';
  },
  async init() {
    if (loaded) return;
    await importOptional('@tensorflow/tfjs-backend-wasm', 'backend:wasm', 'npm install @tensorflow/tfjs-backend-wasm@4.22.0');
    registerWasmKernels();
    loaded = true;
  },
};
