import type { BackendPlugin } from './types.js';

/** WebGPU: filled in by the backends work. */
export const webgpuBackend: BackendPlugin<'webgpu'> = {
  kind: 'backend',
  name: 'webgpu',
  tfjsName: 'webgpu',
  priority: 40,
  syncRead: false,
  async isAvailable() {
    return false;
  },
  async init() {},
};
