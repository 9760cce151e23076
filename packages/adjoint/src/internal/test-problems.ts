// Problems and helpers shared by this package's tests (not part of the published API).
import * as tf from '@tensorflow/tfjs-core';
import { flattenState, type OdeState } from '@rnode/core';
import type { OdeFunc } from './solvers.js';

/** ‖a − b‖∞ / ‖b‖∞ over all entries of matching tensor lists (norm-wise relative error). */
export function relErr(a: readonly tf.Tensor[], b: readonly tf.Tensor[]): number {
  let num = 0;
  let den = 0;
  a.forEach((x, i) => {
    const xa = x.dataSync();
    const xb = (b[i] as tf.Tensor).dataSync();
    for (let k = 0; k < xa.length; k++) {
      num = Math.max(num, Math.abs((xa[k] as number) - (xb[k] as number)));
      den = Math.max(den, Math.abs(xb[k] as number));
    }
  });
  return num / Math.max(den, 1e-12);
}

/** A trainable variable from a fresh tensor (the tensor is disposed: no leak). */
export function mkVar(x: tf.Tensor, name?: string): tf.Variable {
  const v = tf.variable(x, true, name);
  x.dispose();
  return v;
}

/** Seeded host-side LCG normals (tests only). */
export function randn(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()) * scale;
  return out;
}

/** f(t, y) = W2·softplus(W1·y + b1 + t·c) + b2 (row-vector convention, y: [batch, d]). */
export function neuralOde(d: number, hidden: number, seed: number) {
  const W1 = mkVar(tf.tensor2d(randn(d * hidden, seed, 0.6), [d, hidden]));
  const b1 = mkVar(tf.tensor1d(randn(hidden, seed + 1, 0.3)));
  const c = mkVar(tf.tensor1d(randn(hidden, seed + 2, 0.3)));
  const W2 = mkVar(tf.tensor2d(randn(hidden * d, seed + 3, 0.6), [hidden, d]));
  const b2 = mkVar(tf.tensor1d(randn(d, seed + 4, 0.3)));
  const params = [W1, b1, c, W2, b2];
  const f = (t: number, y: tf.Tensor): tf.Tensor =>
    tf.tidy(() => tf.add(tf.matMul(tf.softplus(tf.add(tf.add(tf.matMul(y, W1), b1), tf.mul(c, t))), W2), b2));
  return { f, params, dispose: () => params.forEach((p) => p.dispose()) };
}

/** L = Σ_i w_i · Σ (y(t_i) ⊙ m_i) over the output times, with fixed pseudo-random weights m_i. */
export function weightedLoss<S extends OdeState>(ys: readonly S[], seed = 7): tf.Scalar {
  return tf.tidy(() => {
    let total: tf.Tensor = tf.scalar(0);
    ys.forEach((s, i) => {
      if (i === 0) return;
      for (const [k, leaf] of flattenState(s).leaves.entries()) {
        const m = tf.tensor(randn(leaf.size, seed + 31 * i + k), leaf.shape);
        total = tf.add(total, tf.sum(tf.mul(tf.square(leaf), m)));
      }
    });
    return total as tf.Scalar;
  });
}

/**
 * Central finite difference of `loss` along a random direction v over `vars`:
 * (L(θ + εv) − L(θ − εv)) / 2ε, and the analytic ⟨g, v⟩ from the given gradients.
 */
export function directionalFd(
  loss: () => number,
  vars: readonly tf.Variable[],
  grads: readonly tf.Tensor[],
  eps: number,
  seed: number,
): { fd: number; analytic: number } {
  const dirs = vars.map((v, i) => tf.tensor(randn(v.size, seed + 97 * i), v.shape));
  const orig = vars.map((v) => tf.clone(v));
  const at = (s: number) => {
    vars.forEach((v, i) => {
      const nv = tf.tidy(() => tf.add(orig[i] as tf.Tensor, tf.mul(dirs[i] as tf.Tensor, s)));
      v.assign(nv);
      nv.dispose();
    });
    return loss();
  };
  const fd = (at(eps) - at(-eps)) / (2 * eps);
  vars.forEach((v, i) => v.assign(orig[i] as tf.Tensor));
  let analytic = 0;
  grads.forEach((g, i) => (analytic += tf.tidy(() => tf.sum(tf.mul(g, dirs[i] as tf.Tensor)).dataSync()[0] as number)));
  tf.dispose([...dirs, ...orig]);
  return { fd, analytic };
}

export type { OdeFunc };
