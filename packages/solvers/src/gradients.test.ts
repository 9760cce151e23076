import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { odeint } from './odeint.js';

// Backprop through the solver steps vs central finite differences of the same (float32) solve.
// Tolerance: 1e-2 relative (float32 finite differences with eps = 1e-2 on tolerance-limited solves).
describe('gradients through odeint', () => {
  const w0 = [0.3, -0.7];
  const y0v = [1, 0.5];
  // y' = tanh(W ⊙ y) + a·sin(t); loss = sum(y(T)²) over the output times
  const loss = (y0: tf.Tensor, w: tf.Tensor, a: tf.Tensor, method: 'rk4' | 'dopri5' | 'tsit5' | 'bosh3') =>
    tf.tidy(() => {
      const sol = odeint((t, y: tf.Tensor) => tf.add(tf.tanh(tf.mul(w, y)), tf.mul(a, Math.sin(t))), y0, [0, 0.5, 1.5], {
        method,
        ...(method === 'rk4' ? { stepSize: 0.1 } : { rtol: 1e-6, atol: 1e-6 }),
      });
      return tf.addN(sol.ys.slice(1).map((y) => tf.sum(tf.square(y)))) as tf.Scalar;
    });

  it.each(['rk4', 'dopri5'] as const)('%s: gradients wrt y0 and closed-over parameters match central differences', (method) => {
    const before = tf.memory().numTensors;
    const y0 = tf.tensor1d(y0v);
    const wInit = tf.tensor1d(w0);
    const w = tf.variable(wInit);
    wInit.dispose();
    const a = tf.tensor1d([0.2, 0.1]);
    const { value, grads } = tf.variableGrads(() => loss(y0, w, a, method), [w]);
    const [gy0, ga] = tf.grads((y: tf.Tensor, aa: tf.Tensor) => loss(y, w, aa, method))([y0, a]);
    const fd = (make: (d: number[]) => number) => {
      const eps = 1e-2;
      return [0, 1].map((i) => {
        const plus = [0, 0];
        plus[i] = eps;
        const minus = [0, 0];
        minus[i] = -eps;
        return (make(plus) - make(minus)) / (2 * eps);
      });
    };
    const scalar = (t: tf.Scalar) => {
      const v = t.dataSync()[0] as number;
      t.dispose();
      return v;
    };
    const fdW = fd((d) => tf.tidy(() => scalar(loss(y0, tf.add(w, d), a, method))));
    const fdY = fd((d) => tf.tidy(() => scalar(loss(tf.add(y0, d), w, a, method))));
    const fdA = fd((d) => tf.tidy(() => scalar(loss(y0, w, tf.add(a, d), method))));
    const close = (g: tf.Tensor, ref: number[]) =>
      Array.from(g.dataSync()).forEach((v, i) => expect(Math.abs(v - (ref[i] as number))).toBeLessThan(1e-2 * Math.max(1, Math.abs(ref[i] as number))));
    close(grads[w.name] as tf.Tensor, fdW);
    close(gy0 as tf.Tensor, fdY);
    close(ga as tf.Tensor, fdA);
    tf.dispose([value, y0, w, a, gy0 as tf.Tensor, ga as tf.Tensor, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('no tensor leaks over 100 solves with gradients (dopri5 and rk4)', () => {
    const y0 = tf.tensor1d(y0v);
    const w = tf.variable(tf.tensor1d(w0));
    const a = tf.tensor1d([0.2, 0.1]);
    const step = (i: number) => {
      const { value, grads } = tf.variableGrads(() => loss(y0, w, a, i % 2 ? 'rk4' : 'dopri5'), [w]);
      tf.dispose([value, ...Object.values(grads)]);
    };
    step(0);
    step(1);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) step(i);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([y0, w, a]);
  });
});
