import * as tf from '@tensorflow/tfjs-core';

/** [B, ...dims] → [B, D]. */
export function flat2d(x: tf.Tensor): tf.Tensor2D {
  const b = x.shape[0] ?? 1;
  return tf.reshape(x, [b, x.size / Math.max(b, 1)]);
}

/** Sum over all but the batch axis → [B]. */
export function sumPerSample(x: tf.Tensor): tf.Tensor1D {
  return tf.sum(flat2d(x), 1);
}

/** Mean over all but the batch axis → [B]. */
export function meanPerSample(x: tf.Tensor): tf.Tensor1D {
  return tf.mean(flat2d(x), 1);
}
