// The chunked AddN (registerWebgpuKernels, a wrapKernel): an AddN of more inputs than the
// device's storage-buffer limit sums right instead of silently dropping its command buffer.
import * as tf from '@tensorflow/tfjs-core';
import { expect, test } from 'vitest';
import { testBackendName } from '../testing/index.js';
import { registerWebgpuKernels } from './webgpu-kernels.js';

test.runIf(testBackendName() === 'webgpu')('AddN of 20 tensors equals the host sum; the wrapper is applied once', async () => {
  const kernel = tf.getKernel('AddN', 'webgpu')!;
  expect((kernel.kernelFunc as unknown as Record<symbol, unknown>)[Symbol.for('rnode.webgpu.addN.chunked')]).toBeTypeOf('function');
  registerWebgpuKernels();
  expect(tf.getKernel('AddN', 'webgpu')).toBe(kernel);
  const n0 = tf.memory().numTensors;
  const xs = Array.from({ length: 20 }, (_, i) => tf.tensor1d([i, 2 * i, -i]));
  const s = tf.addN(xs);
  expect(Array.from(await s.data())).toEqual([190, 380, -190]);
  tf.dispose([...xs, s]);
  expect(tf.memory().numTensors).toBe(n0);
});
