import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { RnodeError } from '@rnode/core';
import { HOST_BACKENDS, hostTensorIO, registerKernels, type KernelSet } from '@rnode/core/kernels';
import type { FieldProbe, FusedCnfField, VectorField } from '@rnode/estimators';
import { cnfMlpKernelAvailable, cnfMlpVariantAvailable, createCnfMlpKernel, type CnfMlpKernel } from './cnf-mlp.js';
import { activeWebgpuBackend, webgpuCnfKernels, webgpuFusable } from './cnf-mlp-webgpu.js';
import { webgpuConvCnfKernels, webgpuConvFusable, type ConvKernelAttrs } from './conv-net-webgpu.js';
import type { WgslConvActivation } from './conv-net-wgsl.js';

/**
 * The fused CNF probe as a tfjs op: one kernel call evaluates the dense ODE net
 * f(t, z), the probe's VJP g = εᵀ∂f/∂z and the per-sample sums Σ g⊙ε, Σ f², Σ g²
 * (Hutchinson divergence, kinetic energy, Jacobian Frobenius), and one kernel call
 * gives its exact VJP w.r.t. z and the packed parameters θ (the continuous adjoint's
 * augmented dynamics). The kernels are the wasm-SIMD CnfMlpKernel (AssemblyScript) on the
 * CPU-resident backends `cpu` and `wasm`, and WGSL compute shaders (cnf-mlp-webgpu.ts) on
 * `webgpu`; other backends keep the op-level path (`OdeNet.vjp`). The image flows' conv ODE net
 * has the same three kernels on `webgpu` (conv-net-webgpu.ts: a few dispatches per layer); on the
 * CPU backends it runs op-level on rnode's wasm conv kernels.
 */

export const CNF_MLP_PROBE = 'RnodeCnfMlpProbe';
export const CNF_RATES = 'RnodeCnfRates';
export const CNF_ADJOINT = 'RnodeCnfAdjoint';
export const CONV_CNF_PROBE = 'RnodeConvCnfProbe';
export const CONV_CNF_RATES = 'RnodeConvCnfRates';
export const CONV_CNF_ADJOINT = 'RnodeConvCnfAdjoint';
export const FUSED_BACKENDS: readonly string[] = [...HOST_BACKENDS, 'webgpu'];
export type FusedLayerKind = 'concatsquash' | 'concat' | 'ignore';

const SOURCE = 'kernel:cnf-mlp';

interface ProbeAttrs {
  t: number;
  dims: number[];
  kind: FusedLayerKind;
}

const size = (shape: readonly number[]) => shape.reduce((x, y) => x * y, 1);

/** One kernel instance per net shape, grown when a larger batch arrives; the last θ is cached. */
interface Slot {
  kernel: CnfMlpKernel;
  maxBatch: number;
  theta: Float32Array | null;
  /** The inputs of the latest forward, to let the gradient reuse its activations. */
  last: { t: number; z: Float32Array; e: Float32Array; token: number } | null;
}
const slots = new Map<string, Slot>();

function slotFor(attrs: ProbeAttrs, batch: number): Slot {
  const key = `${attrs.kind}|${attrs.dims.join(',')}`;
  let s = slots.get(key);
  if (s && s.maxBatch < batch) {
    s.kernel.dispose();
    s = undefined;
  }
  if (!s) {
    let maxBatch = 64;
    while (maxBatch < batch) maxBatch *= 2;
    s = { kernel: createCnfMlpKernel({ dims: attrs.dims, kind: attrs.kind, activation: 'tanh', maxBatch }), maxBatch, theta: null, last: null };
    slots.set(key, s);
  }
  return s;
}

function sameArray(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function setTheta(s: Slot, theta: Float32Array): void {
  if (theta.length !== s.kernel.paramCount) {
    throw new RnodeError('SHAPE_MISMATCH', `θ has ${theta.length} values, the net has ${s.kernel.paramCount} parameters`, { source: SOURCE });
  }
  if (s.theta && sameArray(s.theta, theta)) return;
  s.kernel.setParams(theta);
  s.theta = Float32Array.from(theta);
  s.last = null;
}

interface RateAttrs extends ProbeAttrs {
  cDiv: number;
  cKin: number;
  cFrob: number;
}

interface AdjointAttrs extends RateAttrs {
  /** Multiplies dz and dθ (−1: the adjoint's augmented dynamics; +1: a gradient). */
  sign: number;
  /** Also output the rates (before dz, dθ). */
  withForward: boolean;
  /** Extra [B] zero outputs at the end. */
  zeros: number;
}

type KernelArgs = { inputs: Record<string, TensorInfo>; backend: KernelBackend; attrs?: NamedAttrMap };

/** Scratch arrays by length and use (outputs the tfjs ops do not return). */
const scratch = new Map<number, Float32Array>();
function tmp(n: number, k: number): Float32Array {
  const key = n * 8 + k;
  let a = scratch.get(key);
  if (!a) scratch.set(key, (a = new Float32Array(n)));
  return a;
}

function scaleInto(dst: Float32Array, src: Float32Array, c: number): void {
  if (c === 1 && dst === src) return;
  for (let i = 0; i < dst.length; i++) dst[i] = c * src[i]!;
}

/** The inputs every kernel reads, with θ loaded into the slot's kernel. */
function prepare(args: KernelArgs, backendName: string) {
  const a = args.attrs as unknown as AdjointAttrs;
  const { z, e, theta } = args.inputs as { z: TensorInfo; e: TensorInfo; theta: TensorInfo };
  const [B, D] = z.shape as [number, number];
  const io = hostTensorIO(args.backend, backendName);
  return { a, z, e, theta, B, D, io };
}

/**
 * Forward kernels. `probe` (RnodeCnfMlpProbe): [f, g, Σ g⊙ε, Σ f², Σ g²]; rates
 * (RnodeCnfRates): [f, cDiv·Σ g⊙ε, cKin·Σ f², cFrob·Σ g²] (g stays in scratch).
 */
function forwardKernel(backendName: string, probe: boolean) {
  return (args: KernelArgs): TensorInfo[] => {
    const { a, z, e, theta, B, D, io } = prepare(args, backendName);
    const outs = probe ? [io.alloc([B, D]), io.alloc([B, D]), io.alloc([B]), io.alloc([B]), io.alloc([B])] : [io.alloc([B, D]), io.alloc([B]), io.alloc([B]), io.alloc([B])];
    const s = slotFor(a, B);
    setTheta(s, io.read(theta));
    const zv = io.read(z);
    const ev = io.read(e);
    const v = outs.map((o) => io.view(o));
    const [f, g, div, kin, frob] = (probe ? v : [v[0], tmp(B * D, 0), v[1], v[2], v[3]]) as Float32Array[];
    const token = s.kernel.forward(a.t, zv, ev, B, { f: f!, g: g!, div: div!, kin: kin!, frob: frob! });
    if (!probe) {
      scaleInto(div!, div!, a.cDiv);
      scaleInto(kin!, kin!, a.cKin);
      scaleInto(frob!, frob!, a.cFrob);
    }
    s.last = { t: a.t, z: Float32Array.from(zv), e: Float32Array.from(ev), token };
    return outs;
  };
}

/**
 * RnodeCnfAdjoint: for cotangents az, ag (on f and g) and adiv, akin, afrob (on the scaled
 * sums), outputs [rates…]? (withForward), sign·dz, sign·dθ, then `zeros` [B] zero tensors.
 * Reuses the activations of the latest forward on the same inputs.
 */
function adjointKernel(backendName: string) {
  return (args: KernelArgs): TensorInfo[] => {
    const { a, z, e, theta, B, D, io } = prepare(args, backendName);
    const inputs = args.inputs;
    const outs: TensorInfo[] = [];
    if (a.withForward) outs.push(io.alloc([B, D]), io.alloc([B]), io.alloc([B]), io.alloc([B]));
    outs.push(io.alloc([B, D]), io.alloc([size(theta.shape)]));
    for (let k = 0; k < a.zeros; k++) outs.push(io.alloc([B]));
    const s = slotFor(a, B);
    setTheta(s, io.read(theta));
    const zv = io.read(z);
    const ev = io.read(e);
    const last = s.last;
    const token = last && last.t === a.t && sameArray(last.z, zv) && sameArray(last.e, ev) ? last.token : -1;
    const cot: { f?: Float32Array; g?: Float32Array; div?: Float32Array; kin?: Float32Array; frob?: Float32Array } = {};
    if (inputs['az']) cot.f = io.read(inputs['az']);
    if (inputs['ag']) cot.g = io.read(inputs['ag']);
    const scaled = (name: string, c: number, k: number) => {
      const info = inputs[name];
      if (!info || c === 0) return undefined;
      const out = tmp(B, k);
      scaleInto(out, io.read(info), c);
      return out;
    };
    const cdiv = scaled('adiv', a.cDiv, 1);
    const ckin = scaled('akin', a.cKin, 2);
    const cfrob = scaled('afrob', a.cFrob, 3);
    if (cdiv) cot.div = cdiv;
    if (ckin) cot.kin = ckin;
    if (cfrob) cot.frob = cfrob;
    const views = outs.map((o) => io.view(o));
    let k = 0;
    const fwd = a.withForward ? { f: views[k++]!, g: tmp(B * D, 4), div: views[k++]!, kin: views[k++]!, frob: views[k++]! } : undefined;
    const dz = views[k++]!;
    const dtheta = views[k++]!;
    s.kernel.backward(a.t, zv, ev, B, cot, { dz, dtheta }, token, fwd);
    s.last = null; // the backward pass may have overwritten the kept activations
    if (fwd) {
      scaleInto(fwd.div, fwd.div, a.cDiv);
      scaleInto(fwd.kin, fwd.kin, a.cKin);
      scaleInto(fwd.frob, fwd.frob, a.cFrob);
    }
    scaleInto(dz, dz, a.sign);
    scaleInto(dtheta, dtheta, a.sign);
    for (; k < views.length; k++) views[k]!.fill(0);
    return outs;
  };
}

/** The gradient of a forward kernel: one adjoint kernel call (both dz and dθ from it). */
function forwardGradient(kernelName: string, cotangents: readonly string[], adjointName = CNF_ADJOINT): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: ['z', 'e', 'theta'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs?: NamedAttrMap) => {
      const dys = dy as Array<tf.Tensor | null>;
      const [z, e, theta] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
      const inputs: Record<string, tf.Tensor> = { z, e, theta };
      cotangents.forEach((c, i) => {
        if (dys[i]) inputs[c] = dys[i]!;
      });
      const r = attrs as unknown as ProbeAttrs & Partial<RateAttrs>;
      const at = { ...r, cDiv: r.cDiv ?? 1, cKin: r.cKin ?? 1, cFrob: r.cFrob ?? 1, sign: 1, withForward: false, zeros: 0 };
      // Computed here, not in the thunks, so the engine's per-input tidy does not free the other.
      const [dz, dtheta] = tf.engine().runKernel(adjointName, inputs as never, at as never) as unknown as [tf.Tensor, tf.Tensor];
      return { z: () => dz, theta: () => dtheta, e: () => tf.zerosLike(e) };
    },
  };
}

/** The three fused kernels on `cpu`, `wasm` and `webgpu`, with the forward kernels' gradients. */
const fusedKernels: KernelSet = {
  source: SOURCE,
  backends: FUSED_BACKENDS,
  kernels: (backendName) =>
    backendName === 'webgpu'
      ? webgpuCnfKernels({ probe: CNF_MLP_PROBE, rates: CNF_RATES, adjoint: CNF_ADJOINT })
      : [
    { kernelName: CNF_MLP_PROBE, kernelFunc: forwardKernel(backendName, true) as never },
    { kernelName: CNF_RATES, kernelFunc: forwardKernel(backendName, false) as never },
    { kernelName: CNF_ADJOINT, kernelFunc: adjointKernel(backendName) as never },
  ],
  gradients: [forwardGradient(CNF_MLP_PROBE, ['az', 'ag', 'adiv', 'akin', 'afrob']), forwardGradient(CNF_RATES, ['az', 'adiv', 'akin', 'afrob'])],
};

/** The conv net's three kernels (webgpu only), with the forward kernels' gradients. */
const convKernels: KernelSet = {
  source: 'kernel:conv-cnf',
  backends: ['webgpu'],
  kernels: () => webgpuConvCnfKernels({ probe: CONV_CNF_PROBE, rates: CONV_CNF_RATES, adjoint: CONV_CNF_ADJOINT }),
  gradients: [
    forwardGradient(CONV_CNF_PROBE, ['az', 'ag', 'adiv', 'akin', 'afrob'], CONV_CNF_ADJOINT),
    forwardGradient(CONV_CNF_RATES, ['az', 'adiv', 'akin', 'afrob'], CONV_CNF_ADJOINT),
  ],
};

/**
 * True when the fused kernels can run on the active backend: cpu or wasm with WebAssembly SIMD,
 * or tfjs's webgpu backend (and, given a net, its widths fit the device's workgroup memory).
 */
export function fusedProbeAvailable(net?: { dims: readonly number[]; kind: FusedLayerKind }): boolean {
  const gpu = activeWebgpuBackend();
  if (gpu) return webgpuFusable(gpu, net ?? { dims: [1, 1], kind: 'ignore' });
  return HOST_BACKENDS.includes(tf.getBackend()) && cnfMlpKernelAvailable();
}

/**
 * f, εᵀ∂f/∂z and the per-sample sums of a dense tanh ODE net in one fused kernel call;
 * differentiable w.r.t. z and θ (the packed parameters, in the net's parameter order).
 */
export function cnfMlpProbe(
  net: { dims: readonly number[]; kind: FusedLayerKind },
  theta: tf.Tensor,
  t: number,
  z: tf.Tensor,
  e: tf.Tensor,
): FieldProbe {
  return probeOutputs(runFused(CNF_MLP_PROBE, { z, e, theta }, { t, dims: [...net.dims], kind: net.kind }));
}

/** A probe kernel's five outputs as a FieldProbe. */
function probeOutputs(outs: tf.Tensor[]): FieldProbe {
  const [f, vjp, vDotVjp, fSquaredSum, vjpSquaredSum] = outs as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
  return { f, vjp, vDotVjp, fSquaredSum, vjpSquaredSum };
}

/** Run one of the fused kernels on the active backend (registering them on first use). */
function runFused(name: string, inputs: Record<string, tf.Tensor>, attrs: ProbeAttrs & Record<string, unknown>): tf.Tensor[] {
  const backendName = tf.getBackend();
  if (!FUSED_BACKENDS.includes(backendName)) {
    throw new RnodeError('BACKEND_UNAVAILABLE', `the fused CNF kernels run on ${FUSED_BACKENDS.join(', ')}, not on "${backendName}"`, { source: SOURCE });
  }
  const gpu = activeWebgpuBackend();
  if (gpu && !webgpuFusable(gpu, attrs)) {
    throw new RnodeError('BACKEND_UNAVAILABLE', `the net ${attrs.dims.join('→')} does not fit the WebGPU device's limits for the fused CNF kernels`, { source: SOURCE });
  }
  registerKernels(fusedKernels, backendName);
  return tf.engine().runKernel(name, inputs as never, attrs as never) as unknown as tf.Tensor[];
}

/** The parts of an ODE net the fused path needs (structurally `OdeNet`). */
export interface FusableNet {
  readonly config: { inputDim: number; hidden: readonly number[]; layer: string; activation: string };
  readonly params: readonly tf.Tensor[];
}

/** The parts of a conv ODE net the fused path needs (structurally `ConvOdeNet`). */
export interface FusableConvNet {
  readonly config: { channels: number; hidden: readonly number[]; activation: string };
  readonly params: readonly tf.Tensor[];
}

function isConvConfig(c: object): c is FusableConvNet['config'] {
  const o = c as Partial<FusableConvNet['config']> & { layer?: unknown };
  return typeof o.channels === 'number' && Array.isArray(o.hidden) && typeof o.activation === 'string' && o.layer === undefined;
}

/**
 * True when `net` can run on the fused kernels on the active backend: a dense tanh net on cpu,
 * wasm or webgpu; a conv net (softplus, tanh, sigmoid or identity) on webgpu. Any net may be asked.
 */
export function canFuse(net: { readonly config: object; readonly params: readonly tf.Tensor[] }): net is FusableNet | FusableConvNet {
  if (isConvConfig(net.config)) {
    const gpu = activeWebgpuBackend();
    return gpu !== null && webgpuConvFusable(gpu, net.config.activation);
  }
  const c = net.config as Partial<FusableNet['config']>;
  if (c.activation !== 'tanh' || !['concatsquash', 'concat', 'ignore'].includes(c.layer ?? '')) return false;
  if (typeof c.inputDim !== 'number' || !Array.isArray(c.hidden)) return false;
  return fusedProbeAvailable({ dims: [c.inputDim, ...c.hidden, c.inputDim], kind: c.layer as FusedLayerKind });
}

/** The net's parameters as one flat vector, in the kernel's order (differentiable: a concat). */
export function packNetParams(net: { readonly params: readonly tf.Tensor[] }): tf.Tensor1D {
  return tf.tidy(() => tf.concat(net.params.map((p) => tf.reshape(p, [-1])), 0) as tf.Tensor1D);
}

/**
 * A VectorField over the packed parameters θ: every path (f, vjp, probe) runs the fused
 * kernel and depends on θ only, so gradients reach the net's variables through θ.
 */
export function fusedNetField(net: FusableNet | FusableConvNet, theta: tf.Tensor): VectorField {
  if (isConvConfig(net.config)) {
    const c = net.config;
    const base = { dims: [c.channels, ...c.hidden, c.channels], activation: c.activation as WgslConvActivation };
    return kernelField(theta, (name, inputs, attrs) => runConvFused(name, inputs, { ...base, ...attrs }), {
      probe: CONV_CNF_PROBE,
      rates: CONV_CNF_RATES,
      adjoint: CONV_CNF_ADJOINT,
    });
  }
  const c = (net as FusableNet).config;
  const base = { dims: [c.inputDim, ...c.hidden, c.inputDim], kind: c.layer as FusedLayerKind };
  return kernelField(theta, (name, inputs, attrs) => runFused(name, inputs, { ...base, ...attrs }), { probe: CNF_MLP_PROBE, rates: CNF_RATES, adjoint: CNF_ADJOINT });
}

/** The field over θ of one net's three kernels (`run` adds the net's attrs to t and the scales). */
function kernelField(
  theta: tf.Tensor,
  run: (name: string, inputs: Record<string, tf.Tensor>, attrs: { t: number } & Record<string, unknown>) => tf.Tensor[],
  names: { probe: string; rates: string; adjoint: string },
): VectorField {
  const probe = (t: number, z: tf.Tensor, v: tf.Tensor): FieldProbe => probeOutputs(run(names.probe, { z, e: v, theta }, { t }));
  const field = ((t: number, z: tf.Tensor) =>
    tf.tidy(() => {
      const zero = tf.zerosLike(z);
      return probe(t, z, zero).f;
    })) as VectorField;
  field.vjp = (t, z, v) =>
    tf.tidy(() => {
      const p = probe(t, z, v);
      return { f: p.f, vjp: p.vjp };
    });
  field.probe = probe;
  const fused: FusedCnfField = {
    params: [theta],
    rates(t, z, eps, c) {
      const [f, div, kin, frob] = run(names.rates, { z, e: eps, theta }, { t, ...c }) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
      return { f, div, kin, frob };
    },
    adjoint(t, z, eps, c, a, zeros) {
      const inputs: Record<string, tf.Tensor> = { z, e: eps, theta, az: a.z };
      if (a.div) inputs['adiv'] = a.div;
      if (a.kin) inputs['akin'] = a.kin;
      if (a.frob) inputs['afrob'] = a.frob;
      const outs = run(names.adjoint, inputs, { t, ...c, sign: -1, withForward: true, zeros });
      const [f, div, kin, frob, dz, dtheta, ...zs] = outs as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, ...tf.Tensor[]];
      return { f, div, kin, frob, dz, dtheta, zeros: zs };
    },
  };
  field.fused = fused;
  return field;
}

/**
 * The fused kernels the active backend runs: on cpu/wasm the wasm variant ('relaxed': FMA; null
 * without wasm SIMD), on webgpu 'wgsl' (null where its backend is not tfjs-webgpu 4.x).
 */
export function fusedKernelVariant(): 'relaxed' | 'simd' | 'wgsl' | null {
  if (tf.getBackend() === 'webgpu') return fusedProbeAvailable() ? 'wgsl' : null;
  if (cnfMlpVariantAvailable('relaxed')) return 'relaxed';
  return cnfMlpKernelAvailable() ? 'simd' : null;
}

/** Run one of the conv net's kernels on the active backend (webgpu; registering them on first use). */
function runConvFused(name: string, inputs: Record<string, tf.Tensor>, attrs: ConvKernelAttrs & Record<string, unknown>): tf.Tensor[] {
  const gpu = activeWebgpuBackend();
  if (!gpu || !webgpuConvFusable(gpu, attrs.activation)) {
    throw new RnodeError('BACKEND_UNAVAILABLE', `the fused conv CNF kernels run on tfjs's webgpu backend (activations softplus, tanh, sigmoid, identity), not on "${tf.getBackend()}" with ${attrs.activation}`, {
      source: 'kernel:conv-cnf',
    });
  }
  registerKernels(convKernels, 'webgpu');
  return tf.engine().runKernel(name, inputs as never, attrs as never) as unknown as tf.Tensor[];
}
