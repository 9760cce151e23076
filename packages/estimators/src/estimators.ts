import * as tf from '@tensorflow/tfjs-core';
import * as z from 'zod/mini';
import { RnodeError, parseOptions, type Random } from '@rnode/core';
import { flat2d, sumPerSample } from './internal/util.js';
import type { EstimatorPlugin, EstimatorResult, VectorField } from './types.js';
import { vjp } from './vjp.js';

function checkZ(z: tf.Tensor, source: string): void {
  if (z.rank < 2) {
    throw new RnodeError('SHAPE_MISMATCH', `z must be [batch, ...dims], got shape [${z.shape.join(', ')}]`, { source });
  }
}

/**
 * Exact divergence: one VJP per dimension with the unit probes e_j (z of any
 * shape [B, ...dims] is flattened to D = Π dims), as FFJORD's brute force. Each
 * VJP is row j of the Jacobian, ∂f_j/∂z, so the exact ‖∂f/∂z‖²_F per sample
 * comes for free (`sqJacobianNorm`). Cost: D passes, for low dimensions.
 */
export const exactEstimator: EstimatorPlugin<'exact'> = Object.freeze({
  kind: 'estimator' as const,
  name: 'exact' as const,
  description: 'exact divergence and Jacobian Frobenius norm, one VJP per dimension',
  provides: Object.freeze(['sq-jacobian-norm'] as const),
  sampleNoise: () => null,
  evaluate(field: VectorField, t: number, z: tf.Tensor, _noise: tf.Tensor | null): EstimatorResult {
    checkZ(z, 'estimator:exact');
    return tf.tidy(() => {
      const b = z.shape[0]!;
      const d = z.size / b;
      let f: tf.Tensor | undefined;
      let div: tf.Tensor = tf.zeros([b]);
      let sq: tf.Tensor = tf.zeros([b]);
      for (let j = 0; j < d; j++) {
        const unit = new Float32Array(b * d);
        for (let i = 0; i < b; i++) unit[i * d + j] = 1;
        const e = tf.tensor(unit, z.shape, 'float32');
        const r = vjp(field, t, z, e);
        const row = flat2d(r.vjp); // ∂f_j/∂z, [B, D]
        div = tf.add(div, tf.reshape(tf.slice(row, [0, j], [b, 1]), [b]));
        sq = tf.add(sq, tf.sum(tf.square(row), 1));
        if (f === undefined) f = r.f;
      }
      return { f: f!, divergence: div, sqJacobianNorm: sq };
    });
  },
});

/** The options of `hutchinson()` (type and run-time check). */
export const hutchinsonOptionsSchema = z.object({
  /** Distribution of ε: 'gaussian' (RNODE's default) or 'rademacher' (lower variance, FFJORD's option). */
  noise: z.optional(z.enum(['gaussian', 'rademacher'])),
  /** Plugin name; defaults to 'hutchinson' / 'hutchinson-rademacher'. */
  name: z.optional(z.string()),
});

export type HutchinsonOptions = z.input<typeof hutchinsonOptionsSchema>;

/**
 * Hutchinson's estimator: divergence ≈ Σ (εᵀ∂f/∂z) ⊙ ε per sample from one VJP,
 * with E[εεᵀ] = I. The VJP εᵀ∂f/∂z is returned (`epsJ`) so regularizers such
 * as jacobian-frobenius reuse it without another pass (RNODE). ε comes from
 * `sampleNoise`, once per solve.
 */
export function hutchinson(options?: HutchinsonOptions): EstimatorPlugin {
  const source = 'estimator:hutchinson';
  const o = parseOptions(hutchinsonOptionsSchema, options, source);
  const noise = o.noise ?? 'gaussian';
  const name = o.name ?? (noise === 'gaussian' ? 'hutchinson' : 'hutchinson-rademacher');
  const src = `estimator:${name}`;
  return Object.freeze({
    kind: 'estimator' as const,
    name,
    description: `Hutchinson trace estimator with ${noise} probes`,
    provides: Object.freeze(['eps-vjp'] as const),
    form: 'eps-dot-vjp' as const,
    sampleNoise(zShape: readonly number[], rng: Random): tf.Tensor {
      return noise === 'gaussian' ? rng.normal(zShape) : rng.rademacher(zShape);
    },
    evaluate(field: VectorField, t: number, z: tf.Tensor, eps: tf.Tensor | null): EstimatorResult {
      checkZ(z, src);
      if (!eps) {
        throw new RnodeError('INVALID_ARGUMENT', `needs the noise drawn by sampleNoise(z.shape, rng) once per solve, got null`, {
          source: src,
        });
      }
      if (eps.shape.length !== z.shape.length || eps.shape.some((s, i) => s !== z.shape[i])) {
        throw new RnodeError('SHAPE_MISMATCH', `noise shape [${eps.shape.join(', ')}] differs from z shape [${z.shape.join(', ')}]`, {
          source: src,
        });
      }
      if (field.probe) {
        const p = field.probe(t, z, eps);
        return { f: p.f, divergence: p.vDotVjp, epsJ: p.vjp, eps, fSquaredSum: p.fSquaredSum, epsJSquaredSum: p.vjpSquaredSum };
      }
      const out = tf.tidy(() => {
        const r = vjp(field, t, z, eps);
        return { f: r.f, divergence: sumPerSample(tf.mul(r.vjp, eps)), epsJ: r.vjp };
      });
      return { ...out, eps };
    },
  });
}

/** Hutchinson with Gaussian probes (RNODE), registered as 'hutchinson'. */
export const hutchinsonGaussianEstimator: EstimatorPlugin = hutchinson();
/** Hutchinson with Rademacher probes, registered as 'hutchinson-rademacher'. */
export const hutchinsonRademacherEstimator: EstimatorPlugin = hutchinson({ noise: 'rademacher' });
