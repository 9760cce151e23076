import * as tf from '@tensorflow/tfjs-core';
import { flattenState, unflattenState, type OdeState } from '@rnode/core';
import type { OdeFunc, OdeSolution, SolverRef } from '../internal/solvers.js';
import type { AdjointPlugin } from '../types.js';

/**
 * Test helpers for `@rnode/adjoint` and adjoint plugins.
 */

/**
 * A tiny, independent classic-RK4 `odeint`: each output interval in ceil(|Δt|/stepSize)
 * equal steps (one without `stepSize`), either time direction. Differentiable under the tape, so it gives a
 * backprop-through-solver reference that does not depend on `@rnode/solvers`.
 */
export function referenceRk4<S extends OdeState>(
  f: OdeFunc<S>,
  y0: S,
  t: ArrayLike<number>,
  options: { stepSize?: number } = {},
): OdeSolution<S> {
  const { leaves, spec } = flattenState(y0, 'y0');
  const times = Array.from(t, Number);
  const F = (tt: number, y: tf.Tensor[]) => flattenState(f(tt, unflattenState<S>(y, spec)), 'f(t, y)').leaves;
  const axpy = (y: tf.Tensor[], h: number, k: tf.Tensor[]) => y.map((x, i) => tf.add(x, tf.mul(k[i] as tf.Tensor, h)));
  let nfe = 0;
  let accepted = 0;
  let y = leaves.map((x) => tf.clone(x));
  const ys: S[] = [unflattenState<S>(y.map((x) => tf.clone(x)), spec)];
  for (let i = 1; i < times.length; i++) {
    const a = times[i - 1] as number;
    const b = times[i] as number;
    const span = b - a;
    const h0 = options.stepSize ?? Math.abs(span);
    const n = span === 0 ? 0 : Math.max(1, Math.ceil(Math.abs(span) / h0 - 1e-9));
    for (let j = 0; j < n; j++) {
      const t0 = a + (j * span) / n;
      const dt = span / n;
      const prev = y;
      y = tf.tidy(() => {
        const k1 = F(t0, prev);
        const k2 = F(t0 + dt / 2, axpy(prev, dt / 2, k1));
        const k3 = F(t0 + dt / 2, axpy(prev, dt / 2, k2));
        const k4 = F(t0 + dt, axpy(prev, dt, k3));
        return prev.map((x, q) =>
          tf.add(x, tf.mul(tf.addN([k1[q] as tf.Tensor, tf.mul(k2[q] as tf.Tensor, 2), tf.mul(k3[q] as tf.Tensor, 2), k4[q] as tf.Tensor]), dt / 6)),
        );
      });
      prev.forEach((x) => x.dispose());
      nfe += 4;
      accepted += 1;
    }
    ys.push(unflattenState<S>(y.map((x) => tf.clone(x)), spec));
  }
  y.forEach((x) => x.dispose());
  return { ys, stats: { nfe, accepted, rejected: 0 }, status: 'ok' };
}

export interface CheckAdjointReport {
  /** ‖g − g_ref‖∞ / ‖g_ref‖∞ over y0 and params, against backprop through `referenceRk4`. */
  gradientError: number;
  /** Tensors left alive by 3 solves with gradients (should be 0). */
  leakedTensors: number;
  /** NFE of the plugin's forward solve and, where it reports one, of its backward solve. */
  nfeForward: number;
  nfeBackward: number | null;
}

/**
 * Conformance check for adjoint plugins (built-in or third-party): on a small neural ODE
 * (tuple-free tensor state, 2 output intervals, y0 and 4 parameter tensors of which one is
 * unused by f), the plugin's gradients under `tf.variableGrads` with classic RK4 at
 * `stepSize` are compared with backprop through `referenceRk4`, and leaks are counted.
 * Expect `gradientError` ≲ 1e-4 at the default step (the continuous adjoint differs by O(h⁴)).
 */
export function checkAdjoint(
  plugin: { odeint: AdjointPlugin['odeint'] },
  options: { stepSize?: number; method?: SolverRef } = {},
): CheckAdjointReport {
  const h = options.stepSize ?? 0.05;
  const mk = (values: number[], shape: number[]) => tf.tidy(() => tf.variable(tf.tensor(values, shape)));
  const W1 = mk([0.5, -0.3, 0.8, 0.1, -0.6, 0.4], [2, 3]);
  const b1 = mk([0.1, -0.2, 0.05], [3]);
  const W2 = mk([0.7, -0.4, 0.2, 0.9, -0.5, 0.3], [3, 2]);
  const unused = mk([1, 2], [2]);
  const y0 = mk([1, -0.5, 0.3, 0.8], [2, 2]);
  const vars = [y0, W1, b1, W2, unused];
  const f = (t: number, y: tf.Tensor) => tf.tidy(() => tf.matMul(tf.softplus(tf.add(tf.matMul(y, W1), tf.mul(b1, 1 + t))), W2));
  const ts = [0, 0.5, 1];
  const loss = (ys: tf.Tensor[]) => tf.tidy(() => tf.add(tf.sum(tf.square(ys[2] as tf.Tensor)), tf.sum(tf.mul(ys[1] as tf.Tensor, 0.3))) as tf.Scalar);
  const grads = (run: () => tf.Scalar) => {
    const r = tf.variableGrads(run, vars);
    r.value.dispose();
    return vars.map((v) => r.grads[v.name] ?? tf.zerosLike(v));
  };
  let nfeForward = 0;
  let backward: { nfe: number } | null = null;
  const opts = { method: options.method ?? ('rk4' as const), stepSize: h };
  const run = () => {
    const sol = plugin.odeint(f, y0 as tf.Tensor, ts, [W1, b1, W2, unused], opts);
    nfeForward = sol.stats.nfe;
    backward = sol.backward;
    return loss(sol.ys);
  };
  const got = grads(run);
  const ref = grads(() => loss(referenceRk4(f, y0 as tf.Tensor, ts, { stepSize: h }).ys));
  let num = 0;
  let den = 0;
  got.forEach((g, i) => {
    const a = g.dataSync();
    const b = (ref[i] as tf.Tensor).dataSync();
    a.forEach((x, k) => {
      num = Math.max(num, Math.abs(x - (b[k] as number)));
      den = Math.max(den, Math.abs(b[k] as number));
    });
  });
  tf.dispose([...got, ...ref]);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) tf.dispose(grads(run));
  const leakedTensors = tf.memory().numTensors - before;
  vars.forEach((v) => v.dispose());
  const bw = backward as { nfe: number } | null;
  return { gradientError: num / Math.max(den, 1e-12), leakedTensors, nfeForward, nfeBackward: bw ? bw.nfe : null };
}
