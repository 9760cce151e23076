import * as tf from '@tensorflow/tfjs-core';
import { RnodeError } from '../errors.js';

/**
 * Activations that stay correct under nested tapes (second- and higher-order
 * gradients).
 *
 * tfjs 4.22 registers the gradients of `Tanh`, `Sigmoid`, `Exp` and `Elu` in
 * terms of the op's saved OUTPUT y. Under an outer tape (tf.grad(tf.grad(..)),
 * or a VJP computed inside tf.variableGrads, which is how a CNF is trained) that
 * output is not connected to the input on the tape, so the outer gradient either
 * throws ("Cannot compute gradient of y=f(x) with respect to x") or is silently
 * wrong (tensorflow/tfjs#3252).
 *
 * Each op here is a `tf.customGrad` whose gradient is recomputed from the saved
 * INPUT x with ops that are themselves safe (the safe ops call each other
 * recursively: d tanh = 1 − safeTanh(x)², d sigmoid = s(1 − s) with
 * s = safeSigmoid(x), d exp = safeExp(x), d elu = 1 or safeExp(x),
 * d softplus = safeSigmoid(x)), so every order of derivative is recorded on the
 * tape. The forward value is the native kernel.
 */

/** Build a unary op whose gradient is `dy · derivative(x)`, recomputed from the input. */
function unarySafe(forward: (x: tf.Tensor) => tf.Tensor, derivative: (x: tf.Tensor) => tf.Tensor) {
  // customGrad's type spreads the inputs and the save function into one rest list.
  const body = (x: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x]);
    return {
      value: forward(x),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => tf.mul(dy as tf.Tensor, derivative(saved[0] as tf.Tensor)),
    };
  };
  const op = tf.customGrad(body as unknown as Parameters<typeof tf.customGrad>[0]);
  return <T extends tf.Tensor>(x: T): T => op(x) as T;
}

/** tanh(x); gradient 1 − tanh(x)² recomputed from x. */
export const safeTanh: <T extends tf.Tensor>(x: T) => T = unarySafe(
  (x) => tf.tanh(x),
  (x) => tf.sub(1, tf.square(safeTanh(x))),
);

/** σ(x) = 1 / (1 + e^−x); gradient σ(x)(1 − σ(x)) recomputed from x. */
export const safeSigmoid: <T extends tf.Tensor>(x: T) => T = unarySafe(
  (x) => tf.sigmoid(x),
  (x) => {
    const s = safeSigmoid(x);
    return tf.mul(s, tf.sub(1, s));
  },
);

/** e^x; gradient e^x recomputed from x. */
export const safeExp: <T extends tf.Tensor>(x: T) => T = unarySafe(
  (x) => tf.exp(x),
  (x) => safeExp(x),
);

/**
 * elu′(x) = 1 for x > 0, e^x otherwise, as m + (1 − m)·e^(x(1 − m)) with the
 * mask m = step(x). tf.step has a registered (zero) gradient, whereas the masks
 * inside tf.minimum / tf.where (LessEqual, Greater) have none, which breaks the
 * third derivative.
 */
function eluDerivative(x: tf.Tensor): tf.Tensor {
  const m = tf.step(x);
  const notM = tf.sub(1, m);
  return tf.add(m, tf.mul(notM, safeExp(tf.mul(x, notM))));
}

/** ELU (α = 1): x for x > 0, e^x − 1 otherwise; gradient 1 or e^x, recomputed from x. */
export const safeElu: <T extends tf.Tensor>(x: T) => T = unarySafe((x) => tf.elu(x), eluDerivative);

/**
 * softplus(x) = log(1 + e^x); gradient σ(x) through `safeSigmoid`. tfjs's own
 * softplus is right to second order (its gradient recomputes σ from x) but its
 * third order goes through the unsafe Sigmoid gradient; this one is safe at
 * every order.
 */
export const softplus: <T extends tf.Tensor>(x: T) => T = unarySafe(
  (x) => tf.softplus(x),
  (x) => safeSigmoid(x),
);

/** swish(x) = x·σ(x) (SiLU), composed from safe ops. */
export function swish<T extends tf.Tensor>(x: T): T {
  return tf.mul(x, safeSigmoid(x)) as T;
}

/** The identity (returns a copy, so the caller may dispose input and output independently). */
export function identity<T extends tf.Tensor>(x: T): T {
  return tf.clone(x);
}

export type ActivationName = 'tanh' | 'sigmoid' | 'softplus' | 'elu' | 'swish' | 'identity';
export type Activation = <T extends tf.Tensor>(x: T) => T;

export const ACTIVATION_NAMES: readonly ActivationName[] = ['tanh', 'sigmoid', 'softplus', 'elu', 'swish', 'identity'];

/** The second-order-safe activations by name. */
export const activations: Readonly<Record<ActivationName, Activation>> = Object.freeze({
  tanh: safeTanh,
  sigmoid: safeSigmoid,
  softplus,
  elu: safeElu,
  swish,
  identity,
});

function checkName(name: string): ActivationName {
  if (!Object.prototype.hasOwnProperty.call(activations, name)) {
    throw new RnodeError(
      'INVALID_OPTIONS',
      `unknown activation ${JSON.stringify(name)}; known activations: ${ACTIVATION_NAMES.join(', ')}`,
      { source: 'option:activation' },
    );
  }
  return name as ActivationName;
}

/** The safe activation called `name`; an unknown name throws INVALID_OPTIONS listing the names. */
export function getActivation(name: ActivationName | (string & {})): Activation {
  return activations[checkName(name)];
}

const derivatives: Readonly<Record<ActivationName, (x: tf.Tensor) => tf.Tensor>> = Object.freeze({
  tanh: (x: tf.Tensor) => tf.sub(1, tf.square(safeTanh(x))),
  sigmoid: (x: tf.Tensor) => {
    const s = safeSigmoid(x);
    return tf.mul(s, tf.sub(1, s));
  },
  softplus: (x: tf.Tensor) => safeSigmoid(x),
  elu: eluDerivative,
  swish: (x: tf.Tensor) => {
    // d/dx x·σ(x) = σ(x) + x·σ(x)(1 − σ(x))
    const s = safeSigmoid(x);
    return tf.add(s, tf.mul(x, tf.mul(s, tf.sub(1, s))));
  },
  identity: (x: tf.Tensor) => tf.onesLike(x),
});

/**
 * x ↦ f′(x) for the activation `name`, built from safe ops (so it can itself be
 * differentiated under an outer tape). For layers that write their VJP
 * explicitly: vjp = Wᵀ(v ⊙ f′(Wz + b)). The elu derivative at 0 is taken as e^0 = 1.
 */
export function activationDerivative(name: ActivationName | (string & {})): (x: tf.Tensor) => tf.Tensor {
  return derivatives[checkName(name)];
}
