import * as tf from '@tensorflow/tfjs-core';
import { RnodeError } from '../errors.js';

/** One custom kernel of a `KernelSet` (tfjs's `KernelConfig` without the backend name). */
export interface CustomKernel {
  readonly kernelName: string;
  readonly kernelFunc: tf.KernelFunc;
  readonly setupFunc?: tf.KernelSetupFunc;
  readonly disposeFunc?: tf.KernelDisposeFunc;
}

/**
 * Kernels rnode (or a plugin) adds to tfjs, with their gradients: the data that
 * `registerKernels` registers (tfjs's pattern: kernel configs as exported data, registered
 * in bulk).
 */
export interface KernelSet {
  /** Names the set in errors, e.g. `op:linearCombination`, `kernel:cnf-mlp`. */
  readonly source: string;
  /** The tfjs backends the kernels are written for. */
  readonly backends: readonly string[];
  /** The kernels for one of `backends` (called at most once per backend). */
  kernels(backendName: string): readonly CustomKernel[];
  /** Their gradients (tfjs keeps one per kernel name, for every backend). */
  readonly gradients?: readonly tf.GradConfig[];
}

const done = new WeakMap<KernelSet, Set<string>>();

/**
 * Register a kernel set for `backendName` (default: tfjs's current backend). Idempotent and
 * cheap after the first call, so ops call it before each use. A kernel or gradient tfjs
 * already has under the same name is left as it is: the first registration wins (a tfjs
 * release that ships its own kernel, a second copy of rnode). A backend the set is not
 * written for is an error (BACKEND_UNAVAILABLE naming the set and its backends), never a
 * silent fallback. Returns the kernel names it registered (none after the first call).
 */
export function registerKernels(set: KernelSet, backendName: string = tf.getBackend()): string[] {
  const seen = done.get(set);
  if (seen?.has(backendName)) return [];
  if (!set.backends.includes(backendName)) {
    throw new RnodeError(
      'BACKEND_UNAVAILABLE',
      `${set.source}: its kernels are written for the backend${set.backends.length === 1 ? '' : 's'} ${set.backends.join(', ')}, not for "${backendName}"`,
      { source: set.source },
    );
  }
  for (const g of set.gradients ?? []) if (!tf.getGradient(g.kernelName)) tf.registerGradient(g);
  const added: string[] = [];
  for (const k of set.kernels(backendName)) {
    if (tf.getKernel(k.kernelName, backendName)) continue;
    tf.registerKernel({ ...k, backendName });
    added.push(k.kernelName);
  }
  if (seen) seen.add(backendName);
  else done.set(set, new Set([backendName]));
  return added;
}

/**
 * Replace a kernel tfjs has by a wrapper around it, once: `make(original)` returns the new
 * kernel function, which gets `marker` set to the original unless `make` set it (so a
 * second call, from this or another copy of rnode, sees the marker and does nothing, and
 * tests can reach the original). The original's setup/dispose hooks are kept. Returns whether it wrapped (false
 * when tfjs has no such kernel, or it is wrapped already). Used by core's backend fixes.
 */
export function wrapKernel(kernelName: string, backendName: string, marker: symbol, make: (original: tf.KernelFunc) => tf.KernelFunc): boolean {
  const original = tf.getKernel(kernelName, backendName);
  if (!original || (original.kernelFunc as unknown as Record<symbol, unknown>)[marker]) return false;
  const kernelFunc = make(original.kernelFunc);
  const marks = kernelFunc as unknown as Record<symbol, unknown>;
  if (!(marker in marks)) marks[marker] = original.kernelFunc;
  tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({ ...original, kernelFunc });
  return true;
}
