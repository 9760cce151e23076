import * as tf from '@tensorflow/tfjs-core';
import { Random, safeTanh } from '@rnode/core';
import { cnfDynamics, cnfInitialState, resolveEstimator, resolveRegularizer } from '@rnode/estimators';
import { odeintWith, resolveAdjoint } from '@rnode/adjoint';
import { odeint, odeintAsync } from '@rnode/solvers';
import type { TrainableFlow, TrainFlowForward, TrainFlowSolveOptions } from '../flow.js';

let counter = 0;

/**
 * A minimal one-block CNF (f = W2·tanh(W1·z + c·t + b1) + b2) that satisfies
 * `TrainableFlow`: for tests of the trainer independent of `@rnode/models`.
 */
export function createTinyFlow(o: { dim?: number; hidden?: number; T?: number; seed?: number; prefix?: string } = {}): TrainableFlow & { dispose(): void } {
  const dim = o.dim ?? 2;
  const hidden = o.hidden ?? 16;
  const T = o.T ?? 1;
  const rng = new Random(o.seed ?? 0);
  const prefix = o.prefix ?? `tiny${counter++}`;
  const init = (shape: number[], scale: number) => tf.tidy(() => tf.variable(rng.normal(shape, 0, scale), true, `${prefix}/${shape.join('x')}:${counter++}`));
  const W1 = init([dim, hidden], 1 / Math.sqrt(dim));
  const b1 = init([hidden], 0.1);
  const c = init([hidden], 0.5);
  const W2 = init([hidden, dim], 0.1 / Math.sqrt(hidden));
  const b2 = init([dim], 0.01);
  const params = [W1, b1, c, W2, b2];
  const field = (t: number, z: tf.Tensor) =>
    tf.tidy(() => tf.add(tf.matMul(safeTanh(tf.add(tf.add(tf.matMul(z, W1), b1), tf.mul(c, t))), W2), b2));

  const errorControl = (regs: string[]) => Object.fromEntries([['z', true], ['logp', true], ...regs.map((r) => [r, false])]);
  const prepare = (x: tf.Tensor, so: TrainFlowSolveOptions) => {
    const est = resolveEstimator(so.estimator);
    const regs = (so.regularizers ?? []).map((r) => resolveRegularizer(r));
    const noise = est.sampleNoise(x.shape, so.noiseRng);
    const dyn = cnfDynamics({ field, estimator: est, regularizers: regs, noise });
    const y0 = cnfInitialState(x, regs);
    const opts = {
      method: so.method,
      ...(so.stepSize !== undefined ? { stepSize: so.stepSize } : {}),
      ...(so.rtol !== undefined ? { rtol: so.rtol } : {}),
      ...(so.atol !== undefined ? { atol: so.atol } : {}),
      errorControl: errorControl(regs.map((r) => r.name)),
    };
    return { regs, noise, dyn, y0, opts };
  };
  const pick = (end: Record<string, tf.Tensor>, regs: { name: string }[]): TrainFlowForward => ({
    z: end.z!,
    deltaLogp: end.logp!,
    regularizers: Object.fromEntries(regs.map((r) => [r.name, end[r.name]!])),
  });

  return {
    params,
    dim,
    forward(x, so) {
      const { regs, noise, dyn, y0, opts } = prepare(x, so);
      // tf.variableGrads runs the forward pass in tidy('forward'): a probe made here would be
      // disposed before the adjoint's backward solve uses it. Keep it until that solve has run.
      const adjoint = resolveAdjoint(so.adjoint ?? 'backsolve');
      const keepNoise = noise !== null && adjoint.name !== 'backprop';
      if (keepNoise) tf.keep(noise);
      const sol = odeintWith(adjoint, dyn, y0, [0, T], params, {
        ...opts,
        ...(keepNoise ? { onBackward: () => noise.dispose() } : {}),
      });
      so.onStats?.({ nfe: sol.stats.nfe, backward: sol.backward });
      return pick(sol.ys[1] as Record<string, tf.Tensor>, regs);
    },
    async forwardAsync(x, so) {
      const { regs, noise, dyn, y0, opts } = prepare(x, so);
      const sol = await odeintAsync(dyn, y0, [0, T], opts);
      so.onStats?.({ nfe: sol.stats.nfe, backward: null });
      tf.dispose([...(noise ? [noise] : []), ...Object.values(y0), ...Object.values(sol.ys[0] as Record<string, tf.Tensor>)]);
      return pick(sol.ys[1] as Record<string, tf.Tensor>, regs);
    },
    inverse(z, so) {
      const sol = odeint(field, z, [T, 0], {
        method: so.method,
        ...(so.stepSize !== undefined ? { stepSize: so.stepSize } : {}),
        ...(so.rtol !== undefined ? { rtol: so.rtol } : {}),
        ...(so.atol !== undefined ? { atol: so.atol } : {}),
      });
      (sol.ys[0] as tf.Tensor).dispose();
      return sol.ys[1] as tf.Tensor;
    },
    dispose() {
      tf.dispose(params);
    },
  };
}
