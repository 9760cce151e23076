import * as tf from '@tensorflow/tfjs-core';
import { RnodeError, checkOptions } from '@rnode/core';
import { resolveEstimator, resolveRegularizer, type EstimatorRef, type RegularizerRef } from './builtins.js';
import type { EstimatorPlugin, RegularizerContext, RegularizerPlugin, VectorField } from './types.js';

/** The CNF's augmented state: z, logp ([batch]) and one [batch] entry per regularizer. */
export type CnfState = Record<string, tf.Tensor>;
/** Structurally the OdeFunc of @rnode/solvers over a record state. */
export type CnfOdeFunc = (t: number, y: CnfState) => CnfState;

export interface CnfDynamicsOptions {
  field: VectorField;
  /** Plugin or registered name. */
  estimator: EstimatorRef;
  /** Plugins or names; each adds a state entry under its name. */
  regularizers?: readonly RegularizerRef[];
  /**
   * The probe for this solve, from `estimator.sampleNoise(z.shape, rng)`: drawn
   * ONCE per solve and reused by every evaluation (forward and backward), never
   * redrawn per evaluation. null/omitted for the exact estimator. The caller
   * owns it and disposes it after the solve (and its gradient) is done.
   */
  noise?: tf.Tensor | null;
}

/**
 * The CNF dynamics over `{ z, logp, [reg.name]… }`: dz/dt = f(t, z),
 * d logp/dt = −divergence, d reg/dt = reg.rate (each [batch]). One estimator
 * evaluation per call; regularizers using 'eps-vjp' reuse its VJP.
 */
export function cnfDynamics(options: CnfDynamicsOptions): CnfOdeFunc {
  const source = 'cnf-dynamics';
  const o = checkOptions(options, ['field', 'estimator', 'regularizers', 'noise'], source);
  if (typeof o.field !== 'function') {
    throw new RnodeError('INVALID_OPTIONS', 'option "field" must be a function (t, z) => f', { source: 'option:field' });
  }
  const estimator: EstimatorPlugin = resolveEstimator(o.estimator);
  const regs: RegularizerPlugin[] = (o.regularizers ?? []).map((r) => resolveRegularizer(r));
  const seen = new Set<string>(['z', 'logp']);
  for (const r of regs) {
    if (seen.has(r.name)) {
      throw new RnodeError('INVALID_OPTIONS', `two state entries named "${r.name}"; give one regularizer another name`, {
        source: `regularizer:${r.name}`,
      });
    }
    seen.add(r.name);
    if (r.uses.includes('eps-vjp') && !estimator.provides.includes('eps-vjp')) {
      const exactOk = r.exactFallback && estimator.provides.includes('sq-jacobian-norm');
      if (!exactOk) {
        throw new RnodeError(
          'INVALID_OPTIONS',
          `regularizer "${r.name}" uses 'eps-vjp' (the Hutchinson probe's VJP) but estimator "${estimator.name}" draws no probe; use 'hutchinson' or 'hutchinson-rademacher'`,
          { source: `regularizer:${r.name}` },
        );
      }
    }
  }
  const noise = o.noise ?? null;
  const field = o.field;
  return (t: number, y: CnfState): CnfState => {
    const z = y.z;
    if (!z) throw new RnodeError('INVALID_ARGUMENT', 'the CNF state has no "z" entry', { source });
    return tf.tidy(() => {
      const r = estimator.evaluate(field, t, z, noise);
      const out: CnfState = { z: r.f, logp: tf.neg(r.divergence) };
      const ctx: RegularizerContext = {
        t,
        z,
        f: r.f,
        field,
        ...(r.eps ? { eps: r.eps } : {}),
        ...(r.epsJ ? { epsJ: r.epsJ } : {}),
        ...(r.sqJacobianNorm ? { sqJacobianNorm: r.sqJacobianNorm } : {}),
      };
      for (const reg of regs) out[reg.name] = reg.rate(ctx);
      return out;
    });
  };
}

/** The initial CNF state { z, logp: 0, reg: 0 … } (z is cloned; the caller owns everything). */
export function cnfInitialState(z: tf.Tensor, regularizers: readonly RegularizerRef[] = [], logp?: tf.Tensor): CnfState {
  const b = z.shape[0] ?? 1;
  const out: CnfState = { z: tf.clone(z), logp: logp ? tf.clone(logp) : tf.zeros([b]) };
  for (const r of regularizers) out[resolveRegularizer(r).name] = tf.zeros([b]);
  return out;
}
