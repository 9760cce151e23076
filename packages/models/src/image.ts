import * as tf from '@tensorflow/tfjs-core';
import * as z from 'zod/mini';
import { ACTIVATION_NAMES, RnodeError, numberOption, parseOptions, type ActivationName, type Random } from '@rnode/core';
import type { CnfState, RegularizerPlugin, VectorField } from '@rnode/estimators';
import { forwardBlock, initialState, inverseBlock, type BlockLoop, type ForwardEnd } from './block-solve.js';
import { blockClock, blockField } from './cnf.js';
import { buildConvOdeNet, squeeze2d, unsqueeze2d, type ConvOdeNet, type ConvOdeNetConfig } from './conv.js';
import { flowMethods, type FlowMethods } from './flow.js';
import { ParamStore, randomSource, uniqueScope, type ParamSource } from './internal/params.js';
import type { ZeroInit } from './layers.js';

/**
 * A multiscale image CNF (RNODE/FFJORD's ODENVP), NHWC. Plain JSON: the save format's config
 * (`kind: 'image'` tells it from a 2-D FlowConfig).
 */
export interface ImageFlowConfig {
  kind: 'image';
  /** Input size (downsampled images: pass their size). */
  height: number;
  width: number;
  channels: number;
  /**
   * Number of scales; default imageScales(height, width) (the reference's `_calc_n_scale`). Fewer
   * (or, for tiny tests, more) are allowed as long as every squeezed size is even.
   */
  scales: number;
  /** CNF blocks before and after each squeeze (the reference's --num_blocks); default 2. */
  blocksPerScale: number;
  /** Hidden conv widths of every ODE net; default [64, 64, 64]. */
  hidden: number[];
  /** Default 'softplus'. */
  activation: ActivationName;
  /** Default 'weight' (--zero_last). */
  zeroLast: ZeroInit;
  /** End time of every block; default 1 (time_length). */
  T: number;
  /** Learn T = s² per block; default false (train_T). */
  trainT: boolean;
}

/** What `createImageFlow` takes (and a saved image model holds): `ImageFlowConfig` with defaults for all but the size. */
export const imageFlowOptionsSchema = z.object({
  kind: z.optional(z.literal('image')),
  height: numberOption('integer>0'),
  width: numberOption('integer>0'),
  channels: numberOption('integer>0'),
  /** Default imageScales(height, width); every squeezed size must be even. */
  scales: z.optional(numberOption('integer>0')),
  /** Default 2. */
  blocksPerScale: z.optional(numberOption('integer>0')),
  /** Default [64, 64, 64]. */
  hidden: z.optional(z.array(numberOption('integer>0'))),
  /** Default 'softplus'. */
  activation: z.optional(z.enum(ACTIVATION_NAMES)),
  /** Default 'weight'. */
  zeroLast: z.optional(z.enum(['none', 'weight', 'all'])),
  /** Default 1. */
  T: z.optional(z.custom<number>((v) => typeof v === 'number' && v > 0 && Number.isFinite(v), { error: 'a positive finite number' })),
  /** Default false. */
  trainT: z.optional(z.boolean()),
});
export type CreateImageFlowOptions = z.input<typeof imageFlowOptionsSchema>;

/** The reference's `_calc_n_scale`: the number of halvings with h, w ≥ 4 (MNIST 28 → 3, CIFAR-10 32 → 4). */
export function imageScales(height: number, width: number): number {
  let n = 0;
  let h = height;
  let w = width;
  while (h >= 4 && w >= 4) {
    n += 1;
    h = Math.floor(h / 2);
    w = Math.floor(w / 2);
  }
  return n;
}

/** Fill defaults and validate an image flow config (createImageFlow, loadModel). */
export function resolveImageFlowConfig(config: CreateImageFlowOptions, code: 'INVALID_OPTIONS' | 'INVALID_CHECKPOINT' = 'INVALID_OPTIONS'): ImageFlowConfig {
  const src = 'model:image-flow';
  const bad = (m: string, s = src): never => {
    throw new RnodeError(code, m, { source: s });
  };
  const o = parseOptions(imageFlowOptionsSchema, config, src, code);
  const { height, width, channels } = o;
  const scales = o.scales ?? Math.max(1, imageScales(height, width));
  let h = height;
  let w = width;
  for (let s = 0; s + 1 < scales; s++) {
    if (h % 2 || w % 2) bad(`scale ${s} squeezes ${h}×${w}: height and width must be even there; use fewer "scales"`, 'option:scales');
    h /= 2;
    w /= 2;
  }
  const blocksPerScale = o.blocksPerScale ?? 2;
  const hidden = o.hidden ?? [64, 64, 64];
  const activation = o.activation ?? 'softplus';
  const zeroLast = o.zeroLast ?? 'weight';
  const T = o.T ?? 1;
  const trainT = o.trainT ?? false;
  return { kind: 'image', height, width, channels, scales, blocksPerScale, hidden: [...hidden], activation, zeroLast, T, trainT };
}

/** One CNF block of an image flow. */
export interface ImageCnfBlock {
  /** Position in data → base order. */
  readonly index: number;
  readonly scale: number;
  /** 'pre' (before the scale's squeeze) or 'post' (after it). */
  readonly stage: 'pre' | 'post';
  /** [height, width, channels] of z in this block. */
  readonly shape: readonly [number, number, number];
  readonly net: ConvOdeNet;
  readonly params: tf.Variable[];
  readonly paramNames: string[];
  readonly paramCount: number;
  readonly sqrtT: tf.Variable | null;
  readonly field: VectorField;
  readonly span: number;
  endTime(): number;
  endTimeTensor(): tf.Scalar;
}

export interface ImageBlockSummary {
  index: number;
  scale: number;
  stage: 'pre' | 'post';
  shape: [number, number, number];
  params: number;
}

export interface ImageFlowSummary {
  blocks: ImageBlockSummary[];
  /** Total number of scalar parameters. */
  total: number;
  /** A printable table. */
  text: string;
}

/**
 * The image flow: the same methods as the 2-D `Flow`. x is [B, H, W, C] (NHWC) or [B, H·W·C]
 * (flattened NHWC); z is [B, D], the factored-out halves flattened (NHWC) and concatenated in
 * scale order (a permutation of the reference's NCHW z: log N(z) and Δlogp are the same).
 * inverse/sample return images [B, H, W, C], un-factoring scale by scale. logProb is the density
 * of the model's input: add the logit transform's log-det for pixel space.
 */
export interface ImageFlow extends FlowMethods<tf.Tensor4D> {
  readonly kind: 'image';
  readonly config: ImageFlowConfig;
  /** H·W·C */
  readonly dim: number;
  /** [height, width, channels] */
  readonly shape: readonly [number, number, number];
  readonly blocks: readonly ImageCnfBlock[];
  readonly params: tf.Variable[];
  /** `block{k}/layer{i}/W` (HWIO, input channel 0 = t), `block{k}/layer{i}/b`, `block{k}/sqrtT`. */
  readonly paramNames: string[];
  /** Number of scalar parameters (equal to the reference's). */
  readonly paramCount: number;
  summary(): ImageFlowSummary;
  dispose(): void;
}

/** A multiscale image CNF (ODENVP) initialised from `rng` (PyTorch nn.Conv2d init, on the host). */
export function createImageFlow(config: CreateImageFlowOptions, rng: Random): ImageFlow {
  return buildImageFlow(resolveImageFlowConfig(config), randomSource(rng));
}

interface Scale {
  pre: ImageCnfBlock[];
  post: ImageCnfBlock[];
  last: boolean;
  /** Shape of the factored-out (or, last scale, the whole) z of this scale. */
  out: [number, number, number];
}

function buildBlock(
  store: ParamStore,
  index: number,
  scale: number,
  stage: 'pre' | 'post',
  shape: [number, number, number],
  c: ImageFlowConfig,
): ImageCnfBlock {
  const start = store.variables.length;
  const netConfig: ConvOdeNetConfig = { channels: shape[2], hidden: [...c.hidden], activation: c.activation, zeroLast: c.zeroLast };
  const prefix = `block${index}/`;
  const net = buildConvOdeNet(netConfig, store, prefix);
  const { field, sqrtT } = blockField(net, c.trainT, c.T, store, prefix);
  const params = store.variables.slice(start);
  return {
    index,
    scale,
    stage,
    shape,
    net,
    params,
    paramNames: store.names.slice(start),
    paramCount: params.reduce((a, p) => a + p.size, 0),
    sqrtT,
    field,
    ...blockClock(sqrtT, c.T),
  };
}

/** @internal */
export function buildImageFlow(config: ImageFlowConfig, source: ParamSource): ImageFlow {
  const store = new ParamStore(uniqueScope('rnode-image-flow'), source);
  const c = config;
  const scales: Scale[] = [];
  const blocks: ImageCnfBlock[] = [];
  try {
    let h = c.height;
    let w = c.width;
    let ch = c.channels;
    for (let s = 0; s < c.scales; s++) {
      const last = s === c.scales - 1;
      const make = (stage: 'pre' | 'post') =>
        Array.from({ length: c.blocksPerScale }, () => {
          const b = buildBlock(store, blocks.length, s, stage, [h, w, ch], c);
          blocks.push(b);
          return b;
        });
      const pre = make('pre');
      let post: ImageCnfBlock[] = [];
      let out: [number, number, number];
      if (!last) {
        h /= 2;
        w /= 2;
        ch *= 4;
        post = make('post');
        out = [h, w, ch / 2];
        ch /= 2;
      } else {
        out = [h, w, ch];
      }
      scales.push({ pre, post, last, out });
    }
  } catch (e) {
    store.variables.forEach((v) => v.dispose());
    throw e;
  }
  const params = store.variables.slice();
  const paramNames = store.names.slice();
  const shape = [c.height, c.width, c.channels] as const;
  const dim = c.height * c.width * c.channels;
  const outSizes = scales.map((s) => s.out[0] * s.out[1] * s.out[2]);

  const toImage = (x: tf.Tensor, what: string): tf.Tensor4D => {
    if (x.rank === 2 && x.shape[1] === dim) return tf.reshape(x, [x.shape[0]!, ...shape]);
    if (x.rank === 4 && x.shape[1] === shape[0] && x.shape[2] === shape[1] && x.shape[3] === shape[2]) return tf.clone(x) as tf.Tensor4D;
    throw new RnodeError('SHAPE_MISMATCH', `${what} must be [batch, ${shape.join(', ')}] or [batch, ${dim}], got [${x.shape.join(', ')}]`, { source: 'model:image-flow' });
  };
  const checkZ = (z: tf.Tensor) => {
    if (z.rank !== 2 || z.shape[1] !== dim) {
      throw new RnodeError('SHAPE_MISMATCH', `z must be [batch, ${dim}], got [${z.shape.join(', ')}]`, { source: 'model:image-flow' });
    }
  };

  /** Split z [B, h, w, 2k] into (kept [.., :k], factored [.., k:] flattened). */
  const factor = (z: tf.Tensor): [tf.Tensor4D, tf.Tensor2D] => {
    const [b, hh, ww, cc] = z.shape as [number, number, number, number];
    const keep = tf.slice(z, [0, 0, 0, 0], [b, hh, ww, cc / 2]) as tf.Tensor4D;
    const out = tf.reshape(tf.slice(z, [0, 0, 0, cc / 2], [b, hh, ww, cc / 2]), [b, -1]) as tf.Tensor2D;
    return [keep, out];
  };

  const pieces = (z: tf.Tensor): tf.Tensor4D[] => {
    const b = z.shape[0]!;
    const parts = outSizes.length === 1 ? [z] : tf.split(z, outSizes, 1);
    return parts.map((p, i) => tf.reshape(p, [b, ...scales[i]!.out]) as tf.Tensor4D);
  };

  /** Data → base, scale by scale: blocks, squeeze, blocks, factor out half the channels. */
  function* forwardScales(x: tf.Tensor, regs: readonly RegularizerPlugin[]): BlockLoop<ForwardEnd> {
    let y = initialState(toImage(x, 'x'), regs);
    const outs: tf.Tensor2D[] = [];
    const swapZ = (z: tf.Tensor) => {
      y.z!.dispose();
      y = { ...y, z };
    };
    try {
      for (const sc of scales) {
        for (const b of sc.pre) y = yield* forwardBlock(b, y);
        if (sc.last) {
          outs.push(tf.reshape(y.z!, [y.z!.shape[0]!, -1]));
        } else {
          swapZ(squeeze2d(y.z!));
          for (const b of sc.post) y = yield* forwardBlock(b, y);
          const [keep, out] = tf.tidy(() => factor(y.z!));
          outs.push(out);
          swapZ(keep);
        }
      }
      const z = outs.length === 1 ? tf.clone(outs[0]!) : (tf.concat(outs, 1) as tf.Tensor2D);
      tf.dispose(outs);
      y.z!.dispose();
      const state: CnfState = { ...y };
      delete state.z;
      return { z, state };
    } catch (e) {
      tf.dispose([...outs, ...Object.values(y)]);
      throw e;
    }
  }

  /** Base → data: un-factor scale by scale, last first, every block from its end back to 0. */
  const inverseScales = (z: tf.Tensor): BlockLoop<tf.Tensor4D> => {
    checkZ(z);
    return (function* () {
      const zs = tf.tidy(() => pieces(z));
      let y: tf.Tensor = tf.clone(zs[zs.length - 1]!);
      const swap = (t: tf.Tensor) => {
        y.dispose();
        y = t;
      };
      function* back(blks: readonly ImageCnfBlock[]): BlockLoop<void> {
        for (let k = blks.length - 1; k >= 0; k--) y = yield* inverseBlock(blks[k]!, y);
      }
      try {
        for (let i = scales.length - 1; i >= 0; i--) {
          const sc = scales[i]!;
          if (!sc.last) {
            swap(tf.concat([y, zs[i]!], 3));
            yield* back(sc.post);
            swap(unsqueeze2d(y));
          }
          yield* back(sc.pre);
        }
        return y as tf.Tensor4D;
      } catch (e) {
        y.dispose();
        throw e;
      } finally {
        tf.dispose(zs);
      }
    })();
  };

  const paramCount = params.reduce((a, p) => a + p.size, 0);
  const flow: ImageFlow = {
    kind: 'image',
    config,
    dim,
    shape,
    blocks,
    params,
    paramNames,
    paramCount,
    ...flowMethods({ dim, forwardLoop: forwardScales, inverseLoop: inverseScales }),
    summary() {
      const rows: ImageBlockSummary[] = blocks.map((b) => ({ index: b.index, scale: b.scale, stage: b.stage, shape: [...b.shape], params: b.paramCount }));
      const lines = [
        'block  scale  stage  shape (h×w×c)  params',
        ...rows.map((r) => `${String(r.index).padStart(5)}  ${String(r.scale).padStart(5)}  ${r.stage.padEnd(5)}  ${r.shape.join('×').padStart(13)}  ${String(r.params).padStart(6)}`),
        `total ${paramCount} parameters in ${rows.length} CNF blocks (${c.scales} scales, input ${c.height}×${c.width}×${c.channels})`,
      ];
      return { blocks: rows, total: paramCount, text: lines.join('\n') };
    },
    dispose() {
      params.forEach((p) => p.dispose());
    },
  };
  return flow;
}
