/**
 * Seeded, resumable image batches with one batch of prefetch. Batches are host-side float32 NHWC
 * in [0, 1) (dequantised); the logit transform is left to the model (`logitTransform`), so its
 * log-determinant enters Δlogp where the bits/dim are computed.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as z from 'zod/mini';
import { Random, RnodeError, numberOption, parseOptions } from '@rnode/core';
import type { ImageSet } from './image-formats.js';
import { downsampleImages, flipInPlace } from './image-preprocess.js';

const positiveInteger = numberOption('integer>0');
const uint8 = (v: unknown): v is Uint8Array => v instanceof Uint8Array;

/** The options of `createImageLoader` (type and run-time check). */
export const imageLoaderOptionsSchema = z.object({
  /** 8-bit levels, NHWC row-major (an `ImageSet`'s `images`; spread an ImageSet into the options). */
  images: z.custom<Uint8Array>(uint8, { error: 'a Uint8Array of 8-bit levels (NHWC)' }),
  labels: z.optional(z.custom<Uint8Array | null>((v) => v === null || uint8(v), { error: 'a Uint8Array or null' })),
  height: positiveInteger,
  width: positiveInteger,
  /** Default 1. */
  channels: z.optional(positiveInteger),
  /** Optional, checked against images.length when given (ImageSet spreads carry it). */
  count: z.optional(numberOption('integer>=0')),
  batchSize: positiveInteger,
  /** Seeds the loader: one uint32 is drawn at creation; everything after derives from it. */
  rng: z.custom<Random>((v) => v instanceof Random || typeof (v as Random | undefined)?.nextUint32 === 'function', { error: 'a Random' }),
  /** Reshuffle every epoch (default true); false keeps the data order. */
  shuffle: z.optional(z.boolean()),
  /** 'uniform' (training, default), 'center' (test: +0.5) or 'none' (x/2^nbits, no offset). */
  dequantize: z.optional(z.enum(['uniform', 'center', 'none'])),
  /** Bits per value, 1–8 (default 8). */
  nbits: z.optional(z.custom<number>((v) => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 8, { error: 'an integer 1–8' })),
  /** Random horizontal flips (CIFAR-10 training), default false. */
  flip: z.optional(z.boolean()),
  /** Drop the last incomplete batch of each epoch (default false). `drop_last` is accepted too. */
  dropLast: z.optional(z.boolean()),
  drop_last: z.optional(z.boolean()),
  /** Use n images only: a number takes the first n; { count, random: true } a seeded subset. */
  subset: z.optional(z.union([positiveInteger, z.object({ count: positiveInteger, random: z.optional(z.boolean()) })])),
  /** Average-pool by this factor before anything else (2: 28×28 → 14×14), see `downsampleImages`. */
  downsample: z.optional(positiveInteger),
  /** Resume from `loader.state()`. */
  state: z.optional(z.custom<ImageLoaderState>()),
});

export type ImageLoaderOptions = z.input<typeof imageLoaderOptionsSchema>;

export interface ImageLoaderState {
  format: 'rnode-image-loader';
  version: 1;
  /** The epoch and batch index within it of the next batch `next()` returns. */
  epoch: number;
  position: number;
  /** The loader's seed word (drawn from the rng at creation); epochs and noise derive from it. */
  key: number;
  count: number;
  batchSize: number;
}

export interface ImageBatch {
  /** float32, [size, height, width, channels] row-major (equivalently [size, D]). */
  data: Float32Array;
  shape: [number, number, number, number];
  size: number;
  /** D = height·width·channels. */
  dim: number;
  labels: Uint8Array | null;
  /** Index of each image in the (subset, downsampled) data the loader holds. */
  indices: Int32Array;
  epoch: number;
  position: number;
  /** A new tensor of the batch, [B, H, W, C] or [B, D] when flat; the caller owns it. */
  tensor(flat?: boolean): tf.Tensor;
}

export interface ImageLoader {
  /** The next batch; the one after it is already being prepared when this resolves. */
  next(): Promise<ImageBatch>;
  [Symbol.asyncIterator](): AsyncIterator<ImageBatch>;
  /** Where `next()` continues; JSON-serialisable, for checkpoints. */
  state(): ImageLoaderState;
  /** Jump to a saved state (drops the prefetched batch). */
  restore(state: ImageLoaderState): void;
  readonly count: number;
  readonly batchesPerEpoch: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly dim: number;
}


function bad(message: string, key: string): RnodeError {
  return new RnodeError('INVALID_OPTIONS', message, { source: `option:${key}` });
}

/** Yield to the event loop (a macrotask) so prefetching runs between solver steps, not before them. */
const yieldToLoop = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

/**
 * Create a loader. Determinism: epoch e's order is `Random("<key>:perm:<e>").permutation(n)` and
 * batch (e, b)'s dequantisation noise and flips come from `Random("<key>:noise:<e>:<b>")`, so the
 * same seed gives the same batches and a restored state continues bit for bit, prefetch or not.
 */
export function createImageLoader(options: ImageLoaderOptions): ImageLoader {
  const o = parseOptions(imageLoaderOptionsSchema, options, 'createImageLoader');
  const channels = o.channels ?? 1;
  let per = o.height * o.width * channels;
  if (o.images.length % per !== 0 || o.images.length === 0) {
    throw bad(`images has ${o.images.length} values, not a positive multiple of ${o.height}×${o.width}×${channels}`, 'images');
  }
  let n = o.images.length / per;
  if (o.count !== undefined && o.count !== n) throw bad(`count ${o.count} does not match the ${n} images given`, 'count');
  if (o.labels && o.labels.length !== n) throw bad(`${o.labels.length} labels for ${n} images`, 'labels');
  const nbits = o.nbits ?? 8;
  const mode = o.dequantize ?? 'uniform';
  if (o.dropLast !== undefined && o.drop_last !== undefined && o.dropLast !== o.drop_last) throw bad('dropLast and drop_last disagree', 'dropLast');
  const dropLast = o.dropLast ?? o.drop_last ?? false;
  const shuffle = o.shuffle ?? true;
  const flip = o.flip ?? false;
  let key = o.state ? o.state.key : o.rng.nextUint32();
  const randomSubset = typeof o.subset === 'object' && o.subset.random === true;

  // Subset, then downsample: both once, at creation.
  let images = o.images;
  let labels = o.labels ?? null;
  if (o.subset !== undefined) {
    const s = typeof o.subset === 'number' ? { count: o.subset, random: false } : o.subset;
    if (!Number.isInteger(s.count) || s.count <= 0 || s.count > n) throw bad(`subset must be an integer 1–${n}, got ${String(s.count)}`, 'subset');
    const pick = s.random ? new Random(`${key}:subset`).permutation(n).slice(0, s.count).sort() : Int32Array.from({ length: s.count }, (_, i) => i);
    const sub = new Uint8Array(s.count * per);
    const subLabels = labels ? new Uint8Array(s.count) : null;
    pick.forEach((src, i) => {
      sub.set(images.subarray(src * per, (src + 1) * per), i * per);
      if (subLabels) subLabels[i] = labels![src]!;
    });
    images = sub;
    labels = subLabels;
    n = s.count;
  }
  let height = o.height;
  let width = o.width;
  if (o.downsample !== undefined && o.downsample !== 1) {
    const d = downsampleImages(images, { height, width, channels }, o.downsample);
    images = d.images;
    height = d.height;
    width = d.width;
    per = height * width * channels;
  }
  const batchSize = o.batchSize;
  if (dropLast && n < batchSize) throw bad(`drop_last with ${n} images and batchSize ${batchSize} leaves no batch`, 'batchSize');
  const batchesPerEpoch = dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);

  let epoch = 0;
  let position = 0;
  if (o.state) checkState(o.state);
  let perm: { epoch: number; order: Int32Array } | null = null;
  let pending: Promise<ImageBatch> | null = null;

  function checkState(st: ImageLoaderState): void {
    if (!st || st.format !== 'rnode-image-loader' || st.version !== 1) throw bad('not an image loader state', 'state');
    if (st.count !== n || st.batchSize !== batchSize) {
      throw bad(`the state is for ${st.count} images in batches of ${st.batchSize}, this loader has ${n} in batches of ${batchSize}`, 'state');
    }
    if (!Number.isInteger(st.epoch) || st.epoch < 0 || !Number.isInteger(st.position) || st.position < 0 || st.position >= batchesPerEpoch) {
      throw bad(`bad epoch/position ${st.epoch}/${st.position}`, 'state');
    }
    epoch = st.epoch;
    position = st.position;
  }

  function order(e: number): Int32Array {
    if (perm?.epoch === e) return perm.order;
    const ord = shuffle ? new Random(`${key}:perm:${e}`).permutation(n) : Int32Array.from({ length: n }, (_, i) => i);
    perm = { epoch: e, order: ord };
    return ord;
  }

  function build(e: number, b: number): ImageBatch {
    const ord = order(e);
    const start = b * batchSize;
    const size = Math.min(batchSize, n - start);
    const indices = ord.slice(start, start + size);
    const data = new Float32Array(size * per);
    const rng = new Random(`${key}:noise:${e}:${b}`);
    const shift = 8 - nbits;
    const scale = 1 / 2 ** nbits;
    const offset = mode === 'center' ? 0.5 : 0;
    for (let i = 0; i < size; i++) {
      const src = indices[i]! * per;
      const dst = i * per;
      for (let k = 0; k < per; k++) {
        const u = mode === 'uniform' ? rng.nextFloat() : offset;
        const v = ((images[src + k]! >> shift) + u) * scale;
        data[dst + k] = v >= 1 ? 0.99999994 : v;
      }
      if (flip && rng.nextFloat() < 0.5) flipInPlace(data, dst, height, width, channels);
    }
    const batchLabels = labels ? Uint8Array.from(indices, (i) => labels![i]!) : null;
    const shape: [number, number, number, number] = [size, height, width, channels];
    return {
      data, shape, size, dim: per, labels: batchLabels, indices, epoch: e, position: b,
      tensor: (flat = false) => (flat ? tf.tensor2d(data, [size, per], 'float32') : tf.tensor4d(data, shape, 'float32')),
    };
  }

  async function prepare(e: number, b: number): Promise<ImageBatch> {
    await yieldToLoop();
    return build(e, b);
  }

  function advance(): void {
    position += 1;
    if (position >= batchesPerEpoch) {
      position = 0;
      epoch += 1;
    }
  }

  const loader: ImageLoader = {
    next() {
      const current = pending ?? prepare(epoch, position);
      advance();
      pending = prepare(epoch, position);
      pending.catch(() => undefined);
      return current;
    },
    [Symbol.asyncIterator]() {
      return { next: async () => ({ value: await loader.next(), done: false }) };
    },
    state: (): ImageLoaderState => ({ format: 'rnode-image-loader', version: 1, epoch, position, key, count: n, batchSize }),
    restore(st) {
      checkState(st);
      if (st.key !== key) {
        if (randomSubset) throw bad('the state was saved by a loader with another seed, which picked another random subset', 'state');
        key = st.key;
        perm = null;
      }
      pending = null;
    },
    count: n,
    batchesPerEpoch,
    height,
    width,
    channels,
    dim: per,
  };
  return loader;
}
