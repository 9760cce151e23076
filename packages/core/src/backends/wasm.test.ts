// The main entry's wasm plugin applies rnode's wasm kernels at `init` by importing the
// `@rnode/core/backends/wasm` entry by name (this file imports neither that entry nor the
// kernels' module; the test setup ran `useBackend(RNODE_BACKEND)` through the plugin).
import * as tf from '@tensorflow/tfjs-core';
import { expect, test } from 'vitest';
import { testBackendName } from '../testing/index.js';
import { WASM_KERNELS_APPLIED } from './wasm.js';

test.runIf(testBackendName() === 'wasm')('useBackend("wasm") applies the wasm training kernels', () => {
  expect((globalThis as Record<symbol, unknown>)[WASM_KERNELS_APPLIED]).toBe(true);
  for (const k of ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput']) {
    expect(tf.getKernel(k, 'wasm'), k).toBeDefined();
  }
  const marks = tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc as unknown as Record<symbol, unknown>;
  expect(marks[Symbol.for('rnode.wasm.batchMatMul.explicitTranspose')]).toBe(true);
});
