// The fused CNF kernels (RnodeCnfMlpProbe, RnodeCnfRates, RnodeCnfAdjoint: see fused.ts) on tfjs's
// `webgpu` backend, as WGSL compute shaders (cnf-mlp-wgsl.ts) dispatched into tfjs's own command
// stream: a forward evaluation is one dispatch, an adjoint evaluation four (pack, sample, params,
// gather), where the op-level net takes ~200. Nothing is read back. Browser-safe.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { RnodeError } from '@rnode/core';
import { webgpuKernelIO, workgroupGrid, type CustomKernel, type WebgpuKernelIO } from '@rnode/core/kernels';
import { COTANGENTS, WG, gatherShader, netLayout, packShader, paramsShader, sampleShader, sampleWorkgroupBytes, uniformWords, type CotangentName, type WgslNet } from './cnf-mlp-wgsl.js';

const SOURCE = 'kernel:cnf-mlp-webgpu';

/** The attrs every fused CNF kernel on webgpu reads (fused.ts's); each net adds its shape. */
export interface WgslKernelAttrs {
  t: number;
  dims: number[];
  cDiv?: number;
  cKin?: number;
  cFrob?: number;
  sign?: number;
  withForward?: boolean;
  zeros?: number;
}

interface Attrs extends WgslKernelAttrs {
  kind: WgslNet['kind'];
}

/** What tfjs passes a kernel function. */
export type KernelArgs = { inputs: Record<string, TensorInfo>; backend: KernelBackend; attrs?: NamedAttrMap };

/** Storage buffers the widest shader binds (the probe: θ, z, ε and five outputs). */
const MAX_BINDINGS = 8;

/** Whether the WGSL kernels run on `backend` for a net of these widths (tfjs-webgpu, within the device's limits). */
export function webgpuFusable(backend: KernelBackend | unknown, net: WgslNet): boolean {
  const io = webgpuKernelIO(backend);
  if (!io) return false;
  return io.limits.maxStorageBuffersPerShaderStage >= MAX_BINDINGS && sampleWorkgroupBytes(net, true) <= io.limits.maxComputeWorkgroupStorageSize;
}

/** The kernel's raw dispatch access, or BACKEND_UNAVAILABLE naming `source`. */
export function ioOf(args: KernelArgs, source = SOURCE): WebgpuKernelIO {
  const io = webgpuKernelIO(args.backend);
  if (!io) throw new RnodeError('BACKEND_UNAVAILABLE', `the WGSL CNF kernels (${source}) need tfjs-backend-webgpu 4.x`, { source });
  return io;
}

/** Release a kernel's temporaries (tfjs-webgpu defers it until the recorded work has been submitted). */
export function releaseTemps(args: KernelArgs, infos: readonly TensorInfo[]): void {
  const b = args.backend as unknown as { disposeData(id: object): void };
  for (const t of infos) b.disposeData(t.dataId);
}

/** A net's probe, rates and adjoint kernels under fused.ts's names. */
export function kernelTriple(
  names: { probe: string; rates: string; adjoint: string },
  forward: (probe: boolean) => (args: KernelArgs) => TensorInfo[],
  adjoint: (args: KernelArgs) => TensorInfo[],
): CustomKernel[] {
  return [
    { kernelName: names.probe, kernelFunc: forward(true) as never },
    { kernelName: names.rates, kernelFunc: forward(false) as never },
    { kernelName: names.adjoint, kernelFunc: adjoint as never },
  ];
}

function netOf(a: Attrs, theta: TensorInfo, z: TensorInfo): { net: WgslNet; B: number; key: string } {
  const net: WgslNet = { dims: a.dims, kind: a.kind };
  const [B, D] = z.shape as [number, number];
  const o = netLayout(net);
  if (D !== a.dims[0] || theta.shape.reduce((x, y) => x * y, 1) !== o.paramCount) {
    throw new RnodeError('SHAPE_MISMATCH', `z [${z.shape.join(', ')}] and θ (${theta.shape.join(', ')}) do not fit the net ${a.dims.join('→')} (${o.paramCount} parameters)`, { source: SOURCE });
  }
  return { net, B, key: `${a.kind}|${a.dims.join(',')}` };
}

function uniforms(a: Attrs, B: number, nx: number, over: Partial<{ cDiv: number; cKin: number; cFrob: number; sign: number }> = {}): ArrayBuffer {
  return uniformWords({ B, nx, t: a.t, cDiv: over.cDiv ?? a.cDiv ?? 1, cKin: over.cKin ?? a.cKin ?? 1, cFrob: over.cFrob ?? a.cFrob ?? 1, sign: over.sign ?? a.sign ?? 1 });
}

/** A grid of workgroups of WG invocations covering n invocations, and its x extent. */
export function invocations(io: WebgpuKernelIO, n: number): [readonly [number, number, number], number] {
  const g = workgroupGrid(Math.ceil(n / WG), io.limits.maxComputeWorkgroupsPerDimension);
  return [g, g[0]];
}

function forwardKernel(probe: boolean) {
  return (args: KernelArgs): TensorInfo[] => {
    const io = ioOf(args);
    const a = args.attrs as unknown as Attrs;
    const { z, e, theta } = args.inputs as { z: TensorInfo; e: TensorInfo; theta: TensorInfo };
    const { net, B, key } = netOf(a, theta, z);
    const D = net.dims[0]!;
    const outs = probe ? [io.alloc([B, D]), io.alloc([B, D]), io.alloc([B]), io.alloc([B]), io.alloc([B])] : [io.alloc([B, D]), io.alloc([B]), io.alloc([B]), io.alloc([B])];
    const grid = workgroupGrid(B, io.limits.maxComputeWorkgroupsPerDimension);
    const mode = probe ? 'probe' : 'rates';
    const c = probe ? { cDiv: 1, cKin: 1, cFrob: 1 } : {};
    io.dispatch({ key: `cnf-sample|${mode}|${key}`, code: () => sampleShader(net, mode), buffers: [theta, z, e, ...outs], uniforms: uniforms(a, B, grid[0], c), workgroups: grid });
    return outs;
  };
}

/** RnodeCnfAdjoint: [f, c·div, c·kin, c·frob]? (withForward), sign·dz, sign·dθ, then `zeros` [B] zeros. */
function adjointKernel(args: KernelArgs): TensorInfo[] {
  const io = ioOf(args);
  const a = args.attrs as unknown as Attrs;
  const inputs = args.inputs;
  const { z, e, theta } = inputs as { z: TensorInfo; e: TensorInfo; theta: TensorInfo };
  const { net, B, key } = netOf(a, theta, z);
  const D = net.dims[0]!;
  const o = netLayout(net);
  // a cotangent scaled by 0 contributes nothing (and would turn an infinite one into NaN)
  const scale: Partial<Record<CotangentName, number>> = { adiv: a.cDiv ?? 1, akin: a.cKin ?? 1, afrob: a.cFrob ?? 1 };
  const present = COTANGENTS.filter((c) => inputs[c] && scale[c] !== 0);
  const cot = io.alloc([B * o.cotStride]);
  const ws = io.alloc([B * o.wsStride]);
  const outs: TensorInfo[] = [];
  if (a.withForward) outs.push(io.alloc([B, D]), io.alloc([B]), io.alloc([B]), io.alloc([B]));
  const dz = io.alloc([B, D]);
  const dtheta = io.alloc([...theta.shape]);
  outs.push(dz, dtheta);
  try {
    const [pg, pnx] = invocations(io, B);
    io.dispatch({ key: `cnf-pack|${present.join(',')}|${key}`, code: () => packShader(net, present), buffers: [...present.map((c) => inputs[c]!), cot], uniforms: uniforms(a, B, pnx), workgroups: pg });
    const sg = workgroupGrid(B, io.limits.maxComputeWorkgroupsPerDimension);
    io.dispatch({ key: `cnf-sample|adjoint|${key}`, code: () => sampleShader(net, 'adjoint'), buffers: [theta, z, e, cot, ws], uniforms: uniforms(a, B, sg[0]), workgroups: sg });
    const [qg, qnx] = invocations(io, o.slots);
    io.dispatch({ key: `cnf-params|${key}`, code: () => paramsShader(net), buffers: [theta, ws, dtheta], uniforms: uniforms(a, B, qnx), workgroups: qg });
    const [gg, gnx] = invocations(io, B);
    const gathered = a.withForward ? [...outs.slice(0, 4), dz] : [dz];
    io.dispatch({ key: `cnf-gather|${a.withForward ? 'f' : '-'}|${key}`, code: () => gatherShader(net, !!a.withForward), buffers: [ws, ...gathered], uniforms: uniforms(a, B, gnx), workgroups: gg });
  } finally {
    releaseTemps(args, [cot, ws]);
  }
  for (let k = 0; k < (a.zeros ?? 0); k++) outs.push(io.zeros([B]));
  return outs;
}

/** The three kernels for tfjs's `webgpu` backend, under the names of fused.ts. */
export function webgpuCnfKernels(names: { probe: string; rates: string; adjoint: string }): CustomKernel[] {
  return kernelTriple(names, forwardKernel, adjointKernel);
}

/** The active backend, when it is tfjs's webgpu backend (for availability checks). */
export function activeWebgpuBackend(): KernelBackend | null {
  return tf.getBackend() === 'webgpu' ? tf.backend() : null;
}
