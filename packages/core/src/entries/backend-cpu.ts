// `@rnode/core/backends/cpu`: the cpu backend with a static import of its tfjs
// package, which bundlers (Vite, esbuild, webpack) follow. Importing this entry
// registers the plugin, so `useBackend('cpu')` works in a bundle.
import '@tensorflow/tfjs-backend-cpu';
import { register } from '../registry.js';
import { cpuBackend } from '../backends/cpu.js';

register(cpuBackend);

export { cpuBackend };
