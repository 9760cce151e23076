// `@rnode/core/backends/wasm`: the wasm backend with a static import of
// @tensorflow/tfjs-backend-wasm, which bundlers follow. Importing this entry
// registers the plugin and rnode's wasm training kernels (so they apply even to
// a plain `tf.setBackend('wasm')`); this is their only home, and the wasm plugin
// of the main entry imports this entry by name at `init` where it is not loaded
// yet (Node). In a browser, tell tfjs where its `.wasm` files are served with
// `setWasmPaths` before `useBackend`.
import { setWasmPaths, setThreadsCount, getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { register } from '../registry.js';
import { wasmBackend } from '../backends/wasm.js';
import { registerWasmKernels } from '../backends/wasm-kernels.js';

registerWasmKernels();
register(wasmBackend);

export { wasmBackend, registerWasmKernels, setWasmPaths, setThreadsCount, getThreadsCount };
