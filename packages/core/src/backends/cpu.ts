import type { BackendPlugin } from './types.js';
import { importOptional } from '../internal/import.js';

let loaded = false;

/** The reference JavaScript backend: always available, slow, exact. */
export const cpuBackend: BackendPlugin<'cpu'> = {
  kind: 'backend',
  name: 'cpu',
  tfjsName: 'cpu',
  priority: 10,
  syncRead: true,
  description: 'plain JavaScript kernels (@tensorflow/tfjs-backend-cpu)',
  async isAvailable() {
    return true;
  },
  async init() {
    if (loaded) return;
    await importOptional('@tensorflow/tfjs-backend-cpu', 'backend:cpu');
    loaded = true;
  },
};
