import * as tf from '@tensorflow/tfjs-core';
import { RnodeError, describe, flattenState, unflattenState, type OdeState, type StateSpec } from '@rnode/core';
import type { AdjointSolution, BackwardStats, OdeintAdjointOptions } from './types.js';
import { backwardOptions, splitOptions, type SplitOptions } from './internal/options.js';
import { emptyBackwardStats, runBackward } from './internal/backward.js';
import { packFlat, unpackFlat, withIsolatedTape } from './internal/tape.js';
import { checkTimes, odeint, type OdeFunc, type OdeSolution } from './internal/solvers.js';

const SOURCE = 'adjoint:backsolve';

/** Shared argument checks of the sync and async variants. */
export function prepare<S extends OdeState>(
  y0: S,
  t: ArrayLike<number>,
  params: readonly tf.Tensor[],
  options: OdeintAdjointOptions | undefined,
): { leaves: tf.Tensor[]; spec: StateSpec; times: number[]; params: tf.Tensor[]; split: SplitOptions } {
  const { leaves, spec } = flattenState(y0, 'y0');
  leaves.forEach((x, i) => {
    if (x.dtype !== 'float32') {
      throw new RnodeError('INVALID_ARGUMENT', `y0 leaf ${i} has dtype ${x.dtype}; the adjoint needs float32`, { source: SOURCE });
    }
  });
  const times = checkTimes(t); // the solvers' rule: ≥ 2 finite, strictly monotonic times
  if (!Array.isArray(params)) {
    throw new RnodeError('INVALID_ARGUMENT', `params must be an array of tensors, got ${describe(params)}`, { source: SOURCE });
  }
  params.forEach((p, i) => {
    if (!(p instanceof tf.Tensor)) {
      throw new RnodeError('INVALID_ARGUMENT', `params[${i}] is not a tensor (got ${describe(p)})`, { source: SOURCE });
    }
    if (p.dtype !== 'float32') {
      throw new RnodeError('INVALID_ARGUMENT', `params[${i}] has dtype ${p.dtype}; the adjoint needs float32`, { source: SOURCE });
    }
  });
  return { leaves, spec, times, params: params.slice(), split: splitOptions(options, SOURCE) };
}

/**
 * Solve dy/dt = f(t, y) like `odeint`, with gradients by the continuous adjoint method
 * (Chen et al. 2018; torchdiffeq's `odeint_adjoint`).
 *
 * Synchronous and joined to the tfjs tape with `tf.customGrad`: inside `tf.variableGrads` /
 * `tf.grads` the gradient reaches every leaf of `y0` and every tensor of `params` (the
 * variables or tensors that `f` closes over; list them all: parameters missing from `params`
 * get no gradient). The forward solve records no tape, so memory does not grow with the
 * number of steps; the backward pass integrates (y, a_y, a_θ) from t[i] to t[i−1] with
 * `@rnode/solvers`' `odeint`, restoring y to the stored forward value at each output time.
 *
 * No gradient w.r.t. `t`. `params` (and anything else `f` reads) must still be alive when the
 * gradient is taken: use variables or tensors created outside the `variableGrads` closure.
 */
export function odeintAdjoint<S extends OdeState>(
  f: OdeFunc<S>,
  y0: S,
  t: ArrayLike<number>,
  params: readonly tf.Tensor[],
  options?: OdeintAdjointOptions,
): AdjointSolution<S> {
  const { leaves, spec, times, params: ps, split } = prepare(y0, t, params, options);
  const shapes = leaves.map((x) => x.shape);
  const bwdOptions = backwardOptions(split, spec, ps.length); // resolved now: bad options fail at the call
  const backward: BackwardStats = emptyBackwardStats();
  let forward: OdeSolution<S> | undefined;
  let nOut = 0;

  const op = tf.customGrad(((...args: unknown[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    // Runs inside the engine's kernel scope, isolated: nothing is recorded on the caller's
    // tape, and gradients taken inside f (divergence VJPs) still work.
    const sol = withIsolatedTape(() => odeint(f, y0, times, split.forward));
    forward = sol;
    nOut = sol.ys.length;
    const packed = packFlat(sol.ys.flatMap((s) => flattenState(s, 'ys').leaves));
    save([packed]); // kept only when a tape is recording; freed by the engine after backprop
    return {
      value: packed,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => backsolve(dy, saved[0] as tf.Tensor),
    };
  }) as never) as unknown as (...inputs: tf.Tensor[]) => tf.Tensor;

  function backsolve(dy: tf.Tensor, packedYs: tf.Tensor): tf.Tensor[] {
    return tf.tidy(() => {
      const allShapes = Array.from({ length: nOut }, () => shapes).flat();
      const ysFlat = unpackFlat(packedYs, allShapes);
      const gFlat = unpackFlat(dy, allShapes);
      const k = shapes.length;
      const ys = Array.from({ length: nOut }, (_, i) => ysFlat.slice(i * k, (i + 1) * k));
      const gradYs = Array.from({ length: nOut }, (_, i) => gFlat.slice(i * k, (i + 1) * k));
      const r = runBackward(
        {
          f,
          spec,
          times: times.slice(0, nOut),
          params: ps,
          ys,
          gradYs,
          options: bwdOptions,
          stats: backward,
        },
        (g, a, tt, o) => odeint(g, a, tt, o),
      );
      split.adjoint.onBackward?.({ ...backward });
      return [...r.dy0, ...r.dparams];
    });
  }

  const ys = tf.tidy(() => {
    const packed = op(...leaves, ...ps);
    const flat = unpackFlat(packed, Array.from({ length: nOut }, () => shapes).flat());
    const k = shapes.length;
    return Array.from({ length: nOut }, (_, i) => flat.slice(i * k, (i + 1) * k));
  });
  const sol = forward as unknown as OdeSolution<S>;
  const out: AdjointSolution<S> = {
    ys: ys.map((l) => unflattenState<S>(l, spec)),
    stats: sol.stats,
    status: sol.status,
    backward,
  };
  if (sol.message !== undefined) (out as { message?: string }).message = sol.message;
  return out;
}
