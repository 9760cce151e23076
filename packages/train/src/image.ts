import * as z from 'zod/mini';
import { RnodeError, numberOption, parseOptions } from '@rnode/core';

/** One batch of dequantised images in [0, 1), row-major [size, D] (`@rnode/data`'s `ImageBatch`). */
export interface LoaderBatch {
  data: Float32Array;
  size: number;
  dim: number;
}

/**
 * A resumable batch source (`@rnode/data`'s `createImageLoader` satisfies it): `next()` gives the
 * next batch, `state()` a JSON-able position saved in checkpoints, `restore(state)` continues there.
 */
export interface BatchLoader {
  next(): Promise<LoaderBatch>;
  state(): unknown;
  restore(state: never): void;
  readonly batchesPerEpoch: number;
  readonly count: number;
  readonly dim: number;
}

/**
 * Image data for the trainer (RNODE/FFJORD image workloads). `train` yields uniformly dequantised
 * batches, (v + U[0,1))/2^nbits; `test` the +0.5-shifted test set (no noise, no shuffle), one
 * evaluation = one pass (`batchesPerEpoch` batches). Both go through the logit transform (α; 0:
 * x − 0.5) before the flow and its log-determinant enters log p(x). NLLs are in bits/dim of the
 * discrete data: −(log p(x)/D − log 2^nbits)/log 2.
 */
/** Image data (`data: { kind: 'image', … }`); the loaders are checked against the flow by `resolveImageSource`. */
export const imageSourceSchema = z.object({
  kind: z.literal('image'),
  train: z.custom<BatchLoader>(),
  test: z.optional(z.custom<BatchLoader>()),
  /** Bits per intensity (default 8). */
  nbits: z.optional(numberOption('integer>0')),
  /** Logit transform α (default 1e-6, as RNODE's train.py; mnist.sh 1e-5, cifar10.sh 0.05); 0: x − 0.5 instead; below 0.5. */
  alpha: z.optional(z.custom<number>((v) => typeof v === 'number' && v >= 0 && v < 0.5, { error: 'a number in [0, 0.5)' })),
});
export type ImageSource = z.input<typeof imageSourceSchema>;

export interface ResolvedImageSource {
  dim: number;
  train: BatchLoader;
  test: BatchLoader | null;
  nbits: number;
  alpha: number;
}

export function isImageSource(d: unknown): d is ImageSource {
  return typeof d === 'object' && d !== null && (d as { kind?: unknown }).kind === 'image';
}

function checkLoader(l: unknown, name: string, dim: number): BatchLoader {
  const x = l as BatchLoader;
  if (typeof l !== 'object' || l === null || typeof x.next !== 'function' || typeof x.state !== 'function' || typeof x.restore !== 'function') {
    throw new RnodeError('INVALID_OPTIONS', `"${name}" must be a batch loader { next, state, restore, batchesPerEpoch, count, dim } (@rnode/data createImageLoader)`, {
      source: 'option:data',
    });
  }
  if (x.dim !== dim) {
    throw new RnodeError('INVALID_OPTIONS', `"${name}" gives images of ${x.dim} values, the flow's dimension is ${dim}`, { source: 'option:data' });
  }
  return x;
}

export function resolveImageSource(d: ImageSource, flowDim: number): ResolvedImageSource {
  const o = parseOptions(imageSourceSchema, d, 'option:data');
  const nbits = o.nbits ?? 8;
  const alpha = o.alpha ?? 1e-6;
  return {
    dim: flowDim,
    train: checkLoader(o.train, 'data.train', flowDim),
    test: o.test === undefined ? null : checkLoader(o.test, 'data.test', flowDim),
    nbits,
    alpha,
  };
}
