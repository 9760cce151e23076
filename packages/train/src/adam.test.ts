import * as tf from '@tensorflow/tfjs-core';
import { expect, test } from 'vitest';
import { Adam, warmupLr } from './adam.js';

/** torch.optim.Adam in float64, by hand: L2 weight decay, bias correction, eps outside the sqrt. */
function reference(theta0: number[], grads: (theta: number[]) => number[], steps: number, o: { lr: number; warmup: number; wd: number }) {
  const b1 = 0.9;
  const b2 = 0.999;
  const eps = 1e-8;
  const theta = theta0.slice();
  const m = theta.map(() => 0);
  const v = theta.map(() => 0);
  for (let t = 1; t <= steps; t++) {
    const lr = o.lr * Math.min(1, t / o.warmup);
    const g = grads(theta).map((gi, i) => gi + o.wd * theta[i]!);
    for (let i = 0; i < theta.length; i++) {
      m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
      v[i] = b2 * v[i]! + (1 - b2) * g[i]! ** 2;
      const denom = Math.sqrt(v[i]!) / Math.sqrt(1 - b2 ** t) + eps;
      theta[i] = theta[i]! - (lr / (1 - b1 ** t)) * (m[i]! / denom);
    }
  }
  return theta;
}

test('warm-up is lr·min(1, (itr+1)/warmup)', () => {
  expect(warmupLr(1e-3, 4, 0)).toBeCloseTo(2.5e-4, 12);
  expect(warmupLr(1e-3, 4, 3)).toBeCloseTo(1e-3, 12);
  expect(warmupLr(1e-3, 4, 10)).toBeCloseTo(1e-3, 12);
  expect(warmupLr(1e-3, 0, 0)).toBe(1e-3);
});

test('Adam matches torch.optim.Adam (hand-computed, with warm-up and weight decay) for 5 steps', () => {
  const n0 = tf.memory().numTensors;
  const theta0 = [0.5, -1.5, 2, 0.01];
  // loss = Σ c_i θ_i² + θ_0 θ_1  →  gradient 2 c_i θ_i (+ cross terms)
  const c = [1, 0.3, 2, 5];
  const grad = (th: number[]) => th.map((x, i) => 2 * c[i]! * x + (i === 0 ? th[1]! : i === 1 ? th[0]! : 0));
  const o = { lr: 0.1, warmup: 3, wd: 0.05 };
  const want = reference(theta0, grad, 5, o);
  const p = tf.tidy(() => tf.variable(tf.tensor1d(theta0), true, 'adam-test/p'));
  const adam = new Adam([p], { lr: o.lr, weightDecay: o.wd });
  for (let itr = 0; itr < 5; itr++) {
    const g = tf.tensor1d(grad(Array.from(p.dataSync())));
    adam.update([g], warmupLr(o.lr, o.warmup, itr));
    g.dispose();
  }
  const got = Array.from(p.dataSync());
  got.forEach((x, i) => expect(x).toBeCloseTo(want[i]!, 5));
  expect(adam.step).toBe(5);
  adam.dispose();
  p.dispose();
  expect(tf.memory().numTensors).toBe(n0);
});

test('state round-trips through JSON: a restored optimizer continues identically', async () => {
  const n0 = tf.memory().numTensors;
  const mk = (name: string) => tf.tidy(() => tf.variable(tf.tensor2d([[1, -2], [3, 0.5]]), true, name));
  const a = mk('adam-rt/a');
  const b = mk('adam-rt/b');
  const optA = new Adam([a], { lr: 0.01, weightDecay: 1e-3 });
  const optB = new Adam([b], { lr: 0.01, weightDecay: 1e-3 });
  const g = tf.tensor2d([[0.1, -0.3], [2, 1e-4]]);
  for (let i = 0; i < 3; i++) optA.update([g]);
  const state = JSON.parse(JSON.stringify(await optA.getState()));
  b.assign(a);
  optB.setState(state);
  expect(optB.step).toBe(3);
  for (let i = 0; i < 4; i++) {
    optA.update([g]);
    optB.update({ 'adam-rt/b': g });
  }
  expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
  expect(() => optB.setState({ ...state, params: [] })).toThrow(/INVALID_CHECKPOINT|parameters/);
  optA.dispose();
  optB.dispose();
  tf.dispose([a, b, g]);
  expect(tf.memory().numTensors).toBe(n0);
});
