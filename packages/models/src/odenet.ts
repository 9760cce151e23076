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
import { ParamStore, randomSource, uniqueScope, type ParamSource } from './internal/params.js';
import { LAYER_KINDS, ZERO_INITS, createLayer, timeScalar, type TimeInput, type TimeLayer } from './layers.js';

/** The ODE net's config, every field given (`resolveOdeNetConfig` fills the defaults). */
export const odeNetConfigSchema = z.object({
  /** Dimension of z (input and output). */
  inputDim: numberOption('integer>0'),
  /** Hidden widths: inputDim → hidden[0] → … → inputDim. Default [64, 64, 64]. */
  hidden: z.array(numberOption('integer>0')),
  /** Default 'concatsquash' (FFJORD's toy and tabular models). */
  layer: z.enum(LAYER_KINDS),
  /** Between layers, none after the last. Default 'tanh' (FFJORD's toy model). */
  activation: z.enum(ACTIVATION_NAMES),
  /**
   * Zero the last layer at init. Default 'weight' (the RNODE reference code, `--zero_last`:
   * f = its bias at init); 'all' gives f ≡ 0 (as the paper describes); 'none' as FFJORD.
   */
  zeroLast: z.enum(ZERO_INITS),
});

export type OdeNetConfig = z.output<typeof odeNetConfigSchema>;

// What a caller passes: inputDim, and any of the rest (the defaults fill them).
const odeNetConfigInput = z.partial(odeNetConfigSchema, { hidden: true, layer: true, activation: true, zeroLast: true });

export const ODE_NET_DEFAULTS: Readonly<Omit<OdeNetConfig, 'inputDim'>> = Object.freeze({
  hidden: [64, 64, 64],
  layer: 'concatsquash',
  activation: 'tanh',
  zeroLast: 'weight',
});

export interface OdeNet extends VectorField {
  (t: TimeInput, z: tf.Tensor): tf.Tensor;
  /** f and vᵀ∂f/∂z from one forward pass (pre-activations kept) and one explicit backward pass. */
  vjp(t: TimeInput, z: tf.Tensor, v: tf.Tensor): { f: tf.Tensor; vjp: tf.Tensor };
  readonly config: OdeNetConfig;
  readonly layers: readonly TimeLayer[];
  readonly params: tf.Variable[];
  /** Stable names of `params` (`layer{i}/W`, …, prefixed by the caller's prefix). */
  readonly paramNames: string[];
  /** Dispose the variables. */
  dispose(): void;
}

/** The options of `createOdeNet` (and `createConvOdeNet`). */
export const createOdeNetOptionsSchema = z.object({
  /** Prefix of the stable parameter names (e.g. `block0/`); default ''. */
  prefix: z.optional(z.string()),
});

export type CreateOdeNetOptions = z.input<typeof createOdeNetOptionsSchema>;

/** Validate and fill defaults; unknown keys and bad values throw `code` (INVALID_OPTIONS by default). */
export function resolveOdeNetConfig(
  config: Partial<OdeNetConfig> & { inputDim: number },
  code: 'INVALID_OPTIONS' | 'INVALID_CHECKPOINT' = 'INVALID_OPTIONS',
): OdeNetConfig {
  const o = parseOptions(odeNetConfigInput, config, 'model:odenet', code);
  const d = ODE_NET_DEFAULTS;
  return {
    inputDim: o.inputDim,
    hidden: [...(o.hidden ?? d.hidden)],
    layer: o.layer ?? d.layer,
    activation: o.activation ?? d.activation,
    zeroLast: o.zeroLast ?? d.zeroLast,
  };
}

/**
 * The ODE net f(t, z) of FFJORD: time-dependent layers inputDim → hidden… → inputDim with
 * `activation` between them. Parameters are initialised from `rng` on the host (identical on
 * every backend), as PyTorch's nn.Linear.
 */
export function createOdeNet(config: Partial<OdeNetConfig> & { inputDim: number }, rng: Random, options?: CreateOdeNetOptions): OdeNet {
  const o = parseOptions(createOdeNetOptionsSchema, options, 'model:odenet');
  const c = resolveOdeNetConfig(config);
  const store = new ParamStore(uniqueScope('rnode-odenet'), randomSource(rng));
  return buildOdeNet(c, store, o.prefix ?? '');
}

/** @internal build from a resolved config, drawing parameters from `store`. */
export function buildOdeNet(c: OdeNetConfig, store: ParamStore, prefix: string): OdeNet {
  const dims = [c.inputDim, ...c.hidden, c.inputDim];
  const layers: TimeLayer[] = [];
  const start = store.variables.length;
  for (let i = 0; i + 1 < dims.length; i++) {
    const last = i + 2 === dims.length;
    layers.push(
      createLayer({
        store,
        prefix: `${prefix}layer${i}`,
        kind: c.layer,
        inDim: dims[i]!,
        outDim: dims[i + 1]!,
        zero: last ? c.zeroLast : 'none',
      }),
    );
  }
  const params = store.variables.slice(start);
  const paramNames = store.names.slice(start);
  const act = getActivation(c.activation);
  // act′ from the output where that is cheaper and exact (tanh: 1 − h²), else from the pre-activation.
  const dAct = activationDerivative(c.activation);
  const fromOutput = c.activation === 'tanh';
  const checkZ = (z: tf.Tensor) => {
    if (z.rank !== 2 || z.shape[1] !== c.inputDim) {
      throw new RnodeError('SHAPE_MISMATCH', `z must be [batch, ${c.inputDim}], got [${z.shape.join(', ')}]`, { source: 'model:odenet' });
    }
  };

  const forward = (t: TimeInput, z: tf.Tensor): tf.Tensor => {
    checkZ(z);
    return tf.tidy(() => {
      const ts = timeScalar(t);
      let h = z as tf.Tensor2D;
      for (let i = 0; i < layers.length; i++) {
        const a = layers[i]!.affine(ts);
        h = tf.add(tf.matMul(h, a.W), a.c) as tf.Tensor2D;
        if (i + 1 < layers.length) h = act(h);
      }
      return h;
    });
  };

  const vjp = (t: TimeInput, z: tf.Tensor, v: tf.Tensor): { f: tf.Tensor; vjp: tf.Tensor } => {
    checkZ(z);
    return tf.tidy(() => {
      const ts = timeScalar(t);
      const Ws: tf.Tensor2D[] = [];
      const derivs: tf.Tensor[] = [];
      let h = z as tf.Tensor2D;
      for (let i = 0; i < layers.length; i++) {
        const a = layers[i]!.affine(ts);
        Ws.push(a.W);
        const pre = tf.add(tf.matMul(h, a.W), a.c) as tf.Tensor2D;
        if (i + 1 < layers.length) {
          h = act(pre);
          derivs.push(fromOutput ? tf.sub(1, tf.square(h)) : dAct(pre));
        } else {
          h = pre;
        }
      }
      let g = v as tf.Tensor2D;
      for (let i = layers.length - 1; i >= 0; i--) {
        // Wᵀ once per evaluation (cheap: [out, in]); plain matMul is ~12× faster than transposeB on wasm.
        g = tf.matMul(g, tf.transpose(Ws[i]!));
        if (i > 0) g = tf.mul(g, derivs[i - 1]!) as tf.Tensor2D;
      }
      return { f: h, vjp: g };
    });
  };

  const net = forward as OdeNet;
  Object.defineProperties(net, {
    vjp: { value: vjp },
    config: { value: Object.freeze({ ...c, hidden: Object.freeze([...c.hidden]) as number[] }) },
    layers: { value: Object.freeze(layers) },
    params: { value: params },
    paramNames: { value: paramNames },
    dispose: { value: () => params.forEach((p) => p.dispose()) },
  });
  return net;
}
