// `@rnode/core/backends/webgpu`: the WebGPU backend with a static import of
// @tensorflow/tfjs-backend-webgpu, which bundlers follow. Importing this entry
// registers the plugin and rnode's WebGPU kernel fixes (the chunked AddN), so
// they apply even to a plain `tf.setBackend('webgpu')`. Works unchanged in Node
// (dawn.node from the `webgpu` package is started by `useBackend`).
import * as tfjsWebgpu from '@tensorflow/tfjs-backend-webgpu';
import { register } from '../registry.js';
import { createWebgpuBackend, isSoftwareAdapter, provideWebgpuModule, webgpuBackend } from '../backends/webgpu.js';
import type { WebgpuBackendOptions } from '../backends/webgpu.js';
import { registerWebgpuKernels } from '../backends/webgpu-kernels.js';

provideWebgpuModule(tfjsWebgpu as unknown as Parameters<typeof provideWebgpuModule>[0]);
registerWebgpuKernels();
register(webgpuBackend);

export { webgpuBackend, createWebgpuBackend, isSoftwareAdapter };
export type { WebgpuBackendOptions };
