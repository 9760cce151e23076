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

test('several leaves are one kernel call on the host backends, bit for bit the per-leaf results, with gradients also where a leaf does not reach the loss', async () => {
  const host = ['cpu', 'wasm'].includes(tf.getBackend());
  const n0 = tf.memory().numTensors;
  const rnd = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);
  const y0 = [rnd([5, 3], 1), rnd([5], 2), rnd([5], 3)];
  const k1 = [rnd([5, 3], 4), rnd([5], 5), rnd([5], 6)];
  const k2 = [rnd([5, 3], 7), rnd([5], 8), rnd([5], 9)];
  const coefs = [1 / 3, -0.7] as const;
  let r: tf.Tensor[] = [];
  const info = await tf.profile(() => {
    r = linearCombination(y0, [
      [coefs[0], k1],
      [0, k1],
      [coefs[1], k2],
    ]);
    return r;
  });
  expect(info.kernelNames).toEqual(host ? ['RnodeLinearCombinationLeaves'] : expect.any(Array));
  for (let i = 0; i < 3; i++) {
    const one = linearCombination(y0[i]!, [
      [coefs[0], k1[i]!],
      [coefs[1], k2[i]!],
    ]);
    expect(arr(r[i]!)).toEqual(arr(one)); // same loop, same order: the same bits
    one.dispose();
  }
  const r2 = linearCombination(null, [[2, k1]]);
  expect(r2.map(arr)).toEqual(k1.map((t) => arr(t).map((v) => Math.fround(2 * v))));
  // ∂/∂ of a loss on leaves 0 and 2 only: leaf 1's inputs get zeros
  const w = [rnd([5, 3], 10), rnd([5], 11)];
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => {
    const o = linearCombination([a, b, c], [[coefs[0], [d, d.sum(1), d.sum(1)]]]);
    return tf.add(tf.sum(tf.mul(o[0]!, w[0]!)), tf.sum(tf.mul(o[2]!, w[1]!)));
  })([y0[0]!, y0[1]!, y0[2]!, k1[0]!]);
  expect(arr(grads[0]!)).toEqual(arr(w[0]!));
  expect(arr(grads[1]!)).toEqual([0, 0, 0, 0, 0]);
  expect(arr(grads[2]!)).toEqual(arr(w[1]!));
  const want = tf.tidy(() => tf.add(tf.mul(w[0]!, coefs[0]), tf.tile(tf.reshape(tf.mul(w[1]!, coefs[0]), [5, 1]), [1, 3])));
  const got = arr(grads[3]!);
  arr(want).forEach((v, i) => expect(got[i]).toBeCloseTo(v, 5));
  if (host) expect(tf.getKernel('RnodeLinearCombinationLeaves', tf.getBackend())).toBeDefined();
  tf.dispose([...y0, ...k1, ...k2, ...r, ...r2, ...w, ...grads, want]);
  expect(tf.memory().numTensors).toBe(n0);
});
