import * as tf from '@tensorflow/tfjs-core';
import { Random } from '@rnode/core';

/**
 * Test problems with closed-form solutions (evaluated in float64 on the host). States are
 * rank-1 tensors; `exact(t)` returns the flat solution at t.
 */
export interface TestProblem {
  readonly name: string;
  readonly t0: number;
  readonly t1: number;
  readonly y0: readonly number[];
  f(t: number, y: tf.Tensor): tf.Tensor;
  exact(t: number): Float64Array;
}

/** torchdiffeq's "constant" problem: y' = a + (y − (a t + b))^5, y = a t + b (any RK method is exact). */
export function polynomialProblem(a = 0.2, b = 3, t0 = 1, t1 = 8): TestProblem {
  return {
    name: 'polynomial',
    t0,
    t1,
    y0: [a * t0 + b],
    f: (t, y) => tf.add(tf.pow(tf.sub(y, a * t + b), 5), a),
    exact: (t) => Float64Array.of(a * t + b),
  };
}

/** torchdiffeq's sine problem: y' = 2y/t + t⁴ sin 2t − t² + 4t³ on [1, 8]. */
export function sineProblem(t0 = 1, t1 = 8): TestProblem {
  const exact = (t: number) =>
    -0.5 * t ** 4 * Math.cos(2 * t) + 0.5 * t ** 3 * Math.sin(2 * t) + 0.25 * t ** 2 * Math.cos(2 * t) - t ** 3 + 2 * t ** 4 + (Math.PI - 0.25) * t ** 2;
  return {
    name: 'sine',
    t0,
    t1,
    y0: [exact(t0)],
    f: (t, y) => tf.add(tf.mul(y, 2 / t), t ** 4 * Math.sin(2 * t) - t ** 2 + 4 * t ** 3),
    exact: (t) => Float64Array.of(exact(t)),
  };
}

/** A nonlinear, non-autonomous scalar problem for convergence orders: y' = −2t y², y = 1/(1 + t²). */
export function rationalProblem(t0 = 0, t1 = 2): TestProblem {
  return {
    name: 'rational',
    t0,
    t1,
    y0: [1 / (1 + t0 * t0)],
    f: (t, y) => tf.mul(tf.square(y), -2 * t),
    exact: (t) => Float64Array.of(1 / (1 + t * t)),
  };
}

/**
 * The convergence-order problem of `checkSolver`: y' = y², y(0) = 1 on [0, 0.75], y = 1/(1 − t)
 * (errors decrease monotonically at float32-friendly step sizes). Past t = 1 it blows up.
 */
export function quadraticProblem(t0 = 0, t1 = 0.75): TestProblem {
  return {
    name: 'quadratic',
    t0,
    t1,
    y0: [1 / (1 - t0)],
    f: (_t, y) => tf.square(y),
    exact: (t) => Float64Array.of(1 / (1 - t)),
  };
}

/** exp(M) of a dense n×n row-major matrix, float64, by scaling and squaring with a Taylor series. */
export function expm(m: ArrayLike<number>, n: number): Float64Array {
  let norm = 0;
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.abs(m[i * n + j] as number);
    norm = Math.max(norm, s);
  }
  const sq = norm > 0.5 ? Math.ceil(Math.log2(norm / 0.5)) : 0;
  const a = Float64Array.from(m, (v) => v / 2 ** sq);
  const mul = (x: Float64Array, y: Float64Array) => {
    const out = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) {
      const xik = x[i * n + k] as number;
      if (xik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] = (out[i * n + j] as number) + xik * (y[k * n + j] as number);
    }
    return out;
  };
  let result = new Float64Array(n * n);
  let term = new Float64Array(n * n);
  for (let i = 0; i < n; i++) result[i * n + i] = term[i * n + i] = 1;
  for (let k = 1; k <= 24; k++) {
    term = mul(term, a).map((v) => v / k);
    result = result.map((v, i) => v + (term[i] as number));
  }
  for (let s = 0; s < sq; s++) result = mul(result, result);
  return result;
}

/**
 * torchdiffeq's linear problem: y' = A y, A = 2U − (U + Uᵀ) (= U − Uᵀ, skew-symmetric), U = 0.1·randn
 * from `Random(seed)`, y0 = 1; y(t) = expm(A (t − t0)) y0 in float64.
 */
export function linearProblem(dim = 10, seed = 0, t0 = 1, t1 = 8): TestProblem {
  const rng = new Random(seed);
  const u = Array.from(rng.normalArray(dim * dim, 0, 0.1), Number);
  const a = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) a[i * dim + j] = 2 * (u[i * dim + j] as number) - ((u[i * dim + j] as number) + (u[j * dim + i] as number));
  const y0 = Array.from({ length: dim }, () => 1);
  const aT = new Float32Array(dim * dim);
  for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) aT[j * dim + i] = a[i * dim + j] as number;
  return {
    name: 'linear',
    t0,
    t1,
    y0,
    f: (_t, y) => {
      // Aᵀ is uploaded per evaluation (10×10): no long-lived tensor to leak.
      return tf.reshape(tf.matMul(tf.reshape(y, [1, dim]), tf.tensor2d(aT, [dim, dim])), [dim]);
    },
    exact: (t) => {
      const e = expm(a.map((v) => v * (t - t0)), dim);
      const out = new Float64Array(dim);
      for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) out[i] = (out[i] as number) + (e[i * dim + j] as number) * (y0[j] as number);
      return out;
    },
  };
}
