import * as tf from '@tensorflow/tfjs-core';
import { RnodeError } from '@rnode/core';
import { standardNormalLogProb } from '@rnode/models';
import type { FlowForward } from './flow.js';
import type { NllUnit } from './config.js';
import { bitsPerDim } from '@rnode/data';

/** Negative log-likelihood per sample, [B]: −log p(x) = Δlogp − log N(z), in nats or bits/dim. */
export function negativeLogLikelihood(out: Pick<FlowForward, 'z' | 'deltaLogp'>, unit: NllUnit = 'nats'): tf.Tensor {
  return tf.tidy(() => {
    const nats = tf.sub(out.deltaLogp, standardNormalLogProb(out.z));
    if (unit === 'nats') return nats;
    const b = out.z.shape[0] ?? 1;
    const d = out.z.size / b;
    return tf.div(nats, d * Math.LN2);
  });
}

/**
 * NLL per image [B] of the discrete data from a flow run on logit-transformed, dequantised
 * images: log p(x) = log N(z) − Δlogp + logdet; bits/dim = −(log p(x)/D − log 2^nbits)/log 2,
 * or in nats −log p(x) + D·log 2^nbits.
 */
export function imageNll(out: Pick<FlowForward, 'z' | 'deltaLogp'>, logdet: tf.Tensor, nbits: number, unit: NllUnit = 'bits-per-dim'): tf.Tensor {
  return tf.tidy(() => {
    const b = out.z.shape[0] ?? 1;
    const d = out.z.size / b;
    const nats = negativeLogLikelihood(out, 'nats');
    // log p(x) = log p(y) + logdet of the logit transform (bits/dim: @rnode/data's, its one home)
    return unit === 'bits-per-dim' ? bitsPerDim(tf.sub(logdet, nats), d, nbits) : tf.add(tf.sub(nats, logdet), d * nbits * Math.LN2);
  });
}

export interface ObjectiveTerms {
  /** mean NLL + Σ λ·mean(regularizer integral) (Eq. 17). */
  loss: tf.Scalar;
  /** mean NLL over the batch, in `unit`. */
  nll: tf.Scalar;
  /** mean over the batch of each regularizer's integral (unweighted), in the order given. */
  regularizers: tf.Scalar[];
}

/**
 * The RNODE objective (Eq. 17 of Finlay et al. 2020) from a flow's forward pass:
 * mean_batch(NLL) + Σ_k λ_k · mean_batch(∫ reg_k dt). With all λ = 0 it is FFJORD's
 * maximum-likelihood loss; a λ = 0 term (a monitored regularizer) is reported, not added. Regularizer integrals are taken from `out.regs` by name. Makes
 * intermediate tensors: call inside tf.tidy or tf.variableGrads.
 */
export function rnodeObjective(
  out: Pick<FlowForward, 'z' | 'deltaLogp' | 'regs'>,
  o: {
    regularizers: ReadonlyArray<{ name: string; weight: number }>;
    nllUnit?: NllUnit;
    /** Image data: the logit transform's log-determinant per image [B] and the bits per intensity (bits/dim of the discrete data). */
    image?: { logdet: tf.Tensor; nbits: number };
  },
): ObjectiveTerms {
  const nll = tf.mean(
    o.image ? imageNll(out, o.image.logdet, o.image.nbits, o.nllUnit ?? 'bits-per-dim') : negativeLogLikelihood(out, o.nllUnit ?? 'nats'),
  ) as tf.Scalar;
  const regs = o.regularizers.map((r) => {
    const v = out.regs[r.name];
    if (!v) throw new RnodeError('INVALID_ARGUMENT', `the flow returned no integral for regularizer "${r.name}"`, { source: 'trainer' });
    return tf.mean(v) as tf.Scalar;
  });
  let loss: tf.Scalar = nll;
  o.regularizers.forEach((r, i) => {
    // λ = 0: a monitored regularizer (reported, not in the loss; an overflowing one must not make the loss NaN).
    if (r.weight !== 0) loss = tf.add(loss, tf.mul(regs[i]!, r.weight));
  });
  return { loss, nll, regularizers: regs };
}
