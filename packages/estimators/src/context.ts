import type * as tf from '@tensorflow/tfjs-core';
import type { EstimatorResult, RegularizerContext, VectorField } from './types.js';

/**
 * The context a regularizer's `rate` gets from one estimator evaluation: t, z, f, the field, and
 * whatever the estimator computed on the way (ε, εᵀJ, ‖J‖²_F, and a fused probe's Σf² and
 * Σ(εᵀJ)²). The one builder: `cnfDynamics` and the conformance kit (`checkRegularizer`) both
 * use it, so the suite sees the same inputs as a solve.
 */
export function regularizerContext(t: number, z: tf.Tensor, field: VectorField, r: EstimatorResult): RegularizerContext {
  return {
    t,
    z,
    f: r.f,
    field,
    ...(r.eps ? { eps: r.eps } : {}),
    ...(r.epsJ ? { epsJ: r.epsJ } : {}),
    ...(r.sqJacobianNorm ? { sqJacobianNorm: r.sqJacobianNorm } : {}),
    ...(r.fSquaredSum ? { fSquaredSum: r.fSquaredSum } : {}),
    ...(r.epsJSquaredSum ? { epsJSquaredSum: r.epsJSquaredSum } : {}),
  };
}
