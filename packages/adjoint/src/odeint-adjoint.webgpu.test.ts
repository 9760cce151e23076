// WebGPU smoke test (webgpu project only; WebGPU in Node has no synchronous reads).
// - odeintAdjointAsync with dopri5: both solves through odeintAsync, compared with closed-form gradients;
// - odeintAdjoint (tape) with fixed-grid rk4: no host reads in either solve.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { odeintAdjoint, odeintAdjointAsync } from './index.js';

// y' = a ⊙ y, L = Σ w ⊙ y(1): dL/dy0 = w e^{a}, dL/da = w y0 e^{a}
const A = [-0.7, 0.3];
const Y0 = [1, -0.5];
const W = [0.3, -1.2];
const exact = { dy0: A.map((a, i) => (W[i] as number) * Math.exp(a)), da: A.map((a, i) => (W[i] as number) * (Y0[i] as number) * Math.exp(a)) };

async function maxRel(t: tf.Tensor, want: number[]): Promise<number> {
  const v = await t.data();
  return Math.max(...want.map((w, i) => Math.abs((v[i] as number) - w) / Math.abs(w)));
}

describe('adjoint on webgpu', () => {
  it('odeintAdjointAsync (dopri5) gives the closed-form gradients', async () => {
    const before = tf.memory().numTensors;
    const a = tf.tensor1d(A);
    const y0 = tf.tensor1d(Y0);
    const w = tf.tensor1d(W);
    const sol = await odeintAdjointAsync((_t, y: tf.Tensor) => tf.mul(a, y), y0, [0, 1], [a], { rtol: 1e-6, atol: 1e-6 });
    const g = await sol.backward([null, w]);
    expect(await maxRel(g.dy0, exact.dy0)).toBeLessThan(1e-3);
    expect(await maxRel(g.dparams[0] as tf.Tensor, exact.da)).toBeLessThan(1e-3);
    expect(g.stats.nfe).toBeGreaterThan(0);
    tf.dispose([g.dy0, ...g.dparams, ...sol.ys, a, y0, w]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('odeintAdjoint under tf.grads with fixed-grid rk4 (no host reads)', async () => {
    const before = tf.memory().numTensors;
    const a = tf.tensor1d(A);
    const y0 = tf.tensor1d(Y0);
    const w = tf.tensor1d(W);
    const [gy0, ga] = tf.grads((y: tf.Tensor, p: tf.Tensor) =>
      tf.sum(tf.mul(w, odeintAdjoint((_t, s: tf.Tensor) => tf.mul(p, s), y, [0, 1], [p], { method: 'rk4', stepSize: 0.05 }).ys[1] as tf.Tensor)),
    )([y0, a]);
    expect(await maxRel(gy0 as tf.Tensor, exact.dy0)).toBeLessThan(1e-4);
    expect(await maxRel(ga as tf.Tensor, exact.da)).toBeLessThan(1e-4);
    tf.dispose([gy0 as tf.Tensor, ga as tf.Tensor, a, y0, w]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
