import type * as tf from '@tensorflow/tfjs-core';
import { RnodeError, describe } from './errors.js';

/**
 * An ODE state: one tensor, a tuple of tensors, or a record of named tensors
 * (the CNF's augmented state `{ z, logp, ...regularizers }`). Solvers work on
 * the flat list of leaves; `StateSpec` restores the user's shape.
 */
export type OdeState = tf.Tensor | readonly tf.Tensor[] | { readonly [key: string]: tf.Tensor };

export type StateSpec =
  | { readonly type: 'tensor' }
  | { readonly type: 'tuple'; readonly length: number }
  | { readonly type: 'record'; readonly keys: readonly string[] };

/** A per-component value: one for all, a list for a tuple, or a record (missing keys take the default). */
export type PerComponent<T> = T | readonly T[] | { readonly [key: string]: T };

function isTensor(x: unknown): x is tf.Tensor {
  return typeof x === 'object' && x !== null && 'dataId' in x && 'shape' in x && 'dtype' in x;
}

export function flattenState(state: OdeState, what = 'state'): { leaves: tf.Tensor[]; spec: StateSpec } {
  if (isTensor(state)) return { leaves: [state], spec: { type: 'tensor' } };
  if (Array.isArray(state)) {
    if (state.length === 0) throw new RnodeError('INVALID_ARGUMENT', `${what} is an empty tuple`);
    state.forEach((x, i) => {
      if (!isTensor(x)) throw new RnodeError('INVALID_ARGUMENT', `${what}[${i}] is not a tensor (got ${describe(x)})`);
    });
    return { leaves: state.slice() as tf.Tensor[], spec: { type: 'tuple', length: state.length } };
  }
  if (typeof state === 'object' && state !== null) {
    const keys = Object.keys(state);
    if (keys.length === 0) throw new RnodeError('INVALID_ARGUMENT', `${what} is an empty record`);
    const rec = state as Record<string, unknown>;
    for (const k of keys) {
      if (!isTensor(rec[k])) throw new RnodeError('INVALID_ARGUMENT', `${what}.${k} is not a tensor (got ${describe(rec[k])})`);
    }
    return { leaves: keys.map((k) => rec[k] as tf.Tensor), spec: { type: 'record', keys } };
  }
  throw new RnodeError('INVALID_ARGUMENT', `${what} must be a tensor, an array of tensors or a record of tensors, got ${describe(state)}`);
}

export function unflattenState<S extends OdeState = OdeState>(leaves: readonly tf.Tensor[], spec: StateSpec): S {
  switch (spec.type) {
    case 'tensor':
      return leaves[0] as unknown as S;
    case 'tuple':
      return leaves.slice() as unknown as S;
    case 'record': {
      const out: Record<string, tf.Tensor> = {};
      spec.keys.forEach((k, i) => (out[k] = leaves[i] as tf.Tensor));
      return out as unknown as S;
    }
  }
}

/** Number of leaves described by a spec. */
export function leafCount(spec: StateSpec): number {
  return spec.type === 'tensor' ? 1 : spec.type === 'tuple' ? spec.length : spec.keys.length;
}

/** Names of the leaves, for error messages: `state`, `state[1]`, `state.logp`. */
export function leafNames(spec: StateSpec, root = 'state'): string[] {
  if (spec.type === 'tensor') return [root];
  if (spec.type === 'tuple') return Array.from({ length: spec.length }, (_, i) => `${root}[${i}]`);
  return spec.keys.map((k) => `${root}.${k}`);
}

/**
 * Expand a per-component option to one value per leaf. A record may name a
 * subset of the keys; the rest take `fallback`.
 */
export function perLeaf<T>(
  value: PerComponent<T> | undefined,
  spec: StateSpec,
  fallback: T,
  option: string,
  isValue: (x: unknown) => x is T,
): T[] {
  const n = leafCount(spec);
  if (value === undefined) return Array.from({ length: n }, () => fallback);
  if (isValue(value)) return Array.from({ length: n }, () => value);
  if (Array.isArray(value)) {
    if (spec.type !== 'tuple' || value.length !== n) {
      throw new RnodeError(
        'INVALID_OPTIONS',
        `option "${option}" is a list of ${value.length} but the state ${spec.type === 'tuple' ? `has ${n} components` : `is a ${spec.type}`}`,
        { source: `option:${option}` },
      );
    }
    value.forEach((v, i) => {
      if (!isValue(v)) throw new RnodeError('INVALID_OPTIONS', `option "${option}"[${i}] is invalid: ${describe(v)}`, { source: `option:${option}` });
    });
    return value.slice() as T[];
  }
  if (typeof value === 'object' && value !== null) {
    if (spec.type !== 'record') {
      throw new RnodeError('INVALID_OPTIONS', `option "${option}" is a record but the state is a ${spec.type}`, {
        source: `option:${option}`,
      });
    }
    const rec = value as Record<string, unknown>;
    const unknown = Object.keys(rec).filter((k) => !spec.keys.includes(k));
    if (unknown.length) {
      throw new RnodeError(
        'INVALID_OPTIONS',
        `option "${option}" names unknown state keys ${unknown.join(', ')}; the state has ${spec.keys.join(', ')}`,
        { source: `option:${option}` },
      );
    }
    return spec.keys.map((k) => {
      const v = rec[k];
      if (v === undefined) return fallback;
      if (!isValue(v)) throw new RnodeError('INVALID_OPTIONS', `option "${option}".${k} is invalid: ${describe(v)}`, { source: `option:${option}` });
      return v;
    });
  }
  throw new RnodeError('INVALID_OPTIONS', `option "${option}" is invalid: ${describe(value)}`, { source: `option:${option}` });
}

/**
 * The continuous adjoint's augmented dynamics of an ODE function in one call:
 * `{ f: f(t, y), dadt: −aᵀ∂f/∂y, dparams: −aᵀ∂f/∂θ per param }`, or null when it cannot for
 * these params (then the adjoint tapes f as usual). The contract between a producer of ODE
 * functions (`cnfDynamics` in `@rnode/estimators`, whose fused path carries it) and
 * `@rnode/adjoint` (which uses it instead of taping); declared here because neither of those
 * packages may import the other.
 */
export type AdjointRates<S extends OdeState = OdeState> = (
  t: number,
  y: S,
  a: S,
  params: readonly tf.Tensor[],
) => { f: S; dadt: S; dparams: tf.Tensor[] } | null;

/** An ODE function `(t, y) → dy/dt` that may carry its own {@link AdjointRates}. */
export type WithAdjointRates<S extends OdeState = OdeState> = ((t: number, y: S) => S) & { adjointRates?: AdjointRates<S> };
