// The GPU-work counters against operations whose GPU work is known. Runs in the webgpu project
// (in Node: dawn.node, SwiftShader without a GPU).
import * as tf from '@tensorflow/tfjs-core';
import { expect, test } from 'vitest';
import { gpuWorkCounter, gpuWorkSince } from './gpu-work.js';

test.runIf(process.env.RNODE_BACKEND === 'webgpu')('counts dispatches, uploads and readbacks of known operations, once installed', async () => {
  expect(tf.getBackend()).toBe('webgpu');
  const read = gpuWorkCounter()!;
  expect(read).toBeTypeOf('function');
  expect(gpuWorkCounter()!().dispatches).toBe(read().dispatches); // installed once: one set of totals
  const n = 1000;
  const a = tf.tensor1d(Float32Array.from({ length: n }, (_, i) => i));
  const b = tf.tensor1d(Float32Array.from({ length: n }, (_, i) => 2 * i));
  await Promise.all([a.data(), b.data()]); // uploads done before counting
  const w0 = read();
  const c = tf.add(a, b);
  const d = tf.mul(c, c);
  const values = await d.data();
  const w = gpuWorkSince(w0, read());
  expect(values[3]).toBe(81);
  expect(w.dispatches).toBe(2); // one program per op
  expect(w.readbacks).toBe(1); // the one read of d
  expect(w.readbackBytes).toBeGreaterThanOrEqual(4 * n);
  expect(w.readbackBytes).toBeLessThan(8 * n);
  expect(w.submits).toBeGreaterThanOrEqual(1);
  // a fresh tensor's values go up when a program first reads them
  const w1 = read();
  const e = tf.tensor1d(Float32Array.from({ length: n }, () => 1));
  const f = tf.add(e, a);
  await f.data();
  const w2 = gpuWorkSince(w1, read());
  expect(w2.uploads).toBeGreaterThanOrEqual(1);
  expect(w2.uploadBytes).toBeGreaterThanOrEqual(4 * n);
  tf.dispose([a, b, c, d, e, f]);
});
