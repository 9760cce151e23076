// The fused CNF kernels of the image ODE net (conv.ts) on tfjs's `webgpu` backend: the WGSL of
// conv-net-wgsl.ts dispatched into tfjs's own command stream (`webgpuKernelIO`). A forward
// evaluation (f, the probe's VJP and the per-sample sums) is 2L + 1 dispatches for L convs, an
// adjoint evaluation (that forward again, then the cotangents, the VJP and the forward pass
// reversed and dθ) 5L + 2, where the op-level net records ~120 tfjs programs per evaluation.
// Nothing is read back. Browser-safe.
import type { KernelBackend, TensorInfo } from '@tensorflow/tfjs-core';
import { RnodeError } from '@rnode/core';
import { webgpuKernelIO, type CustomKernel, type WebgpuKernelIO } from '@rnode/core/kernels';
import { invocations, ioOf, kernelTriple, releaseTemps, type KernelArgs, type WgslKernelAttrs } from './cnf-mlp-webgpu.js';
import { WG, uniformWords } from './cnf-mlp-wgsl.js';
import {
  CONV_MAX_BINDINGS,
  GRAD_SLOTS,
  WGSL_CONV_ACTIVATIONS,
  convNetLayout,
  cotFReads,
  cotFShader,
  cotGReads,
  cotGShader,
  forwardShader,
  paramGradShader,
  reverseForwardShader,
  reverseVjpShader,
  sumsShader,
  vjpShader,
  type ConvCotangent,
  type WgslConvActivation,
  type WgslConvNet,
} from './conv-net-wgsl.js';

const SOURCE = 'kernel:conv-cnf-webgpu';

/** dims: the channels d_0 … d_L. */
export interface ConvKernelAttrs extends WgslKernelAttrs {
  activation: WgslConvActivation;
}

/** Whether the WGSL conv kernels run on `backend` for this activation (tfjs-webgpu 4.x within the device's limits). */
export function webgpuConvFusable(backend: KernelBackend | unknown, activation: string): boolean {
  const io = webgpuKernelIO(backend);
  return !!io && io.limits.maxStorageBuffersPerShaderStage >= CONV_MAX_BINDINGS && (WGSL_CONV_ACTIVATIONS as readonly string[]).includes(activation);
}

/** The net the inputs describe, checked against θ. */
function netOf(a: ConvKernelAttrs, theta: TensorInfo, z: TensorInfo): { net: WgslConvNet; B: number; key: string } {
  const [B, H, W, C] = z.shape as [number, number, number, number];
  const net: WgslConvNet = { dims: a.dims, height: H, width: W, activation: a.activation };
  const P = convNetLayout(net).paramCount;
  if (z.shape.length !== 4 || C !== a.dims[0] || a.dims[a.dims.length - 1] !== C || theta.shape.reduce((x, y) => x * y, 1) !== P) {
    throw new RnodeError(
      'SHAPE_MISMATCH',
      `z [${z.shape.join(', ')}] and θ (${theta.shape.join(', ')}) do not fit the conv net ${a.dims.join('→')} (${P} parameters)`,
      { source: SOURCE },
    );
  }
  return { net, B, key: `${a.activation}|${a.dims.join(',')}|${H}x${W}` };
}

/** A dispatcher bound to one kernel call: a grid of WG-invocation workgroups over `n` items. */
function dispatcher(io: WebgpuKernelIO, a: ConvKernelAttrs, B: number, key: string) {
  return (name: string, code: () => string, buffers: readonly TensorInfo[], n: number, over: { cDiv?: number; cKin?: number; cFrob?: number } = {}) => {
    const [g, nx] = invocations(io, n);
    const uniforms = uniformWords({ B, nx, t: a.t, cDiv: over.cDiv ?? a.cDiv ?? 1, cKin: over.cKin ?? a.cKin ?? 1, cFrob: over.cFrob ?? a.cFrob ?? 1, sign: a.sign ?? 1 });
    io.dispatch({ key: `conv-cnf-${name}|${key}`, code, buffers, uniforms, workgroups: g });
  };
}

/** The forward pass and the probe's VJP: f, g = w_1, and what the adjoint reads (h_l, s_l, w_l). */
function forwardPass(io: WebgpuKernelIO, net: WgslConvNet, run: ReturnType<typeof dispatcher>, theta: TensorInfo, z: TensorInfo, e: TensorInfo, B: number) {
  const o = convNetLayout(net);
  const px = B * net.height * net.width;
  const shape = (c: number) => [B, net.height, net.width, c];
  const h: TensorInfo[] = []; // h[l-1] = h_l, l < L
  const s: TensorInfo[] = []; // s[l-1] = s_l
  let x = z;
  let f: TensorInfo | null = null;
  for (const ly of o.layers) {
    if (ly.l < o.L) {
      const hl = io.alloc(shape(ly.m));
      const sl = io.alloc(shape(ly.m));
      run(`fwd${ly.l}`, () => forwardShader(net, ly.l), [theta, x, hl, sl], px * ly.m);
      h.push(hl);
      s.push(sl);
      x = hl;
    } else {
      f = io.alloc(shape(ly.m));
      run(`fwd${ly.l}`, () => forwardShader(net, ly.l), [theta, x, f], px * ly.m);
    }
  }
  const w: TensorInfo[] = []; // w[l] = w_l, l = 1..L
  for (let l = o.L; l >= 1; l--) {
    const ly = o.layers[l - 1]!;
    const wl = io.alloc(shape(ly.n));
    run(`vjp${l}`, () => vjpShader(net, l), l === o.L ? [theta, e, wl] : [theta, w[l + 1]!, s[l - 1]!, wl], px * ly.n);
    w[l] = wl;
  }
  return { f: f!, g: w[1]!, h, s, w };
}

function sums(io: WebgpuKernelIO, net: WgslConvNet, run: ReturnType<typeof dispatcher>, f: TensorInfo, g: TensorInfo, e: TensorInfo, B: number, unit: boolean) {
  const outs = [io.alloc([B]), io.alloc([B]), io.alloc([B])];
  run(`sums`, () => sumsShader(net), [f, g, e, ...outs], B * WG, unit ? { cDiv: 1, cKin: 1, cFrob: 1 } : {});
  return outs;
}

/** RnodeConvCnfProbe [f, g, Σ g⊙ε, Σ f², Σ g²] and RnodeConvCnfRates [f, c·div, c·kin, c·frob]. */
function forwardKernel(probe: boolean) {
  return (args: KernelArgs): TensorInfo[] => {
    const io = ioOf(args, SOURCE);
    const a = args.attrs as unknown as ConvKernelAttrs;
    const { z, e, theta } = args.inputs as { z: TensorInfo; e: TensorInfo; theta: TensorInfo };
    const { net, B, key } = netOf(a, theta, z);
    const run = dispatcher(io, a, B, key);
    const fw = forwardPass(io, net, run, theta, z, e, B);
    const [div, kin, frob] = sums(io, net, run, fw.f, fw.g, e, B, probe);
    releaseTemps(args, [...fw.h, ...fw.s, ...fw.w.slice(2), ...(probe ? [] : [fw.g])]);
    return probe ? [fw.f, fw.g, div!, kin!, frob!] : [fw.f, div!, kin!, frob!];
  };
}

/**
 * RnodeConvCnfAdjoint: for cotangents az, ag (on f and g) and adiv, akin, afrob (on the scaled
 * sums): [f, c·div, c·kin, c·frob]? (withForward), sign·dz, sign·dθ, then `zeros` [B] zeros.
 */
function adjointKernel(args: KernelArgs): TensorInfo[] {
  const io = ioOf(args, SOURCE);
  const a = args.attrs as unknown as ConvKernelAttrs;
  const inputs = args.inputs;
  const { z, e, theta } = inputs as { z: TensorInfo; e: TensorInfo; theta: TensorInfo };
  const { net, B, key } = netOf(a, theta, z);
  const o = convNetLayout(net);
  const px = B * net.height * net.width;
  const shape = (c: number) => [B, net.height, net.width, c];
  const run = dispatcher(io, a, B, key);
  // a cotangent scaled by 0 contributes nothing (and would turn an infinite one into NaN)
  const scale: Record<ConvCotangent, number> = { az: 1, ag: 1, adiv: a.cDiv ?? 1, akin: a.cKin ?? 1, afrob: a.cFrob ?? 1 };
  const present = (names: readonly ConvCotangent[]) => names.filter((c) => inputs[c] && scale[c] !== 0);
  const temps: TensorInfo[] = [];
  const tmp = (c: number) => {
    const t = io.alloc(shape(c));
    temps.push(t);
    return t;
  };

  const fw = forwardPass(io, net, run, theta, z, e, B);
  temps.push(...fw.h, ...fw.s, ...fw.w.slice(1));
  const outs: TensorInfo[] = [];
  if (a.withForward) outs.push(fw.f, ...sums(io, net, run, fw.f, fw.g, e, B, false));
  else temps.push(fw.f);

  const own: Record<string, TensorInfo> = { fi: fw.f, gi: fw.g, ei: e };
  const buffer = (name: string) => own[name] ?? inputs[name]!;
  const pf = present(['az', 'akin']);
  const fb = tmp(net.dims[0]!);
  run(`cotf|${pf.join(',')}`, () => cotFShader(net, pf), [...cotFReads(pf).map(buffer), fb], px * net.dims[0]!);
  const pg = present(['ag', 'adiv', 'afrob']);
  const gb = tmp(net.dims[0]!);
  run(`cotg|${pg.join(',')}`, () => cotGShader(net, pg), [...cotGReads(pg).map(buffer), gb], px * net.dims[0]!);

  // the VJP pass reversed: w̄_l and s̄_l
  const wbar: TensorInfo[] = [];
  const sbar: TensorInfo[] = [];
  wbar[1] = gb;
  for (let l = 1; l < o.L; l++) {
    const m = o.layers[l - 1]!.m;
    wbar[l + 1] = tmp(m);
    sbar[l] = tmp(m);
    run(`rvjp${l}`, () => reverseVjpShader(net, l), [theta, wbar[l]!, fw.s[l - 1]!, fw.w[l + 1]!, wbar[l + 1]!, sbar[l]!], px * m);
  }
  // the forward pass reversed, each layer's dθ on the way
  const dz = io.alloc([...z.shape]);
  const dtheta = io.alloc([...theta.shape]);
  let pbar = fb;
  for (let l = o.L; l >= 1; l--) {
    const ly = o.layers[l - 1]!;
    const x = l === 1 ? z : fw.h[l - 2]!;
    const u = l === o.L ? [e] : [fw.w[l + 1]!, fw.s[l - 1]!];
    run(`dtheta${l}`, () => paramGradShader(net, l), [x, pbar, wbar[l]!, ...u, dtheta], Math.ceil(ly.slots / GRAD_SLOTS) * WG);
    if (l === 1) {
      run(`rfwd1`, () => reverseForwardShader(net, 1), [theta, pbar, dz], px * ly.n);
    } else {
      const next = tmp(ly.n);
      run(`rfwd${l}`, () => reverseForwardShader(net, l), [theta, pbar, fw.s[l - 2]!, sbar[l - 1]!, fw.h[l - 2]!, next], px * ly.n);
      pbar = next;
    }
  }
  releaseTemps(args, temps);
  outs.push(dz, dtheta);
  for (let k = 0; k < (a.zeros ?? 0); k++) outs.push(io.zeros([B]));
  return outs;
}

/** The three kernels for tfjs's `webgpu` backend, under the names fused.ts gives them. */
export function webgpuConvCnfKernels(names: { probe: string; rates: string; adjoint: string }): CustomKernel[] {
  return kernelTriple(names, forwardKernel, adjointKernel);
}
