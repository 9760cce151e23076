import * as tf from '@tensorflow/tfjs-core';

export type NormKind = 'mixed' | 'rms' | 'max';

/** The error norm of scaled leaves as one scalar on the device. Only leaves with `control[i]` count. */
export function scaledNorm(leaves: readonly tf.Tensor[], control: readonly boolean[], kind: NormKind): tf.Scalar {
  const used = leaves.filter((_, i) => control[i]);
  if (kind === 'max') return tf.max(tf.stack(used.map((x) => tf.max(tf.abs(x))))) as tf.Scalar;
  if (kind === 'rms') {
    const total = used.reduce((n, x) => n + x.size, 0);
    return tf.sqrt(tf.div(tf.addN(used.map((x) => tf.sum(tf.square(x)))), total)) as tf.Scalar;
  }
  return tf.max(tf.stack(used.map((x) => tf.sqrt(tf.mean(tf.square(x)))))) as tf.Scalar;
}

export interface Tolerances {
  readonly rtol: readonly number[];
  readonly atol: readonly number[];
  readonly control: readonly boolean[];
  readonly norm: NormKind;
}

/**
 * norm(err / (atol + rtol·max(|y0|, |y1|))), with every leaf of y1 folded in as 0·y1 so that
 * a non-finite state anywhere (even outside error control) makes the ratio NaN.
 */
export function errorRatio(y0: readonly tf.Tensor[], y1: readonly tf.Tensor[], err: readonly tf.Tensor[], tol: Tolerances): tf.Scalar {
  const scaled = err.map((e, i) => {
    if (!tol.control[i]) return e;
    const scale = tf.add(tf.mul(tf.maximum(tf.abs(y0[i] as tf.Tensor), tf.abs(y1[i] as tf.Tensor)), tol.rtol[i] as number), tol.atol[i] as number);
    return tf.div(e, scale);
  });
  const r = scaledNorm(scaled, tol.control, tol.norm);
  const poison = tf.addN(y1.map((y) => tf.sum(tf.mul(y, 0))));
  return tf.add(r, poison) as tf.Scalar;
}

/** norm(x / (atol + rtol·|y|)) as used by the initial step selection. */
export function weightedNorm(x: readonly tf.Tensor[], y: readonly tf.Tensor[], tol: Tolerances): tf.Scalar {
  const scaled = x.map((v, i) => (tol.control[i] ? tf.div(v, tf.add(tf.mul(tf.abs(y[i] as tf.Tensor), tol.rtol[i] as number), tol.atol[i] as number)) : v));
  return scaledNorm(scaled, tol.control, tol.norm);
}
