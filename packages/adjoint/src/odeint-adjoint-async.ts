import * as tf from '@tensorflow/tfjs-core';
import { RnodeError, flattenState, unflattenState, type OdeState } from '@rnode/core';
import type { AsyncAdjointGradients, AsyncAdjointSolution, OdeintAdjointOptions } from './types.js';
import { prepare } from './odeint-adjoint.js';
import { backwardOptions } from './internal/options.js';
import { emptyBackwardStats, runBackwardAsync } from './internal/backward.js';
import { odeintAsync, type OdeFunc } from './internal/solvers.js';

/**
 * The continuous adjoint with an explicit backward pass, for backends without synchronous
 * reads (WebGPU in Node): both solves use `odeintAsync`, and the tfjs tape is not involved.
 *
 * ```ts
 * const sol = await odeintAdjointAsync(f, y0, [0, 1], params, { rtol: 1e-5, atol: 1e-5 });
 * const dLdy1 = tf.mul(2, sol.ys[1]);                       // L = sum(y(1)²)
 * const { dy0, dparams, stats } = await sol.backward([null, dLdy1]);
 * ```
 * The result keeps a reference to the forward states until `backward` or `dispose` is
 * called; the caller owns `ys` and everything `backward` returns.
 */
export async function odeintAdjointAsync<S extends OdeState>(
  f: OdeFunc<S>,
  y0: S,
  t: ArrayLike<number>,
  params: readonly tf.Tensor[],
  options?: OdeintAdjointOptions,
): Promise<AsyncAdjointSolution<S>> {
  const { spec, times, params: ps, split } = prepare(y0, t, params, options);
  const bwdOptions = backwardOptions(split, spec, ps.length); // resolved now: bad options fail at the call
  const sol = await odeintAsync(f, y0, times, split.forward);
  let stored: tf.Tensor[][] | null = sol.ys.map((s) => flattenState(s, 'ys').leaves.map((x) => tf.clone(x)));
  const release = () => {
    stored?.forEach((l) => l.forEach((x) => x.dispose()));
    stored = null;
  };
  const out: AsyncAdjointSolution<S> = {
    ys: sol.ys,
    stats: sol.stats,
    status: sol.status,
    async backward(dLdys): Promise<AsyncAdjointGradients<S>> {
      if (!stored) {
        throw new RnodeError('INVALID_ARGUMENT', 'backward() was already called or the solution was disposed', {
          source: 'adjoint:backsolve',
        });
      }
      const ys = stored;
      const nOut = ys.length;
      if (!Array.isArray(dLdys) || dLdys.length > nOut) {
        throw new RnodeError('INVALID_ARGUMENT', `dLdys must be an array of at most ${nOut} states (one per output time)`, {
          source: 'adjoint:backsolve',
        });
      }
      const made: tf.Tensor[] = [];
      const gradYs = ys.map((l, i) => {
        const g = dLdys[i];
        if (g === null || g === undefined) {
          const z = l.map((x) => tf.zerosLike(x));
          made.push(...z);
          return z;
        }
        const gl = flattenState(g, `dLdys[${i}]`).leaves;
        gl.forEach((x, k) => {
          const want = (l[k] as tf.Tensor).shape;
          if (gl.length !== l.length || x.shape.join() !== want.join()) {
            throw new RnodeError('SHAPE_MISMATCH', `dLdys[${i}] does not match the state's shape`, { source: 'adjoint:backsolve' });
          }
        });
        return gl;
      });
      const stats = emptyBackwardStats();
      try {
        const r = await runBackwardAsync(
          { f, spec, times: times.slice(0, nOut), params: ps, ys, gradYs, options: bwdOptions, stats },
          (g, a, tt, o) => odeintAsync(g, a, tt, o),
        );
        split.adjoint.onBackward?.({ ...stats });
        return { dy0: unflattenState<S>(r.dy0, spec), dparams: r.dparams, stats };
      } finally {
        made.forEach((x) => x.dispose());
        release();
      }
    },
    dispose: release,
  };
  if (sol.message !== undefined) (out as { message?: string }).message = sol.message;
  return out;
}
