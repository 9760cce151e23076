import { RnodeError } from '../errors.js';
import { importPeer, tfjsPackageLoader } from './optional.js';
import type { BackendInitContext, BackendPlugin } from './types.js';

const load = tfjsPackageLoader('wasm', 'wasm', '@tensorflow/tfjs-backend-wasm');

/** Set by `registerWasmKernels` (the `@rnode/core/backends/wasm` entry runs it at import). */
export const WASM_KERNELS_APPLIED = Symbol.for('rnode.wasm.kernelsApplied');
const ENTRY = ['@rnode/core', 'backends', 'wasm'].join('/');

/**
 * rnode's wasm kernels live in the bundler entry `@rnode/core/backends/wasm`, which applies
 * them at import; a bundle imports that entry statically (it is how tfjs-backend-wasm gets into
 * a bundle), so they are applied before `init`. Elsewhere (Node) `init` imports the entry by a
 * computed name, as it imports the tfjs package: bundlers do not follow it, so the main entry's
 * bundle carries none of the kernels' code.
 */
async function applyWasmKernels(ctx: BackendInitContext | undefined): Promise<void> {
  const r = await importPeer<{ registerWasmKernels(): string[] }>(ENTRY, 'backend:wasm');
  if (r.ok) r.module.registerWasmKernels();
  else {
    ctx?.warn(
      `[backend:wasm] rnode's wasm training kernels (conv/depthwise backprops, fast transposed BatchMatMul) are not applied: ` +
        `import '${ENTRY}' once in your app (${r.message})`,
    );
  }
}
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
  async init(ctx) {
    const r = await load();
    if (!r.ok) throw new RnodeError('BACKEND_UNAVAILABLE', r.reason, { source: 'backend:wasm' });
    if (!(globalThis as Record<symbol, unknown>)[WASM_KERNELS_APPLIED]) await applyWasmKernels(ctx);
  },
};
