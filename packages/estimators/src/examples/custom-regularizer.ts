import * as tf from '@tensorflow/tfjs-core';
import { defineRegularizer, jvp } from '@rnode/estimators';

/**
 * Directional-derivative penalty: mean over dimensions of ((∂f/∂z) f)², the
 * squared Jacobian-vector product J·f (the spatial part of df/dt along the flow).
 * J·f is computed with the double-VJP trick in `jvp`, one extra pass. A single
 * autodiff call grad(f, z, f) would give the VJP fᵀJ instead, a different
 * quantity unless J is symmetric.
 */
export const directionalDerivative = defineRegularizer({
  name: 'directional-derivative',
  rate: ({ field, t, z, f }) => {
    const jf = jvp(field, t, z, f); // (∂f/∂z)·f, shape of z
    const b = z.shape[0] ?? 1;
    return tf.mean(tf.square(tf.reshape(jf, [b, -1])), 1);
  },
});
