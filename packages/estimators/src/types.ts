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
}

export interface EstimatorPlugin<N extends string = string> extends PluginBase<'estimator', N> {
  /** What `evaluate` returns besides f and the divergence. */
  readonly provides: readonly EstimatorOutput[];
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
}
