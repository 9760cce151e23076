import { RnodeError } from '../errors.js';
import { tfjsPackageLoader } from './optional.js';
import type { BackendPlugin } from './types.js';

const load = tfjsPackageLoader('cpu', 'cpu', '@tensorflow/tfjs-backend-cpu');
let reason: string | undefined;

/**
 * The reference JavaScript backend: exact and slow; available wherever
 * `@tensorflow/tfjs-backend-cpu` is installed. In a bundle, import
 * `@rnode/core/backends/cpu` (it imports the package statically).
 */
export const cpuBackend: BackendPlugin<'cpu'> = {
  kind: 'backend',
  name: 'cpu',
  tfjsName: 'cpu',
  priority: 10,
  syncRead: true,
  description: 'plain JavaScript kernels (@tensorflow/tfjs-backend-cpu)',
  async isAvailable() {
    const r = await load();
    reason = r.ok ? undefined : r.reason;
    return r.ok;
  },
  unavailableReason: () => reason,
  async init() {
    const r = await load();
    if (!r.ok) throw new RnodeError('BACKEND_UNAVAILABLE', r.reason, { source: 'backend:cpu' });
  },
};
