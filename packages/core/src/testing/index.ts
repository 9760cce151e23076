import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '../backends/index.js';
import { isRnodeError, type RnodeError } from '../errors.js';

/**
 * Test helpers shared by every package's tests and by the conformance suites.
 * Import from `@rnode/core/testing`.
 */

/** Run `fn` and return how many tensors it left alive (should be 0). */
export async function leakedTensors(fn: () => unknown | Promise<unknown>): Promise<number> {
  const before = tf.memory().numTensors;
  await fn();
  return tf.memory().numTensors - before;
}

/**
 * The `RnodeError` that `fn` throws synchronously, to assert its code, source and message.
 * Anything else thrown is rethrown; no throw at all fails.
 */
export function caughtRnodeError(fn: () => unknown): RnodeError {
  try {
    fn();
  } catch (e) {
    if (isRnodeError(e)) return e;
    throw e;
  }
  throw new Error('expected an RnodeError, but nothing was thrown');
}

/** max |a - b| / (atol/rtol + |b|) style relative error, elementwise max. */
export function maxRelError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-8): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs((a[i] as number) - (b[i] as number)) / Math.max(floor, Math.abs(b[i] as number));
    if (!(e <= m)) m = Number.isNaN(e) ? Infinity : Math.max(m, e);
  }
  return m;
}

export function maxAbsError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs((a[i] as number) - (b[i] as number));
    m = Number.isNaN(e) ? Infinity : Math.max(m, e);
  }
  return m;
}

/** The backend the test process runs on (RNODE_BACKEND). */
export function testBackendName(): BackendName {
  return (process.env.RNODE_BACKEND ?? 'cpu') as BackendName;
}
