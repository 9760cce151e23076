// tfjs-core's main bundle registers no gradients (the package entry of @rnode/core does; this test imports files).
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import * as tf from '@tensorflow/tfjs-core';
import { expect, test } from 'vitest';
import { isRnodeError } from '../errors.js';
import { hostTensorIO, HOST_BACKENDS, registerKernels, type KernelSet } from './index.js';
import { wrapKernel } from './register.js';
import { testBackendName } from '../testing/index.js';

// The project's backend (set by the test setup before the tests run).
const backend: string = testBackendName();
const host = HOST_BACKENDS.includes(backend);

/** `2x + 1` on the host backends. */
let made = 0;
const doubling: KernelSet = {
  source: 'test:double',
  backends: HOST_BACKENDS,
  kernels: (backendName) => {
    made++;
    return [
      {
        kernelName: 'RnodeTestDouble',
        kernelFunc: (({ inputs, backend: b }: { inputs: Record<string, tf.TensorInfo>; backend: tf.KernelBackend }) => {
          const io = hostTensorIO(b, backendName);
          const out = io.alloc(inputs['x']!.shape.slice());
          const x = io.read(inputs['x']!);
          const o = io.view(out);
          for (let i = 0; i < o.length; i++) o[i] = 2 * x[i]! + 1;
          return out;
        }) as unknown as tf.KernelFunc,
      },
    ];
  },
  gradients: [{ kernelName: 'RnodeTestDouble', gradFunc: (dy) => ({ x: () => tf.mul(dy as tf.Tensor, 2) }) }],
};

test.runIf(host)('registerKernels registers a set once per backend, with its gradient', () => {
  expect(registerKernels(doubling)).toEqual(['RnodeTestDouble']);
  expect(registerKernels(doubling)).toEqual([]);
  expect(made).toBe(1);
  const x = tf.tensor1d([1, -2, 0.5]);
  const y = tf.engine().runKernel('RnodeTestDouble', { x }) as tf.Tensor;
  expect(Array.from(y.dataSync())).toEqual([3, -3, 2]);
  const g = tf.grad((u: tf.Tensor) => tf.sum(tf.engine().runKernel('RnodeTestDouble', { x: u }) as tf.Tensor))(x);
  expect(Array.from(g.dataSync())).toEqual([2, 2, 2]);
  tf.dispose([x, y, g]);
});

test.runIf(host)('a kernel tfjs already has is left as it is (the first registration wins)', () => {
  const mine: KernelSet = { source: 'test:square', backends: [backend], kernels: () => [{ kernelName: 'Square', kernelFunc: () => ({}) as never }] };
  const before = tf.getKernel('Square', backend);
  expect(registerKernels(mine)).toEqual([]);
  expect(tf.getKernel('Square', backend)).toBe(before);
});

test('a backend the set is not written for is BACKEND_UNAVAILABLE naming the set and its backends', () => {
  let err: unknown;
  try {
    registerKernels(doubling, 'webgl');
  } catch (e) {
    err = e;
  }
  expect(isRnodeError(err) && err.code).toBe('BACKEND_UNAVAILABLE');
  expect((err as { source?: string }).source).toBe('test:double');
  expect((err as Error).message).toContain('written for the backends cpu, wasm, not for "webgl"');
  expect(tf.getKernel('RnodeTestDouble', 'webgl')).toBeUndefined();
});

test('wrapKernel wraps once, marks the wrapper with the original and keeps its hooks', () => {
  const marker = Symbol('test.wrap');
  const original = tf.getKernel('Neg', backend)!;
  let calls = 0;
  const make = (inner: tf.KernelFunc): tf.KernelFunc => (args) => {
    calls++;
    return inner(args);
  };
  expect(wrapKernel('Neg', backend, marker, make)).toBe(true);
  expect(wrapKernel('Neg', backend, marker, make)).toBe(false);
  const wrapped = tf.getKernel('Neg', backend)!;
  expect((wrapped.kernelFunc as unknown as Record<symbol, unknown>)[marker]).toBe(original.kernelFunc);
  expect(wrapped.setupFunc).toBe(original.setupFunc);
  const y = tf.neg(tf.scalar(3));
  expect(y.dataSync()[0]).toBe(-3);
  expect(calls).toBe(1);
  // restore tfjs's kernel for the tests that follow in this process
  tf.unregisterKernel('Neg', backend);
  tf.registerKernel(original);
  expect(wrapKernel('NoSuchKernel', backend, marker, make)).toBe(false);
  tf.dispose(y);
});
