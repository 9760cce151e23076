/**
 * Image preprocessing as in the RNODE/FFJORD reference (`train_cnf.py`, `lib/layers/elemwise.py`,
 * `compute_bits_per_dim`): dequantisation, the logit transform with its log-determinant,
 * horizontal flips and bits/dim. Host-side functions work on typed arrays; the logit transform
 * also has tensor versions so its log-determinant can enter Δlogp on the tape.
 */
import * as tf from '@tensorflow/tfjs-core';
import { RnodeError, type Random } from '@rnode/core';

function checkNbits(nbits: number): void {
  if (!Number.isInteger(nbits) || nbits < 1 || nbits > 8) {
    throw new RnodeError('INVALID_OPTIONS', `nbits must be an integer 1–8, got ${nbits}`, { source: 'option:nbits' });
  }
}

/** Reduce 8-bit levels to `nbits` bits: x // 2^(8−nbits) (the reference's first step for nbits < 8). */
export function quantize(levels: Uint8Array, nbits = 8): Uint8Array {
  checkNbits(nbits);
  if (nbits === 8) return levels.slice();
  const shift = 8 - nbits;
  const out = new Uint8Array(levels.length);
  for (let i = 0; i < levels.length; i++) out[i] = levels[i]! >> shift;
  return out;
}

export type DequantizeMode = 'uniform' | 'center';

export interface DequantizeOptions {
  /** Bits per value, 1–8 (default 8); below 8 the levels are first reduced with `quantize`. */
  nbits?: number;
  /** 'uniform' (training): (x + U[0,1)) / 2^nbits, needs `rng`; 'center' (test): (x + 0.5) / 2^nbits. */
  mode?: DequantizeMode;
  rng?: Random;
}

/**
 * Dequantise 8-bit levels into [0, 1): training adds U[0, 1) noise per value, test adds 0.5
 * (the reference's `shift`, no noise). Values lie in [0, 1) for uniform, in [2^-(nbits+1), 1) for center.
 */
export function dequantize(levels: Uint8Array, o: DequantizeOptions = {}): Float32Array {
  const nbits = o.nbits ?? 8;
  checkNbits(nbits);
  const mode = o.mode ?? 'center';
  if (mode !== 'uniform' && mode !== 'center') {
    throw new RnodeError('INVALID_OPTIONS', `dequantize mode must be 'uniform' or 'center', got ${String(mode)}`, { source: 'option:dequantize' });
  }
  if (mode === 'uniform' && !o.rng) {
    throw new RnodeError('INVALID_OPTIONS', 'uniform dequantisation needs an rng', { source: 'option:rng' });
  }
  const shift = 8 - nbits;
  const scale = 1 / 2 ** nbits;
  const out = new Float32Array(levels.length);
  const rng = o.rng;
  for (let i = 0; i < levels.length; i++) {
    const x = levels[i]! >> shift;
    const v = (x + (rng && mode === 'uniform' ? rng.nextFloat() : 0.5)) * scale;
    // float32 rounding could land on 1 for x = 2^nbits − 1 and U close to 1: keep [0, 1).
    out[i] = v >= 1 ? 0.99999994 : v;
  }
  return out;
}

/** The reference's α: 1e-5 for MNIST (and Fashion-MNIST), 0.05 for CIFAR-10. */
export const LOGIT_ALPHA = { mnist: 1e-5, 'fashion-mnist': 1e-5, cifar10: 0.05 } as const;

function checkAlpha(alpha: number): void {
  if (!(alpha >= 0 && alpha < 0.5)) {
    throw new RnodeError('INVALID_OPTIONS', `logit alpha must be in [0, 0.5), got ${alpha}`, { source: 'option:alpha' });
  }
}

/**
 * The input transform of RNODE's ODENVP on a [B, ...] tensor of values in [0, 1]. For α > 0 the
 * logit transform y = log s − log(1 − s), s = α + (1 − 2α)x (`LogitTransform`); for α = 0 the
 * reference's `ZeroMeanTransform` y = x − 0.5 (a pure logit would send x = 0 to −∞). `logdet` ([B])
 * is log|det ∂y/∂x| = Σ over the non-batch axes of [−log(s − s²) + log(1 − 2α)] (0 for α = 0), so
 * that log p(x) = log p(y) + logdet. (The reference tracks the negative: `logpx − logdet` in its
 * Δlogp.) The caller owns both tensors.
 */
export function logitTransform(x: tf.Tensor, alpha: number): { y: tf.Tensor; logdet: tf.Tensor1D } {
  checkAlpha(alpha);
  if (x.rank < 1) throw new RnodeError('SHAPE_MISMATCH', 'logitTransform needs a [batch, ...] tensor', { source: 'logitTransform' });
  if (alpha === 0) return tf.tidy(() => ({ y: tf.sub(x, 0.5), logdet: tf.zeros([x.shape[0]!]) as tf.Tensor1D }));
  return tf.tidy(() => {
    const s = tf.add(tf.mul(x, 1 - 2 * alpha), alpha);
    const y = tf.sub(tf.log(s), tf.log(tf.sub(1, s)));
    const per = tf.add(tf.neg(tf.log(tf.sub(s, tf.square(s)))), Math.log(1 - 2 * alpha));
    const axes = Array.from({ length: x.rank - 1 }, (_, k) => k + 1);
    const logdet = (axes.length ? tf.sum(per, axes) : per) as tf.Tensor1D;
    return { y, logdet };
  });
}

/**
 * The inverse of `logitTransform`: x = (sigmoid(y) − α)/(1 − 2α) (α = 0: y + 0.5), clipped to the
 * data's range [0, 1] (samples of a flow can land outside it). The caller owns the result.
 */
export function logitInverse(y: tf.Tensor, alpha: number): tf.Tensor {
  checkAlpha(alpha);
  return tf.tidy(() => tf.clipByValue(alpha === 0 ? tf.add(y, 0.5) : tf.div(tf.sub(tf.sigmoid(y), alpha), 1 - 2 * alpha), 0, 1));
}

/** Host-side `logitTransform` on a row-major batch of `dim` values per sample (float64 arithmetic; α = 0: x − 0.5, log-det 0). */
export function logitTransformArray(x: ArrayLike<number>, dim: number, alpha: number): { y: Float32Array; logdet: Float64Array } {
  checkAlpha(alpha);
  if (!Number.isInteger(dim) || dim <= 0 || x.length % dim !== 0) {
    throw new RnodeError('SHAPE_MISMATCH', `length ${x.length} is not a multiple of dim ${dim}`, { source: 'logitTransformArray' });
  }
  const y = new Float32Array(x.length);
  const logdet = new Float64Array(x.length / dim);
  if (alpha === 0) {
    for (let i = 0; i < x.length; i++) y[i] = x[i]! - 0.5;
    return { y, logdet };
  }
  const c = Math.log(1 - 2 * alpha);
  for (let i = 0; i < x.length; i++) {
    const s = alpha + (1 - 2 * alpha) * x[i]!;
    y[i] = Math.log(s) - Math.log(1 - s);
    logdet[Math.floor(i / dim)]! += -Math.log(s - s * s) + c;
  }
  return { y, logdet };
}

/** Host-side `logitInverse`: x = (sigmoid(y) − α)/(1 − 2α) (α = 0: y + 0.5), clipped to [0, 1]. */
export function logitInverseArray(y: ArrayLike<number>, alpha: number): Float32Array {
  checkAlpha(alpha);
  const out = new Float32Array(y.length);
  for (let i = 0; i < y.length; i++) {
    const x = alpha === 0 ? y[i]! + 0.5 : (1 / (1 + Math.exp(-y[i]!)) - alpha) / (1 - 2 * alpha);
    out[i] = Math.min(1, Math.max(0, x));
  }
  return out;
}

/** Image shape for host-side batch functions (NHWC). */
export interface ImageShape {
  height: number;
  width: number;
  channels: number;
}

/**
 * Mirror each image left–right with probability ½ (one draw per image from `rng`, in order), as
 * torchvision's RandomHorizontalFlip in the reference's CIFAR-10 training transform. NHWC in,
 * a new array out.
 */
export function randomHorizontalFlip<T extends Uint8Array | Float32Array>(images: T, shape: ImageShape, rng: Random): T {
  const { height: h, width: w, channels: c } = shape;
  const per = h * w * c;
  const out = images.slice() as T;
  const n = images.length / per;
  for (let i = 0; i < n; i++) {
    if (rng.nextFloat() < 0.5) flipInPlace(out, i * per, h, w, c);
  }
  return out;
}

/** @internal mirror one NHWC image in place. */
export function flipInPlace(a: Uint8Array | Float32Array, base: number, h: number, w: number, c: number): void {
  for (let y = 0; y < h; y++) {
    const row = base + y * w * c;
    for (let x = 0; x < w >> 1; x++) {
      const l = row + x * c;
      const r = row + (w - 1 - x) * c;
      for (let k = 0; k < c; k++) {
        const t = a[l + k]!;
        a[l + k] = a[r + k]!;
        a[r + k] = t;
      }
    }
  }
}

/**
 * Average-pool NHWC 8-bit images by `factor` (28×28 → 14×14 for 2): each output level is the mean
 * of a factor×factor block rounded to the nearest integer (halves up), so the result is again
 * 8-bit data and dequantisation and bits/dim keep their meaning. Height and width must divide.
 */
export function downsampleImages(images: Uint8Array, shape: ImageShape, factor: number): { images: Uint8Array; height: number; width: number } {
  const { height: h, width: w, channels: c } = shape;
  if (!Number.isInteger(factor) || factor < 1 || h % factor !== 0 || w % factor !== 0) {
    throw new RnodeError('INVALID_OPTIONS', `downsample factor ${factor} must be a positive integer dividing ${h}×${w}`, { source: 'option:downsample' });
  }
  if (factor === 1) return { images: images.slice(), height: h, width: w };
  const oh = h / factor;
  const ow = w / factor;
  const n = images.length / (h * w * c);
  const out = new Uint8Array(n * oh * ow * c);
  const area = factor * factor;
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        for (let k = 0; k < c; k++) {
          let sum = 0;
          for (let dy = 0; dy < factor; dy++) {
            for (let dx = 0; dx < factor; dx++) sum += images[((i * h + y * factor + dy) * w + x * factor + dx) * c + k]!;
          }
          out[((i * oh + y) * ow + x) * c + k] = Math.floor(sum / area + 0.5);
        }
      }
    }
  }
  return { images: out, height: oh, width: ow };
}

/**
 * Bits per dimension from log p(x) in nats of the dequantised data in [0, 1)^D (as the reference's
 * `compute_bits_per_dim`): bpd = −(logpx/D − log 2^nbits)/log 2 = −logpx/(D·ln 2) + nbits.
 * Accepts a number (one sample or an already averaged value) or a tensor (elementwise; caller owns
 * it). The one home of bits/dim: `@rnode/train` scores image batches with it.
 */
export function bitsPerDim(logpx: number, dim: number, nbits?: number): number;
export function bitsPerDim(logpx: tf.Tensor, dim: number, nbits?: number): tf.Tensor;
export function bitsPerDim(logpx: number | tf.Tensor, dim: number, nbits = 8): number | tf.Tensor {
  if (!Number.isInteger(dim) || dim <= 0) throw new RnodeError('INVALID_ARGUMENT', `dim must be a positive integer, got ${dim}`, { source: 'bitsPerDim' });
  checkNbits(nbits);
  if (typeof logpx === 'number') return nbits - logpx / (dim * Math.LN2);
  return tf.tidy(() => tf.add(tf.div(tf.neg(logpx), dim * Math.LN2), nbits));
}
