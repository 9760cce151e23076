// These tests differentiate: load tfjs's gradient configs (tfjs-core alone registers none).
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import * as tf from '@tensorflow/tfjs-core';
import { expect, test } from 'vitest';
import { linearCombination } from './linear-combination.js';

const arr = (t: tf.Tensor) => Array.from(t.dataSync());

test('linearCombination equals base + Σ c·x (with and without base, zero coefficients dropped) and leaks nothing', () => {
  const n0 = tf.memory().numTensors;
  const base = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
  const x = tf.tensor2d([0.5, -1, 2, 0, 3, -2], [2, 3]);
  const y = tf.tensor2d([1, 1, 1, -1, -1, -1], [2, 3]);
  const r = linearCombination(base, [
    [0.25, x],
    [0, y],
    [-2, y],
  ]);
  const want = tf.tidy(() => tf.add(tf.add(base, tf.mul(x, 0.25)), tf.mul(y, -2)));
  expect(arr(r)).toEqual(arr(want));
  const r2 = linearCombination(null, [[3, x]]);
  expect(arr(r2)).toEqual(arr(x).map((v) => 3 * v));
  const r3 = linearCombination(base, [[0, x]]);
  expect(arr(r3)).toEqual(arr(base));
  expect(r3).not.toBe(base);
  tf.dispose([base, x, y, r, r2, r3, want]);
  expect(tf.memory().numTensors).toBe(n0);
});

test('gradients are the coefficients; the fused kernel is registered on the host backends', () => {
  const x = tf.tensor1d([1, 2, 3]);
  const y = tf.tensor1d([4, 5, 6]);
  const b = tf.tensor1d([7, 8, 9]);
  const grads = tf.grads((bb: tf.Tensor, xx: tf.Tensor, yy: tf.Tensor) =>
    tf.sum(tf.mul(linearCombination(bb, [
      [0.5, xx],
      [-3, yy],
    ]), tf.tensor1d([1, 10, 100]))),
  )([b, x, y]);
  expect(arr(grads[0]!)).toEqual([1, 10, 100]);
  expect(arr(grads[1]!)).toEqual([0.5, 5, 50]);
  expect(arr(grads[2]!)).toEqual([-3, -30, -300]);
  if (['cpu', 'wasm'].includes(tf.getBackend())) {
    expect(tf.getKernel('RnodeLinearCombination', tf.getBackend())).toBeDefined();
  }
  tf.dispose([x, y, b, ...grads]);
});

test('second derivatives through linearCombination (it is linear, so the curvature comes from around it)', () => {
  const x = tf.scalar(1.5);
  const g2 = tf.grad((u: tf.Tensor) => tf.grad((v: tf.Tensor) => tf.sum(tf.square(linearCombination(null, [[2, v]]))))(u))(x);
  expect(g2.dataSync()[0]).toBeCloseTo(8, 5); // d²/dv² (2v)² = 8
  tf.dispose([x, g2]);
});

test('on lists of state leaves it combines leaf by leaf (what a solver step gets)', () => {
  const n0 = tf.memory().numTensors;
  const y0 = [tf.tensor1d([1, 2]), tf.scalar(10)];
  const k1 = [tf.tensor1d([3, -4]), tf.scalar(0.5)];
  const k2 = [tf.tensor1d([1, 1]), tf.scalar(-2)];
  const r = linearCombination(y0, [
    [0.5, k1],
    [2, k2],
  ]);
  expect(r.map(arr)).toEqual([[1 + 1.5 + 2, 2 - 2 + 2], [10 + 0.25 - 4]]);
  const r2 = linearCombination(null, [[-1, k1]]);
  expect(r2.map(arr)).toEqual([[-3, 4], [-0.5]]);
  tf.dispose([...y0, ...k1, ...k2, ...r, ...r2]);
  expect(tf.memory().numTensors).toBe(n0);
  expect(() => linearCombination(null, [])).toThrow(/needs a base or at least one term/);
});
