import * as tf from '@tensorflow/tfjs-core';
import { RnodeError } from '@rnode/core';
import type { VectorField } from '@rnode/estimators';
import type { ParamStore } from './internal/params.js';
import { buildOdeNet, type OdeNet, type OdeNetConfig } from './odenet.js';

export interface CnfBlockConfig {
  net: OdeNetConfig;
  /** End time T (the initial value when `trainT`). */
  T: number;
  /** Learn T = s² with s a variable initialised to √T (FFJORD's `sqrt_end_time`). */
  trainT: boolean;
}

/**
 * One CNF block: its own ODE net over its own interval. With a fixed T the solver integrates
 * f over t ∈ [0, T]. With a learned T = s² the solver integrates the rescaled field
 * g(τ, z) = T·f(τT, z) over τ ∈ [0, 1] (same flow map; gradients reach s through T).
 */
export interface CnfBlock {
  readonly config: CnfBlockConfig;
  readonly net: OdeNet;
  /** The net's variables, then `sqrtT` when T is learned. */
  readonly params: tf.Variable[];
  readonly paramNames: string[];
  /** s with T = s² (null when T is fixed). */
  readonly sqrtT: tf.Variable | null;
  /** The field the solver integrates: f over [0, T], or g over [0, 1] when T is learned. */
  readonly field: VectorField;
  /** End of the solver's interval: T, or 1 when T is learned. */
  readonly span: number;
  /** T as a number (a host read when learned). */
  endTime(): number;
  /** T as a new scalar tensor (no host read). */
  endTimeTensor(): tf.Scalar;
}

/** A network whose time input may be a tensor (the learned-T rescaling multiplies τ by T). */
type TimedNet = ((t: tf.Scalar, z: tf.Tensor) => tf.Tensor) & {
  vjp(t: tf.Scalar, z: tf.Tensor, v: tf.Tensor): { f: tf.Tensor; vjp: tf.Tensor };
};

/**
 * A block's field: the net itself over [0, T] when T is fixed, or, when T is learned
 * (T = s², s the variable `${prefix}sqrtT`), the time-rescaled g(τ, z) = T·f(τT, z) over
 * τ ∈ [0, 1] with its VJP. Shared by the 2-D and image blocks.
 * @internal
 */
export function blockField(
  net: VectorField & TimedNet,
  trainT: boolean,
  T0: number,
  store: ParamStore,
  prefix: string,
): { field: VectorField; sqrtT: tf.Variable | null } {
  if (!trainT) return { field: net, sqrtT: null };
  const s = store.create(`${prefix}sqrtT`, [], 0, false, Math.sqrt(T0));
  const g = ((tau: number, z: tf.Tensor) =>
    tf.tidy(() => {
      const T = tf.square(s) as tf.Scalar;
      return tf.mul(net(tf.mul(tau, T) as tf.Scalar, z), T);
    })) as VectorField;
  g.vjp = (tau: number, z: tf.Tensor, v: tf.Tensor) =>
    tf.tidy(() => {
      const T = tf.square(s) as tf.Scalar;
      const r = net.vjp(tf.mul(tau, T) as tf.Scalar, z, v);
      return { f: tf.mul(r.f, T), vjp: tf.mul(r.vjp, T) };
    });
  return { field: g, sqrtT: s };
}

/** @internal */
export function buildCnfBlock(config: CnfBlockConfig, store: ParamStore, prefix: string): CnfBlock {
  const start = store.variables.length;
  const net = buildOdeNet(config.net, store, prefix);
  const { field, sqrtT } = blockField(net, config.trainT, config.T, store, prefix);
  const params = store.variables.slice(start);
  const paramNames = store.names.slice(start);
  return {
    config,
    net,
    params,
    paramNames,
    sqrtT,
    field,
    ...blockClock(sqrtT, config.T),
  };
}

/**
 * A block's clock, shared by the 2-D and image blocks: the solver's span (T, or 1 when T = s² is
 * learned) and T as a number (a host read when learned) or a new scalar tensor.
 * @internal
 */
export function blockClock(sqrtT: tf.Variable | null, T: number): { span: number; endTime(): number; endTimeTensor(): tf.Scalar } {
  return {
    span: sqrtT ? 1 : T,
    endTime() {
      if (!sqrtT) return T;
      const v = sqrtT.dataSync()[0]!;
      return v * v;
    },
    endTimeTensor() {
      return sqrtT ? (tf.square(sqrtT) as tf.Scalar) : tf.scalar(T);
    },
  };
}

export function checkT(T: unknown, code: 'INVALID_OPTIONS' | 'INVALID_CHECKPOINT'): number {
  if (typeof T !== 'number' || !(T > 0) || !Number.isFinite(T)) {
    throw new RnodeError(code, `"T" must be a positive finite number, got ${String(T)}`, { source: 'option:T' });
  }
  return T;
}
