import type { BackendPlugin } from './types.js';

/** libtensorflow through @tensorflow/tfjs-node: filled in by the backends work. */
export const tensorflowBackend: BackendPlugin<'tensorflow'> = {
  kind: 'backend',
  name: 'tensorflow',
  tfjsName: 'tensorflow',
  priority: 30,
  syncRead: true,
  async isAvailable() {
    return false;
  },
  async init() {},
};

export const tensorflowGpuBackend: BackendPlugin<'tensorflow-gpu'> = {
  kind: 'backend',
  name: 'tensorflow-gpu',
  tfjsName: 'tensorflow',
  priority: 50,
  syncRead: true,
  async isAvailable() {
    return false;
  },
  async init() {},
};
