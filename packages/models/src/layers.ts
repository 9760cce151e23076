import * as tf from '@tensorflow/tfjs-core';
import { RnodeError, safeSigmoid } from '@rnode/core';
import type { Random } from '@rnode/core';
import { ParamStore, randomSource, uniqueScope } from './internal/params.js';

/** The time-dependent layer types of FFJORD (`lib/layers/diffeq_layers/basic.py`). */
export type LayerKind = 'concat' | 'concatsquash' | 'ignore';
export const LAYER_KINDS: readonly LayerKind[] = ['concat', 'concatsquash', 'ignore'];

/** Time as a JS number or a scalar tensor (a tensor lets gradients reach a learned end time). */
export type TimeInput = number | tf.Scalar;

/** How the last layer is zeroed at initialisation. */
export type ZeroInit = 'none' | 'weight' | 'all';
export const ZERO_INITS: readonly ZeroInit[] = ['none', 'weight', 'all'];

/**
 * Every layer is affine in x with time-dependent coefficients, y = x·W(t) + c(t):
 * - `ignore`:       W(t) = W,            c(t) = b
 * - `concat`:       W(t) = W,            c(t) = b + t·w_t      (t as an extra input: FFJORD's weight = [w_t; W])
 * - `concatsquash`: W(t) = W ⊙ g(t),     c(t) = b ⊙ g(t) + t·W_b,  g(t) = σ(t·W_g + b_g)
 *   ((xW + b)·σ(W_g t + b_g) + W_b t, folded so the gate is computed once per evaluation, not per sample)
 */
export interface AffineAt {
  /** [in, out] */
  W: tf.Tensor2D;
  /** [1, out] */
  c: tf.Tensor2D;
}

export interface TimeLayer {
  readonly kind: LayerKind;
  readonly inDim: number;
  readonly outDim: number;
  /** tf.Variables, in the order of `paramNames`. */
  readonly params: tf.Variable[];
  /** Stable names (`layer{i}/W`, …), the keys of the save format. */
  readonly paramNames: string[];
  /** W(t) and c(t) for one evaluation (new tensors; t folded in). */
  affine(t: TimeInput): AffineAt;
  /** y = x·W(t) + c(t), x: [B, in] → [B, out]. */
  forward(t: TimeInput, x: tf.Tensor): tf.Tensor2D;
  /** dyᵀ ∂y/∂x = dy·W(t)ᵀ, [B, out] → [B, in]; first-order ops only. */
  vjp(t: TimeInput, x: tf.Tensor, dy: tf.Tensor): tf.Tensor2D;
}

export function timeScalar(t: TimeInput): tf.Scalar {
  return typeof t === 'number' ? tf.scalar(t, 'float32') : t;
}

export interface LayerInit {
  store: ParamStore;
  prefix: string;
  kind: LayerKind;
  inDim: number;
  outDim: number;
  zero: ZeroInit;
}

/**
 * A layer initialised like PyTorch's nn.Linear: U(−1/√fan_in, 1/√fan_in) for the
 * weight and bias (fan_in = in, or in + 1 for concat whose t is an input); the
 * concatsquash gate is nn.Linear(1, out) and the hyper-bias nn.Linear(1, out, bias=False)
 * (fan_in 1). zero 'weight' zeroes the matrices acting on x and t (W, w_t, W_b);
 * 'all' also zeroes the bias (the gate keeps its init, which no longer matters).
 */
export function createLayer(o: LayerInit): TimeLayer {
  const { store, prefix, kind, inDim, outDim } = o;
  if (!LAYER_KINDS.includes(kind)) {
    throw new RnodeError('INVALID_OPTIONS', `unknown layer ${JSON.stringify(kind)}; known layers: ${LAYER_KINDS.join(', ')}`, {
      source: 'option:layer',
    });
  }
  const zw = o.zero !== 'none';
  const zb = o.zero === 'all';
  const start = store.variables.length;
  const fanIn = kind === 'concat' ? inDim + 1 : inDim;
  const bound = 1 / Math.sqrt(fanIn);
  const W = store.create(`${prefix}/W`, [inDim, outDim], bound, zw) as tf.Variable<tf.Rank.R2>;
  const b = store.create(`${prefix}/b`, [1, outDim], bound, zb) as tf.Variable<tf.Rank.R2>;
  let affine: (t: TimeInput) => AffineAt;
  if (kind === 'ignore') {
    affine = () => ({ W: tf.clone(W), c: tf.clone(b) });
  } else if (kind === 'concat') {
    const wt = store.create(`${prefix}/wt`, [1, outDim], bound, zw) as tf.Variable<tf.Rank.R2>;
    affine = (t) =>
      tf.tidy(() => ({ W: tf.clone(W), c: tf.add(b, tf.mul(wt, timeScalar(t))) as tf.Tensor2D }));
  } else {
    const Wg = store.create(`${prefix}/Wg`, [1, outDim], 1, false) as tf.Variable<tf.Rank.R2>;
    const bg = store.create(`${prefix}/bg`, [1, outDim], 1, false) as tf.Variable<tf.Rank.R2>;
    const Wb = store.create(`${prefix}/Wb`, [1, outDim], 1, zw) as tf.Variable<tf.Rank.R2>;
    affine = (t) =>
      tf.tidy(() => {
        const ts = timeScalar(t);
        // The gate is a [1, out] vector from scalar t; fed once per evaluation. safeSigmoid keeps
        // the layer right even when a caller differentiates it twice through tfjs.
        const gate = safeSigmoid(tf.add(tf.mul(Wg, ts), bg));
        return { W: tf.mul(W, gate) as tf.Tensor2D, c: tf.add(tf.mul(b, gate), tf.mul(Wb, ts)) as tf.Tensor2D };
      });
  }
  const params = store.variables.slice(start);
  const paramNames = store.names.slice(start);
  return {
    kind,
    inDim,
    outDim,
    params,
    paramNames,
    affine,
    forward(t, x) {
      return tf.tidy(() => {
        const a = affine(t);
        return tf.add(tf.matMul(x as tf.Tensor2D, a.W), a.c) as tf.Tensor2D;
      });
    },
    vjp(t, _x, dy) {
      return tf.tidy(() => {
        const a = affine(t);
        // Plain matMul against an explicit transpose: much faster on wasm than transposeB.
        return tf.matMul(dy as tf.Tensor2D, tf.transpose(a.W)) as tf.Tensor2D;
      });
    },
  };
}

export interface CreateTimeLayerOptions {
  kind: LayerKind;
  inDim: number;
  outDim: number;
  /** Zero the layer at init ('weight': W, w_t, W_b; 'all': also b). Default 'none'. */
  zero?: ZeroInit;
}

/** A standalone layer (its params named `layer/W`, …) with `dispose()`; nets build their own. */
export function createTimeLayer(options: CreateTimeLayerOptions, rng: Random): TimeLayer & { dispose(): void } {
  const check = (v: unknown, name: string) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new RnodeError('INVALID_OPTIONS', `"${name}" must be a positive integer, got ${String(v)}`, { source: `option:${name}` });
    }
  };
  check(options.inDim, 'inDim');
  check(options.outDim, 'outDim');
  const store = new ParamStore(uniqueScope('rnode-layer'), randomSource(rng));
  const layer = createLayer({ store, prefix: 'layer', kind: options.kind, inDim: options.inDim, outDim: options.outDim, zero: options.zero ?? 'none' });
  return { ...layer, dispose: () => layer.params.forEach((p) => p.dispose()) };
}
