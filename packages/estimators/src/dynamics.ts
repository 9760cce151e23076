import * as tf from '@tensorflow/tfjs-core';
import * as z from 'zod/mini';
import { RnodeError, functionOption, parseOptions, type AdjointRates, type WithAdjointRates } from '@rnode/core';
import { resolveEstimator, resolveRegularizer, type EstimatorRef, type RegularizerRef } from './builtins.js';
import { regularizerContext } from './context.js';
import type { EstimatorPlugin, RegularizerPlugin, VectorField } from './types.js';

/** The CNF's augmented state: z, logp ([batch]) and one [batch] entry per regularizer. */
export type CnfState = Record<string, tf.Tensor>;
/**
 * Structurally the OdeFunc of @rnode/solvers over a record state; on the fused path it carries
 * `adjointRates` (the contract `AdjointRates` of `@rnode/core`, read by `@rnode/adjoint`).
 */
export type CnfOdeFunc = WithAdjointRates<CnfState>;

/** The options of `cnfDynamics` (type and run-time check). */
export const cnfDynamicsOptionsSchema = z.object({
  field: functionOption<VectorField>('a function (t, z) => f'),
  /** Plugin or registered name. */
  estimator: z.custom<EstimatorRef>(),
  /** Plugins or names; each adds a state entry under its name. */
  regularizers: z.optional(z.custom<readonly RegularizerRef[]>((v) => Array.isArray(v), { error: 'a list of regularizer plugins or names' })),
  /**
   * The probe for this solve, from `estimator.sampleNoise(z.shape, rng)`: drawn
   * ONCE per solve and reused by every evaluation (forward and backward), never
   * redrawn per evaluation. null/omitted for the exact estimator. The caller
   * owns it and disposes it after the solve (and its gradient) is done.
   */
  noise: z.optional(z.custom<tf.Tensor | null>()),
});

export type CnfDynamicsOptions = z.input<typeof cnfDynamicsOptionsSchema>;

/**
 * The CNF dynamics over `{ z, logp, [reg.name]… }`: dz/dt = f(t, z),
 * d logp/dt = −divergence, d reg/dt = reg.rate (each [batch]). One estimator
 * evaluation per call; regularizers using 'eps-vjp' reuse its VJP.
 */
export function cnfDynamics(options: CnfDynamicsOptions): CnfOdeFunc {
  const source = 'cnf-dynamics';
  const o = parseOptions(cnfDynamicsOptionsSchema, options, source);
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
  const fused = fusedPlan(field, estimator, regs, noise);
  if (fused) return fused;
  return (t: number, y: CnfState): CnfState => {
    const z = y.z;
    if (!z) throw new RnodeError('INVALID_ARGUMENT', 'the CNF state has no "z" entry', { source });
    return tf.tidy(() => {
      const r = estimator.evaluate(field, t, z, noise);
      const out: CnfState = { z: r.f, logp: tf.neg(r.divergence) };
      const ctx = regularizerContext(t, z, field, r);
      const seen = new Set<tf.Tensor>(Object.values(out));
      for (const reg of regs) {
        const r = reg.rate(ctx);
        // A rate may be a tensor already in the state (a fused sum): each entry owns its own.
        out[reg.name] = seen.has(r) ? tf.clone(r) : r;
        seen.add(out[reg.name]!);
      }
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

/**
 * The fused CNF dynamics: when the field has fused kernels (`field.fused`), the estimator is
 * Hutchinson's (form 'eps-dot-vjp', with its probe) and the regularizers are at most one
 * squared norm of f and one of εᵀJ, the whole right-hand side is one kernel call, and the
 * function carries `adjointRates` (the continuous adjoint's augmented dynamics in one call:
 * `@rnode/adjoint` uses it instead of taping the dynamics). Otherwise null.
 */
function fusedPlan(
  field: VectorField,
  estimator: EstimatorPlugin,
  regs: readonly RegularizerPlugin[],
  noise: tf.Tensor | null,
): (CnfOdeFunc & { adjointRates: AdjointRates<CnfState> }) | null {
  const fused = field.fused;
  if (!fused || estimator.form !== 'eps-dot-vjp' || !noise) return null;
  const kin = regs.filter((r) => r.squaredNorm?.of === 'f');
  const frob = regs.filter((r) => r.squaredNorm?.of === 'eps-vjp');
  if (kin.length > 1 || frob.length > 1 || kin.length + frob.length !== regs.length) return null;
  const d = noise.size / noise.shape[0]!;
  const scale = (r: RegularizerPlugin | undefined) => {
    if (!r) return 0;
    const q = r.squaredNorm!;
    return q.scale / (q.reduction === 'mean' ? d : 1);
  };
  const kinReg = kin[0];
  const frobReg = frob[0];
  const c = { cDiv: -1, cKin: scale(kinReg), cFrob: scale(frobReg) };
  const state = (r: { f: tf.Tensor; div: tf.Tensor; kin: tf.Tensor; frob: tf.Tensor }): CnfState => {
    const out: CnfState = { z: r.f, logp: r.div };
    for (const reg of regs) out[reg.name] = reg === kinReg ? r.kin : r.frob; // the state's key order
    return out;
  };
  const unused = (r: { kin: tf.Tensor; frob: tf.Tensor }) => {
    if (!kinReg) r.kin.dispose();
    if (!frobReg) r.frob.dispose();
  };
  const f = ((t: number, y: CnfState): CnfState => {
    const z = y.z;
    if (!z) throw new RnodeError('INVALID_ARGUMENT', 'the CNF state has no "z" entry', { source: 'cnf-dynamics' });
    const r = fused.rates(t, z, noise, c);
    unused(r);
    return state(r);
  }) as CnfOdeFunc & { adjointRates: AdjointRates<CnfState> };
  f.adjointRates = (t, y, a, params) => {
    if (params.length !== fused.params.length || params.some((p, i) => p !== fused.params[i])) return null;
    const extra = Object.keys(y).filter((k) => k !== 'z');
    const r = fused.adjoint(
      t,
      y.z!,
      noise,
      c,
      { z: a.z!, div: a.logp ?? null, kin: kinReg ? (a[kinReg.name] ?? null) : null, frob: frobReg ? (a[frobReg.name] ?? null) : null },
      extra.length,
    );
    unused(r);
    const dadt: CnfState = {};
    let i = 0;
    for (const k of Object.keys(y)) dadt[k] = k === 'z' ? r.dz : r.zeros[i++]!; // logp and the integrals do not enter the rates
    return { f: state(r), dadt, dparams: [r.dtheta] };
  };
  return f;
}

/** @deprecated `AdjointRates<CnfState>` from `@rnode/core`, the one declaration of the contract. */
export type AdjointRatesFn = AdjointRates<CnfState>;
