import { RnodeError } from '../errors.js';
import { tfjsPackageLoader } from './optional.js';
import type { BackendPlugin } from './types.js';
import { registerWasmKernels } from './wasm-kernels.js';

const load = tfjsPackageLoader('wasm', 'wasm', '@tensorflow/tfjs-backend-wasm');
let reason: string | undefined;

/**
 * WebAssembly (XNNPACK, SIMD) kernels: the default in Node. rnode registers the
 * kernels tfjs-backend-wasm lacks for training (Conv2DBackpropFilter and the
 * depthwise backprops), so every model trains on it. In a browser bundle,
 * import `@rnode/core/backends/wasm` (it imports the package statically and
 * re-exports `setWasmPaths`, which tells tfjs where its `.wasm` files are served).
 */
export const wasmBackend: BackendPlugin<'wasm'> = {
  kind: 'backend',
  name: 'wasm',
  tfjsName: 'wasm',
  priority: 20,
  syncRead: true,
  description: 'WebAssembly SIMD kernels (@tensorflow/tfjs-backend-wasm) plus rnode training kernels',
  async isAvailable() {
    if (typeof WebAssembly !== 'object') {
      reason = 'backend "wasm" needs WebAssembly, which this runtime lacks';
      return false;
    }
    const r = await load();
    reason = r.ok ? undefined : r.reason;
    return r.ok;
  },
  unavailableReason: () => reason,
  async init() {
    const r = await load();
    if (!r.ok) throw new RnodeError('BACKEND_UNAVAILABLE', r.reason, { source: 'backend:wasm' });
    registerWasmKernels();
  },
};
