// linearCombination on webgpu (webgpu project only): one WGSL dispatch for up to 7 tensors, tfjs ops
// beyond; the values of a float64 sum to float32 rounding, and the gradient through the tape.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { linearCombination } from './linear-combination.js';

const N = 1000; // more than one workgroup of 64
const data = (k: number) => Float32Array.from({ length: N }, (_, i) => Math.sin(0.37 * i + k) * (k + 1));
const coef = (j: number) => 0.5 - 0.3 * j;

describe.skipIf(process.env['RNODE_BACKEND'] !== 'webgpu')('linearCombination on webgpu', () => {
  it.each([
    [1, true],
    [4, true],
    [5, false],
    [6, true], // 7 inputs: the most one dispatch binds
    [7, true], // 8 inputs: tfjs ops
  ])('%i terms, base %s: base + Σ c_j x_j to float32 rounding', async (k, hasBase) => {
    const before = tf.memory().numTensors;
    const base = hasBase ? tf.tensor1d(data(-1)) : null;
    const xs = Array.from({ length: k }, (_, j) => tf.tensor1d(data(j)));
    const out = linearCombination(base, xs.map((x, j) => [coef(j), x] as const));
    const v = await out.data();
    expect(tf.getKernel('RnodeLinearCombination', 'webgpu')).toBeDefined(); // the WGSL kernel, registered at first use
    for (let i = 0; i < N; i += 97) {
      let want = hasBase ? data(-1)[i]! : 0;
      for (let j = 0; j < k; j++) want += coef(j) * data(j)[i]!;
      expect(Math.abs(v[i]! - want)).toBeLessThan(1e-5 * (1 + Math.abs(want)));
    }
    tf.dispose([out, ...xs, ...(base ? [base] : [])]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('its gradient: ∂/∂base = 1, ∂/∂x_j = c_j', async () => {
    const base = tf.tensor1d(data(-1));
    const xs = [0, 1, 2].map((j) => tf.tensor1d(data(j)));
    const w = tf.tensor1d(data(9));
    const grads = tf.grads((b: tf.Tensor, x0: tf.Tensor, x1: tf.Tensor, x2: tf.Tensor) =>
      tf.sum(tf.mul(linearCombination(b, [[coef(0), x0], [coef(1), x1], [coef(2), x2]]), w)),
    )([base, ...xs]);
    const g = await Promise.all(grads.map((t) => t.data()));
    const wv = data(9);
    for (let i = 0; i < N; i += 131) {
      expect(g[0]![i]).toBeCloseTo(wv[i]!, 5);
      for (let j = 0; j < 3; j++) expect(g[j + 1]![i]).toBeCloseTo(coef(j) * wv[i]!, 5);
    }
    tf.dispose([base, w, ...xs, ...grads]);
  });
});
