import type * as tf from '@tensorflow/tfjs-core';
import type { PluginBase, Random } from '@rnode/core';

/**
 * The network f(t, z) of a CNF; z is [batch, ...dims]. A field may carry an
 * explicit VJP (second-order-safe by construction). Without one, estimators
 * differentiate `f` with tf.valueAndGrad; for training (gradients of the
 * divergence w.r.t. parameters) `f` must then use only ops whose gradients are
 * right under an outer tape: the safe activations of `@rnode/core`
 * (`safeTanh`, `softplus`, `swish`, …), never raw tf.tanh / tf.sigmoid /
 * tf.exp / tf.elu (tensorflow/tfjs#3252).
 */
export interface VectorField {
  (t: number, z: tf.Tensor): tf.Tensor;
  /** f(t, z) and vᵀ∂f/∂z (same shape as z), in one pass. */
  vjp?(t: number, z: tf.Tensor, v: tf.Tensor): { f: tf.Tensor; vjp: tf.Tensor };
  /**
   * A fused probe: f, vᵀ∂f/∂z and the per-sample sums a Hutchinson estimate and the RNODE
   * regularizers need, from one call (e.g. one fused kernel). Estimators use it when present;
   * it must agree with `vjp` to float32 rounding and be differentiable like it.
   */
  probe?(t: number, z: tf.Tensor, v: tf.Tensor): FieldProbe;
  /**
   * Fused kernels for the whole CNF right-hand side with a Hutchinson probe and its adjoint
   * (see `FusedCnfField`); `cnfDynamics` uses them when the estimator and every regularizer
   * declare a form they can compute.
   */
  fused?: FusedCnfField;
}

/** Scales of the fused CNF rates: div·cDiv, Σf²·cKin, Σ(εᵀJ)²·cFrob per sample. */
export interface CnfRateScales {
  cDiv: number;
  cKin: number;
  cFrob: number;
}

/**
 * A field that evaluates, in one kernel call each, the CNF rates and the continuous adjoint's
 * augmented dynamics, with the probe ε fixed:
 *   rates(t, z, ε) = [f, cDiv·Σ ε⊙(εᵀJ), cKin·Σ f², cFrob·Σ (εᵀJ)²]   (per sample)
 *   adjoint(t, z, ε, a) = the rates and −aᵀ∂rates/∂z, −aᵀ∂rates/∂θ, for the cotangents
 *   a = (a_z [B, …], a_div, a_kin, a_frob [B]); `zeros` extra [B] zero tensors.
 * θ is `params[0]`, the only parameter tensor the field depends on.
 */
export interface FusedCnfField {
  readonly params: readonly tf.Tensor[];
  rates(t: number, z: tf.Tensor, eps: tf.Tensor, c: CnfRateScales): { f: tf.Tensor; div: tf.Tensor; kin: tf.Tensor; frob: tf.Tensor };
  adjoint(
    t: number,
    z: tf.Tensor,
    eps: tf.Tensor,
    c: CnfRateScales,
    a: { z: tf.Tensor; div: tf.Tensor | null; kin: tf.Tensor | null; frob: tf.Tensor | null },
    zeros: number,
  ): { f: tf.Tensor; div: tf.Tensor; kin: tf.Tensor; frob: tf.Tensor; dz: tf.Tensor; dtheta: tf.Tensor; zeros: tf.Tensor[] };
}

/** What `VectorField.probe` returns; the per-sample sums are [batch]. */
export interface FieldProbe {
  f: tf.Tensor;
  vjp: tf.Tensor;
  /** Σ_dims v ⊙ vᵀ∂f/∂z (the Hutchinson divergence estimate). */
  vDotVjp: tf.Tensor;
  /** Σ_dims f². */
  fSquaredSum: tf.Tensor;
  /** Σ_dims (vᵀ∂f/∂z)². */
  vjpSquaredSum: tf.Tensor;
}

/** What an estimator hands to regularizers besides f. */
export type EstimatorOutput = 'eps-vjp' | 'sq-jacobian-norm';

export interface EstimatorResult {
  /** f(t, z), shape of z. */
  f: tf.Tensor;
  /** Divergence estimate per sample, [batch]. */
  divergence: tf.Tensor;
  /** The probe ε (the noise passed in; not a new tensor, do not dispose it separately). */
  eps?: tf.Tensor;
  /** εᵀ∂f/∂z, shape of z (Hutchinson estimators). */
  epsJ?: tf.Tensor;
  /** ‖∂f/∂z‖²_F per sample, [batch] (exact estimator: all Jacobian rows are computed anyway). */
  sqJacobianNorm?: tf.Tensor;
  /** Σ_dims f² per sample, [batch], when the field's fused probe computed it. */
  fSquaredSum?: tf.Tensor;
  /** Σ_dims (εᵀ∂f/∂z)² per sample, [batch], when the field's fused probe computed it. */
  epsJSquaredSum?: tf.Tensor;
}

export interface EstimatorPlugin<N extends string = string> extends PluginBase<'estimator', N> {
  /** What `evaluate` returns besides f and the divergence. */
  readonly provides: readonly EstimatorOutput[];
  /**
   * Declares the estimate's form so fused kernels can compute it: 'eps-dot-vjp' means
   * divergence = Σ_dims ε ⊙ (εᵀ∂f/∂z) with the probe from `sampleNoise` (Hutchinson).
   */
  readonly form?: 'eps-dot-vjp';
  /**
   * The probe for one solve, drawn once and passed to every evaluation of that
   * solve (forward and adjoint backward); null for a deterministic estimator.
   */
  sampleNoise(zShape: readonly number[], rng: Random): tf.Tensor | null;
  /** Returns new tensors (except `eps`), owned by the caller. */
  evaluate(field: VectorField, t: number, z: tf.Tensor, noise: tf.Tensor | null): EstimatorResult;
}

export interface RegularizerContext {
  t: number;
  z: tf.Tensor;
  f: tf.Tensor;
  eps?: tf.Tensor;
  epsJ?: tf.Tensor;
  sqJacobianNorm?: tf.Tensor;
  /** Σ_dims f² per sample when already computed (a fused probe); regularizers may use it instead of f. */
  fSquaredSum?: tf.Tensor;
  /** Σ_dims (εᵀ∂f/∂z)² per sample when already computed (a fused probe). */
  epsJSquaredSum?: tf.Tensor;
  field: VectorField;
}

export type RegularizerInput = 'eps-vjp';

export interface RegularizerPlugin<N extends string = string> extends PluginBase<'regularizer', N> {
  /** Inputs that must come from the estimator: 'eps-vjp' = ctx.eps and ctx.epsJ (Hutchinson). */
  readonly uses: readonly RegularizerInput[];
  /**
   * True if `rate` also works from `ctx.sqJacobianNorm` when the estimator is
   * exact and there is no ε (the built-in jacobian-frobenius does).
   */
  readonly exactFallback: boolean;
  /** The per-sample integrand, [batch]; d reg/dt = rate. Runs inside tf.tidy. */
  rate(ctx: RegularizerContext): tf.Tensor;
  /**
   * Declares rate = scale · reduce_dims(x²) with x = f ('f') or the probe's VJP ('eps-vjp'),
   * so fused kernels can compute it (the built-in kinetic energy and Jacobian Frobenius do).
   */
  readonly squaredNorm?: { readonly of: 'f' | 'eps-vjp'; readonly scale: number; readonly reduction: 'mean' | 'sum' };
}
