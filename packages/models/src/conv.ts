import * as tf from '@tensorflow/tfjs-core';
import * as z from 'zod/mini';
import {
  ACTIVATION_NAMES,
  RnodeError,
  activationDerivative,
  getActivation,
  numberOption,
  parseOptions,
  type Random,
} from '@rnode/core';
import type { VectorField } from '@rnode/estimators';
import { ParamStore, randomSource, uniqueScope } from './internal/params.js';
import { ZERO_INITS, timeScalar, type TimeInput, type ZeroInit } from './layers.js';
import { createOdeNetOptionsSchema, type CreateOdeNetOptions } from './odenet.js';

/**
 * RNODE/FFJORD's `ConcatConv2d` in NHWC: y = conv([t, x]) + b, where t is a constant input
 * channel prepended to x (`cat([t.expand(B,1,H,W), x], 1)`), kernel k×k, stride 1, 'same'
 * padding (pad 1 for k = 3). The filter `W` is one variable [k, k, cIn + 1, cOut] (tfjs HWIO;
 * input channel 0 is t — PyTorch's [cOut, cIn+1, k, k] is its transpose (3, 2, 0, 1)), the bias
 * `b` is [cOut].
 *
 * The t channel is folded once per evaluation: its contribution is t · conv(1-plane, W[:, :, 0:1])
 * ([1, H, W, cOut], exact at the borders where zero padding cuts the window), broadcast over the
 * batch, so the per-sample conv runs over cIn channels only.
 */
export interface ConcatConv2d {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernel: number;
  /** [W, b] */
  readonly params: tf.Variable[];
  readonly paramNames: string[];
  /** x: [B, H, W, cIn] → [B, H, W, cOut]. */
  forward(t: TimeInput, x: tf.Tensor): tf.Tensor4D;
  /**
   * dyᵀ ∂y/∂x = conv2dTranspose(dy, W_x) (a Conv2DBackpropInput), [B, H, W, cOut] → [B, H, W, cIn].
   * First-order ops only: the parameter gradient of a loss built on it needs conv2d,
   * Conv2DBackpropInput and their first-order gradients (one Conv2DBackpropFilter), never a
   * gradient of Conv2DBackpropFilter (tfjs has none).
   */
  vjp(t: TimeInput, x: tf.Tensor, dy: tf.Tensor): tf.Tensor4D;
}

interface ConvAt {
  /** [k, k, cIn, cOut] */
  Wx: tf.Tensor4D;
  /** t-channel plus bias: [1, H, W, cOut] */
  c: tf.Tensor4D;
}

interface ConvLayerInternal extends ConcatConv2d {
  at(t: tf.Scalar, h: number, w: number): ConvAt;
  weightAt(): tf.Tensor4D;
}

/** PyTorch nn.Conv2d init: kaiming-uniform(a = √5) = U(±1/√fan_in) for weight and bias, fan_in = (cIn + 1)·k². */
function createConvLayer(store: ParamStore, prefix: string, cIn: number, cOut: number, kernel: number, zero: ZeroInit): ConvLayerInternal {
  const start = store.variables.length;
  const bound = 1 / Math.sqrt((cIn + 1) * kernel * kernel);
  const W = store.create(`${prefix}/W`, [kernel, kernel, cIn + 1, cOut], bound, zero !== 'none') as tf.Variable<tf.Rank.R4>;
  const b = store.create(`${prefix}/b`, [cOut], bound, zero === 'all') as tf.Variable<tf.Rank.R1>;
  const params = store.variables.slice(start);
  const paramNames = store.names.slice(start);
  const weightAt = () => tf.slice(W, [0, 0, 1, 0], [kernel, kernel, cIn, cOut]) as tf.Tensor4D;
  const at = (t: tf.Scalar, h: number, w: number): ConvAt =>
    tf.tidy(() => {
      const Wt = tf.slice(W, [0, 0, 0, 0], [kernel, kernel, 1, cOut]) as tf.Tensor4D;
      const plane = tf.conv2d(tf.ones([1, h, w, 1]) as tf.Tensor4D, Wt, 1, 'same');
      return { Wx: weightAt(), c: tf.add(tf.mul(plane, t), b) as tf.Tensor4D };
    });
  const check = (x: tf.Tensor, ch: number, what: string) => {
    if (x.rank !== 4 || x.shape[3] !== ch) {
      throw new RnodeError('SHAPE_MISMATCH', `${what} must be [batch, height, width, ${ch}], got [${x.shape.join(', ')}]`, { source: 'model:concat-conv2d' });
    }
  };
  return {
    inChannels: cIn,
    outChannels: cOut,
    kernel,
    params,
    paramNames,
    at,
    weightAt,
    forward(t, x) {
      check(x, cIn, 'x');
      return tf.tidy(() => {
        const a = at(timeScalar(t), x.shape[1]!, x.shape[2]!);
        return tf.add(tf.conv2d(x as tf.Tensor4D, a.Wx, 1, 'same'), a.c) as tf.Tensor4D;
      });
    },
    vjp(_t, x, dy) {
      check(dy, cOut, 'dy');
      return tf.tidy(() => {
        const s = x.shape as [number, number, number, number];
        return tf.conv2dTranspose(dy as tf.Tensor4D, weightAt(), [s[0], s[1], s[2], cIn], 1, 'same');
      });
    },
  };
}

/** The options of `createConcatConv2d` (type and run-time check). */
export const createConcatConv2dOptionsSchema = z.object({
  inChannels: numberOption('integer>0'),
  outChannels: numberOption('integer>0'),
  /** Odd kernel size; default 3. */
  kernel: z.optional(z.custom<number>((v) => typeof v === 'number' && Number.isInteger(v) && v > 0 && v % 2 === 1, { error: 'an odd positive integer' })),
  /** 'weight' zeroes W (t slice included), 'all' also b. Default 'none'. */
  zero: z.optional(z.enum(ZERO_INITS)),
});

export type CreateConcatConv2dOptions = z.input<typeof createConcatConv2dOptionsSchema>;

/** A standalone ConcatConv2d (params `layer/W`, `layer/b`) with `dispose()`. */
export function createConcatConv2d(options: CreateConcatConv2dOptions, rng: Random): ConcatConv2d & { dispose(): void } {
  const o = parseOptions(createConcatConv2dOptionsSchema, options, 'model:concat-conv2d');
  const k = o.kernel ?? 3;
  const store = new ParamStore(uniqueScope('rnode-conv'), randomSource(rng));
  const l = createConvLayer(store, 'layer', o.inChannels, o.outChannels, k, o.zero ?? 'none');
  const { at: _a, weightAt: _w, ...pub } = l;
  return { ...pub, dispose: () => l.params.forEach((p) => p.dispose()) };
}

/** The conv ODE net's config, every field given (`resolveConvOdeNetConfig` fills the defaults). */
export const convOdeNetConfigSchema = z.object({
  /** Channels of z (input and output). */
  channels: numberOption('integer>0'),
  /** Hidden channel widths; default [64, 64, 64] (RNODE's --dims 64,64,64). */
  hidden: z.array(numberOption('integer>0')),
  /** Between convs, none after the last; default 'softplus' (RNODE). */
  activation: z.enum(ACTIVATION_NAMES),
  /** Zero the last conv at init; default 'weight' (RNODE's --zero_last: W zeroed, bias kept). */
  zeroLast: z.enum(ZERO_INITS),
});

export type ConvOdeNetConfig = z.output<typeof convOdeNetConfigSchema>;

// What a caller passes: channels, and any of the rest (the defaults fill them).
const convOdeNetConfigInput = z.partial(convOdeNetConfigSchema, { hidden: true, activation: true, zeroLast: true });

export const CONV_ODE_NET_DEFAULTS: Readonly<Omit<ConvOdeNetConfig, 'channels'>> = Object.freeze({
  hidden: [64, 64, 64],
  activation: 'softplus',
  zeroLast: 'weight',
});

export function resolveConvOdeNetConfig(
  config: Partial<ConvOdeNetConfig> & { channels: number },
  code: 'INVALID_OPTIONS' | 'INVALID_CHECKPOINT' = 'INVALID_OPTIONS',
): ConvOdeNetConfig {
  const o = parseOptions(convOdeNetConfigInput, config, 'model:conv-odenet', code);
  const d = CONV_ODE_NET_DEFAULTS;
  return { channels: o.channels, hidden: [...(o.hidden ?? d.hidden)], activation: o.activation ?? d.activation, zeroLast: o.zeroLast ?? d.zeroLast };
}

/** The conv ODE net f(t, z), z: [B, H, W, C] (NHWC) → same shape. */
export interface ConvOdeNet extends VectorField {
  (t: TimeInput, z: tf.Tensor): tf.Tensor;
  /** f and vᵀ∂f/∂z from one forward pass (pre-activations kept) and one explicit backward pass (conv2dTranspose). */
  vjp(t: TimeInput, z: tf.Tensor, v: tf.Tensor): { f: tf.Tensor; vjp: tf.Tensor };
  readonly config: ConvOdeNetConfig;
  readonly layers: readonly ConcatConv2d[];
  readonly params: tf.Variable[];
  readonly paramNames: string[];
  /** Number of scalar parameters. */
  readonly paramCount: number;
  dispose(): void;
}

/** Parameters of one conv ODE net: Σ over convs (cIn + 1)·cOut·k² + cOut (k = 3: 1162·c + 75 648 for hidden [64, 64, 64]). */
export function convOdeNetParamCount(channels: number, hidden: readonly number[], kernel = 3): number {
  const dims = [channels, ...hidden, channels];
  let n = 0;
  for (let i = 0; i + 1 < dims.length; i++) n += (dims[i]! + 1) * dims[i + 1]! * kernel * kernel + dims[i + 1]!;
  return n;
}

/**
 * RNODE's image ODE net: ConcatConv2d 3×3 convs channels → hidden… → channels with `activation`
 * between them (none after the last), initialised from `rng` as PyTorch's nn.Conv2d.
 */
export function createConvOdeNet(config: Partial<ConvOdeNetConfig> & { channels: number }, rng: Random, options?: CreateOdeNetOptions): ConvOdeNet {
  const o = parseOptions(createOdeNetOptionsSchema, options, 'model:conv-odenet');
  const c = resolveConvOdeNetConfig(config);
  const store = new ParamStore(uniqueScope('rnode-conv-odenet'), randomSource(rng));
  return buildConvOdeNet(c, store, o.prefix ?? '');
}

/** @internal */
export function buildConvOdeNet(c: ConvOdeNetConfig, store: ParamStore, prefix: string): ConvOdeNet {
  const dims = [c.channels, ...c.hidden, c.channels];
  const start = store.variables.length;
  const layers: ConvLayerInternal[] = [];
  for (let i = 0; i + 1 < dims.length; i++) {
    layers.push(createConvLayer(store, `${prefix}layer${i}`, dims[i]!, dims[i + 1]!, 3, i + 2 === dims.length ? c.zeroLast : 'none'));
  }
  const params = store.variables.slice(start);
  const paramNames = store.names.slice(start);
  const act = getActivation(c.activation);
  const dAct = activationDerivative(c.activation);
  const checkZ = (z: tf.Tensor) => {
    if (z.rank !== 4 || z.shape[3] !== c.channels) {
      throw new RnodeError('SHAPE_MISMATCH', `z must be [batch, height, width, ${c.channels}], got [${z.shape.join(', ')}]`, { source: 'model:conv-odenet' });
    }
  };
  const forward = (t: TimeInput, z: tf.Tensor): tf.Tensor => {
    checkZ(z);
    return tf.tidy(() => {
      const ts = timeScalar(t);
      let h = z as tf.Tensor4D;
      for (let i = 0; i < layers.length; i++) {
        const a = layers[i]!.at(ts, z.shape[1]!, z.shape[2]!);
        h = tf.add(tf.conv2d(h, a.Wx, 1, 'same'), a.c) as tf.Tensor4D;
        if (i + 1 < layers.length) h = act(h) as tf.Tensor4D;
      }
      return h;
    });
  };
  const vjp = (t: TimeInput, z: tf.Tensor, v: tf.Tensor): { f: tf.Tensor; vjp: tf.Tensor } => {
    checkZ(z);
    return tf.tidy(() => {
      const ts = timeScalar(t);
      const Ws: tf.Tensor4D[] = [];
      const derivs: tf.Tensor[] = [];
      const shapes: Array<[number, number, number, number]> = [];
      let h = z as tf.Tensor4D;
      for (let i = 0; i < layers.length; i++) {
        const a = layers[i]!.at(ts, z.shape[1]!, z.shape[2]!);
        Ws.push(a.Wx);
        shapes.push(h.shape as [number, number, number, number]);
        const pre = tf.add(tf.conv2d(h, a.Wx, 1, 'same'), a.c) as tf.Tensor4D;
        if (i + 1 < layers.length) {
          h = act(pre) as tf.Tensor4D;
          derivs.push(dAct(pre));
        } else {
          h = pre;
        }
      }
      let g = v as tf.Tensor4D;
      for (let i = layers.length - 1; i >= 0; i--) {
        g = tf.conv2dTranspose(g, Ws[i]!, shapes[i]!, 1, 'same');
        if (i > 0) g = tf.mul(g, derivs[i - 1]!) as tf.Tensor4D;
      }
      return { f: h, vjp: g };
    });
  };
  const net = forward as ConvOdeNet;
  const pub = layers.map(({ at: _a, weightAt: _w, ...l }) => Object.freeze(l) as ConcatConv2d);
  Object.defineProperties(net, {
    vjp: { value: vjp },
    config: { value: Object.freeze({ ...c, hidden: Object.freeze([...c.hidden]) as number[] }) },
    layers: { value: Object.freeze(pub) },
    params: { value: params },
    paramNames: { value: paramNames },
    paramCount: { value: params.reduce((a, p) => a + p.size, 0) },
    dispose: { value: () => params.forEach((p) => p.dispose()) },
  });
  return net;
}

/**
 * Space-to-depth by 2 with the reference's channel order (`SqueezeLayer`: NCHW
 * view(B, C, H/2, 2, W/2, 2).permute(0, 1, 3, 5, 2, 4)): in NHWC, output channel
 * c·4 + dy·2 + dx holds x[b, 2i + dy, 2j + dx, c]. A bijection with log-det 0.
 */
export function squeeze2d(x: tf.Tensor): tf.Tensor4D {
  const [b, h, w, c] = x.shape as [number, number, number, number];
  if (x.rank !== 4 || h % 2 !== 0 || w % 2 !== 0) {
    throw new RnodeError('SHAPE_MISMATCH', `squeeze needs [batch, even height, even width, channels], got [${x.shape.join(', ')}]`, { source: 'model:squeeze' });
  }
  return tf.tidy(() => {
    const v = tf.reshape(x, [b * (h / 2), 2, w / 2, 2, c]); // [b·i, dy, j, dx, c]
    const p = tf.transpose(v, [0, 2, 4, 1, 3]); // [b·i, j, c, dy, dx]
    return tf.reshape(p, [b, h / 2, w / 2, 4 * c]) as tf.Tensor4D;
  });
}

/** The inverse of `squeeze2d` (depth-to-space by 2, same channel order). */
export function unsqueeze2d(x: tf.Tensor): tf.Tensor4D {
  const [b, h, w, c4] = x.shape as [number, number, number, number];
  if (x.rank !== 4 || c4 % 4 !== 0) {
    throw new RnodeError('SHAPE_MISMATCH', `unsqueeze needs [batch, height, width, 4·channels], got [${x.shape.join(', ')}]`, { source: 'model:squeeze' });
  }
  const c = c4 / 4;
  return tf.tidy(() => {
    const v = tf.reshape(x, [b * h, w, c, 2, 2]); // [b·i, j, c, dy, dx]
    const p = tf.transpose(v, [0, 3, 1, 4, 2]); // [b·i, dy, j, dx, c]
    return tf.reshape(p, [b, 2 * h, 2 * w, c]) as tf.Tensor4D;
  });
}
