import * as tf from '@tensorflow/tfjs-core';
import { expect, test } from 'vitest';
import { odeintAdjoint, odeintWith } from './index.js';

// The README's training step, run for a few iterations with both adjoints.
test.each(['backsolve', 'backprop'] as const)('README training step (%s): loss decreases, no leaks', (adjoint) => {
  const W1 = tf.tidy(() => tf.variable(tf.randomNormal([2, 16], 0, 0.5, 'float32', 1)));
  const b1 = tf.tidy(() => tf.variable(tf.zeros([16])));
  const c = tf.tidy(() => tf.variable(tf.zeros([16])));
  const W2 = tf.tidy(() => tf.variable(tf.randomNormal([16, 2], 0, 0.5, 'float32', 2)));
  const b2 = tf.tidy(() => tf.variable(tf.zeros([2])));
  const params = [W1, b1, c, W2, b2];
  const f = (t: number, y: tf.Tensor) =>
    tf.tidy(() => tf.add(tf.matMul(tf.softplus(tf.add(tf.add(tf.matMul(y, W1), b1), tf.mul(c, t))), W2), b2));
  const x = tf.randomNormal([64, 2], 0, 1, 'float32', 3);
  const target = tf.randomNormal([64, 2], 0, 1, 'float32', 4);
  const before = tf.memory().numTensors;
  const opt: tf.Optimizer = tf.train.adam(1e-2);
  const losses: number[] = [];
  for (let it = 0; it < 8; it++) {
    let nfeForward = 0;
    let nfeBackward = 0;
    const { value, grads } = tf.variableGrads(() => {
      const o = { method: 'dopri5' as const, rtol: 1e-5, atol: 1e-5, seminorm: true, onBackward: (s: { nfe: number }) => (nfeBackward = s.nfe) };
      const sol = adjoint === 'backsolve' ? odeintAdjoint(f, x, [0, 1], params, o) : odeintWith(adjoint, f, x, [0, 1], params, o);
      nfeForward = sol.stats.nfe;
      return tf.losses.meanSquaredError(target, sol.ys[1] as tf.Tensor) as tf.Scalar;
    });
    opt.applyGradients(grads);
    losses.push(value.dataSync()[0] as number);
    expect(nfeForward).toBeGreaterThan(0);
    if (adjoint === 'backsolve') expect(nfeBackward).toBeGreaterThan(0);
    tf.dispose([value, ...Object.values(grads)]);
  }
  expect(losses[losses.length - 1]).toBeLessThan(losses[0] as number);
  opt.dispose();
  expect(tf.memory().numTensors).toBe(before);
  tf.dispose([x, target, ...params]);
});
