import * as tf from '@tensorflow/tfjs-core';
import {
  ACTIVATION_NAMES,
  RnodeError,
  activationDerivative,
  checkOptions,
  getActivation,
  type ActivationName,
  type Random,
} from '@rnode/core';
import type { VectorField } from '@rnode/estimators';
import { ParamStore, randomSource, uniqueScope, type ParamSource } from './internal/params.js';
import { LAYER_KINDS, createLayer, timeScalar, type LayerKind, type TimeInput, type TimeLayer, type ZeroInit } from './layers.js';

export interface OdeNetConfig {
  /** Dimension of z (input and output). */
  inputDim: number;
  /** Hidden widths: inputDim → hidden[0] → … → inputDim. Default [64, 64, 64]. */
  hidden: number[];
  /** Default 'concatsquash' (FFJORD's toy and tabular models). */
  layer: LayerKind;
  /** Between layers, none after the last. Default 'tanh' (FFJORD's toy model). */
  activation: ActivationName;
  /**
   * Zero the last layer at init. Default 'weight' (the RNODE reference code, `--zero_last`:
   * f = its bias at init); 'all' gives f ≡ 0 (as the paper describes); 'none' as FFJORD.
   */
  zeroLast: ZeroInit;
}

export const ODE_NET_DEFAULTS: Readonly<Omit<OdeNetConfig, 'inputDim'>> = Object.freeze({
  hidden: [64, 64, 64],
  layer: 'concatsquash',
  activation: 'tanh',
  zeroLast: 'weight',
});

const CONFIG_KEYS = ['inputDim', 'hidden', 'layer', 'activation', 'zeroLast'];

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

export interface CreateOdeNetOptions {
  /** Prefix of the stable parameter names (e.g. `block0/`); default ''. */
  prefix?: string;
}

function fail(message: string, source: string, code: 'INVALID_OPTIONS' | 'INVALID_CHECKPOINT' = 'INVALID_OPTIONS'): never {
  throw new RnodeError(code, message, { source });
}

function posInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

/** Fill defaults and validate; unknown keys and bad values throw `code` (INVALID_OPTIONS by default). */
export function resolveOdeNetConfig(
  config: Partial<OdeNetConfig> & { inputDim: number },
  code: 'INVALID_OPTIONS' | 'INVALID_CHECKPOINT' = 'INVALID_OPTIONS',
): OdeNetConfig {
  const src = 'model:odenet';
  if (typeof config !== 'object' || config === null) fail('the ODE net config must be an object', src, code);
  const unknown = Object.keys(config).filter((k) => !CONFIG_KEYS.includes(k));
  if (unknown.length) fail(`unknown ODE net option(s) ${unknown.map((k) => `"${k}"`).join(', ')}; known: ${CONFIG_KEYS.join(', ')}`, src, code);
  const c: OdeNetConfig = { ...ODE_NET_DEFAULTS, hidden: [...ODE_NET_DEFAULTS.hidden], ...config };
  if (!posInt(c.inputDim)) fail(`"inputDim" must be a positive integer, got ${String(c.inputDim)}`, 'option:inputDim', code);
  if (!Array.isArray(c.hidden) || !c.hidden.every(posInt)) {
    fail(`"hidden" must be a list of positive integers, got ${JSON.stringify(c.hidden)}`, 'option:hidden', code);
  }
  if (!LAYER_KINDS.includes(c.layer)) fail(`unknown layer ${JSON.stringify(c.layer)}; known layers: ${LAYER_KINDS.join(', ')}`, 'option:layer', code);
  if (!ACTIVATION_NAMES.includes(c.activation)) {
    fail(`unknown activation ${JSON.stringify(c.activation)}; known activations: ${ACTIVATION_NAMES.join(', ')}`, 'option:activation', code);
  }
  if (!['none', 'weight', 'all'].includes(c.zeroLast)) {
    fail(`"zeroLast" must be 'none', 'weight' or 'all', got ${JSON.stringify(c.zeroLast)}`, 'option:zeroLast', code);
  }
  return { inputDim: c.inputDim, hidden: [...c.hidden], layer: c.layer, activation: c.activation, zeroLast: c.zeroLast };
}

/**
 * The ODE net f(t, z) of FFJORD: time-dependent layers inputDim → hidden… → inputDim with
 * `activation` between them. Parameters are initialised from `rng` on the host (identical on
 * every backend), as PyTorch's nn.Linear.
 */
export function createOdeNet(config: Partial<OdeNetConfig> & { inputDim: number }, rng: Random, options?: CreateOdeNetOptions): OdeNet {
  const o = checkOptions(options, ['prefix'], 'model:odenet');
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
