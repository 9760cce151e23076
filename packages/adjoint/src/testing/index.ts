import * as tf from '@tensorflow/tfjs-core';
import { flattenState, unflattenState, type OdeState } from '@rnode/core';
import type { OdeFunc, OdeSolution } from '../internal/solvers.js';

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
