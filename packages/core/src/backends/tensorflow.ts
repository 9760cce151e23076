import * as tf from '@tensorflow/tfjs-core';
import { RnodeError } from '../errors.js';
import { importPeer } from './optional.js';
import type { BackendPlugin } from './types.js';

/**
 * libtensorflow through @tensorflow/tfjs-node (CPU) or @tensorflow/tfjs-node-gpu
 * (CUDA). Node only.
 *
 * Both packages register the same tfjs backend, `tensorflow`, with the same
 * native kernels, so only one of them can be loaded per process: whichever
 * plugin loads first wins, and the other then reports itself unavailable (and
 * its `init` throws BACKEND_UNAVAILABLE saying so).
 *
 * "Installed?" is answered by importing the package: without node:fs (banned
 * from the core import graph) there is no cheap, bundler-safe way to look a
 * package up, and a package that resolves can still fail to load its native
 * binding (the libtensorflow download of its install script failed). Importing
 * is the only test that means "usable"; it costs one load of libtensorflow,
 * which `init` would pay anyway, and the result is cached per process. The
 * side effect: a loaded tfjs-node registers the `tensorflow` backend with tfjs
 * (tfjs picks it by default only if no backend was set; `useBackend` always
 * sets one explicitly).
 */

const PACKAGES = {
  tensorflow: '@tensorflow/tfjs-node',
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
} as const;
type NativeName = keyof typeof PACKAGES;

const INSTALL_HINT: Record<NativeName, string> = {
  tensorflow:
    'npm install @tensorflow/tfjs-node@4.22.0 (its install script downloads libtensorflow, so installing needs internet access)',
  'tensorflow-gpu':
    'npm install @tensorflow/tfjs-node-gpu@4.22.0 (its install script downloads the GPU build of libtensorflow, so installing ' +
    'needs internet access; running it needs an NVIDIA GPU and driver with the CUDA and cuDNN versions that libtensorflow ' +
    'build expects, see the @tensorflow/tfjs-node-gpu README)',
};

function notInstalled(name: NativeName): string {
  return `backend "${name}" needs ${PACKAGES[name]}, which is not installed: ${INSTALL_HINT[name]}`;
}

/** Process-wide: which of the two packages rnode loaded (or tried to), and how it went. */
const loads: Partial<Record<NativeName, Promise<{ ok: true } | { ok: false; reason: string }>>> = {};
let owner: NativeName | undefined;

function other(name: NativeName): NativeName {
  return name === 'tensorflow' ? 'tensorflow-gpu' : 'tensorflow';
}

function conflictReason(name: NativeName): string {
  return (
    `backend "${name}" cannot load ${PACKAGES[name]}: ${PACKAGES[other(name)]} (backend "${other(name)}") is already ` +
    `loaded in this process, and both register the tfjs backend "tensorflow". Use backend "${other(name)}", or ` +
    `choose one of the two per process`
  );
}

function load(name: NativeName): Promise<{ ok: true } | { ok: false; reason: string }> {
  return (loads[name] ??= (async () => {
    if (typeof process === 'undefined' || typeof process.versions?.node !== 'string') {
      return { ok: false as const, reason: `backend "${name}" (${PACKAGES[name]}) runs only in Node.js` };
    }
    if (owner && owner !== name) return { ok: false as const, reason: conflictReason(name) };
    owner = name; // claim before the (async) import, so a concurrent probe of the other one backs off
    const r = await importPeer(PACKAGES[name], `backend:${name}`);
    if (r.ok) return { ok: true as const };
    owner = undefined;
    return {
      ok: false as const,
      reason: r.missing
        ? notInstalled(name)
        : `backend "${name}": ${PACKAGES[name]} is installed but failed to load (${r.message}); if its libtensorflow ` +
          `download failed at install time, reinstall it: ${INSTALL_HINT[name]}`,
    };
  })());
}

function createNativeBackend<N extends NativeName>(name: N, priority: number, description: string): BackendPlugin<N> {
  let reason: string | undefined;
  return {
    kind: 'backend',
    name,
    tfjsName: 'tensorflow',
    priority,
    syncRead: true,
    description,
    async isAvailable() {
      if (owner && owner !== name) {
        reason = conflictReason(name);
        return false;
      }
      const r = await load(name);
      reason = r.ok ? undefined : r.reason;
      return r.ok;
    },
    unavailableReason: () => reason,
    async init() {
      if (owner && owner !== name) {
        throw new RnodeError('BACKEND_UNAVAILABLE', conflictReason(name), { source: `backend:${name}` });
      }
      const r = await load(name);
      if (!r.ok) throw new RnodeError('BACKEND_UNAVAILABLE', r.reason, { source: `backend:${name}` });
      if (!tf.findBackendFactory('tensorflow')) {
        throw new RnodeError('BACKEND_UNAVAILABLE', `${PACKAGES[name]} loaded but registered no "tensorflow" backend`, {
          source: `backend:${name}`,
        });
      }
    },
  };
}

/** libtensorflow on the CPU (@tensorflow/tfjs-node). */
export const tensorflowBackend: BackendPlugin<'tensorflow'> = createNativeBackend(
  'tensorflow',
  30,
  'native libtensorflow on the CPU (@tensorflow/tfjs-node)',
);

/** libtensorflow with CUDA (@tensorflow/tfjs-node-gpu). */
export const tensorflowGpuBackend: BackendPlugin<'tensorflow-gpu'> = createNativeBackend(
  'tensorflow-gpu',
  50,
  'native libtensorflow with CUDA (@tensorflow/tfjs-node-gpu)',
);
