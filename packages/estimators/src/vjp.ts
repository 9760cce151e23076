import * as tf from '@tensorflow/tfjs-core';
import { RnodeError } from '@rnode/core';
import type { VectorField } from './types.js';

function checkGradients(): void {
  if (!tf.getGradient('Sum')) {
    throw new RnodeError(
      'BACKEND_NOT_INITIALIZED',
      'tfjs gradients are not registered (tfjs-core alone registers none): import "@tensorflow/tfjs" or ' +
        '"@tensorflow/tfjs-core/dist/register_all_gradients", or give the field an explicit vjp()',
      { source: 'estimator:vjp' },
    );
  }
}

/**
 * f(t, z) and vᵀ∂f/∂z. Uses `field.vjp` when present; otherwise one
 * tf.valueAndGrad pass with dy = v (f is the value, so it is computed once).
 * Differentiable w.r.t. the field's parameters under an outer tape, provided f
 * uses second-order-safe ops.
 */
export function vjp(field: VectorField, t: number, z: tf.Tensor, v: tf.Tensor): { f: tf.Tensor; vjp: tf.Tensor } {
  if (field.vjp) return field.vjp(t, z, v);
  checkGradients();
  const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => {
    const out = field(t, x);
    // tfjs cannot differentiate a function that returns its input unchanged.
    return out === x ? tf.clone(out) : out;
  })(z, v);
  return { f: value, vjp: grad };
}

/**
 * The Jacobian-vector product (∂f/∂z)·v, shape of z, by the double-VJP trick:
 * u ↦ uᵀJ is linear in u, so J·v = ∂/∂u ⟨uᵀJ, v⟩ (at any u; u = 0 here). One
 * VJP differentiated once more; differentiable w.r.t. parameters too (one more
 * order), with safe ops in f.
 */
export function jvp(field: VectorField, t: number, z: tf.Tensor, v: tf.Tensor): tf.Tensor {
  checkGradients();
  return tf.tidy(() =>
    tf.grad((u: tf.Tensor) => {
      const r = vjp(field, t, z, u);
      return tf.sum(tf.mul(r.vjp, v));
    })(tf.zerosLike(z)),
  );
}
