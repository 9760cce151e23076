// Float64 reference of the CNF MLP kernel (src/kernels/cnf-mlp.ts): forward, VJP with the probe,
// its statistics and the analytic backward, written plainly (no blocking, no padding). Test-only.
import * as tf from '@tensorflow/tfjs-core';
import { Random } from '@rnode/core';
import { hutchinsonGaussianEstimator, jacobianFrobenius, kineticEnergy } from '@rnode/estimators';
import type { FlowSolveOptions } from '../flow.js';

export type RefKind = 'concatsquash' | 'concat' | 'ignore';

export interface RefNet {
  dims: number[];
  kind: RefKind;
}

export interface RefOutputs {
  f: Float64Array; // [B*D]
  g: Float64Array;
  div: Float64Array; // [B]
  kin: Float64Array;
  frob: Float64Array;
}

export interface RefCotangents {
  f?: ArrayLike<number>;
  g?: ArrayLike<number>;
  div?: ArrayLike<number>;
  kin?: ArrayLike<number>;
  frob?: ArrayLike<number>;
}

interface LayerAt {
  n: number;
  m: number;
  off: number; // start of this layer's params in theta
  W: Float64Array; // W(t) [n, m]
  c: Float64Array; // c(t) [m]
  gate: Float64Array; // [m] (1 unless concatsquash)
}

/** Params per layer: W [n,m], b [m], then Wg, bg, Wb (concatsquash) or wt (concat). */
export function refLayerParamCount(n: number, m: number, kind: RefKind): number {
  return n * m + m * (kind === 'concatsquash' ? 4 : kind === 'concat' ? 2 : 1);
}

export function refParamCount(net: RefNet): number {
  let p = 0;
  for (let l = 1; l < net.dims.length; l++) p += refLayerParamCount(net.dims[l - 1]!, net.dims[l]!, net.kind);
  return p;
}

function layersAt(net: RefNet, theta: ArrayLike<number>, t: number): LayerAt[] {
  const out: LayerAt[] = [];
  let off = 0;
  for (let l = 1; l < net.dims.length; l++) {
    const n = net.dims[l - 1]!;
    const m = net.dims[l]!;
    const W = new Float64Array(n * m);
    const c = new Float64Array(m);
    const gate = new Float64Array(m).fill(1);
    const bo = off + n * m;
    for (let j = 0; j < m; j++) {
      const b = theta[bo + j]!;
      if (net.kind === 'concatsquash') {
        const g = 1 / (1 + Math.exp(-(t * theta[bo + m + j]! + theta[bo + 2 * m + j]!)));
        gate[j] = g;
        c[j] = b * g + t * theta[bo + 3 * m + j]!;
      } else if (net.kind === 'concat') {
        c[j] = b + t * theta[bo + m + j]!;
      } else {
        c[j] = b;
      }
    }
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) W[i * m + j] = theta[off + i * m + j]! * gate[j]!;
    out.push({ n, m, off, W, c, gate });
    off += refLayerParamCount(n, m, net.kind);
  }
  return out;
}

interface Trace {
  layers: LayerAt[];
  a: Float64Array[]; // a_0 = z .. a_{L-1}, a_L = f   (each [B, d_l])
  v: Float64Array[]; // v_0 = g .. v_{L-1}
  u: Float64Array[]; // u_1 .. u_L = e (index l)
  out: RefOutputs;
}

function trace(net: RefNet, theta: ArrayLike<number>, t: number, z: ArrayLike<number>, e: ArrayLike<number>, B: number): Trace {
  const layers = layersAt(net, theta, t);
  const L = layers.length;
  const dims = net.dims;
  const D = dims[0]!;
  const a: Float64Array[] = [Float64Array.from({ length: B * D }, (_, i) => z[i]!)];
  for (let l = 1; l <= L; l++) {
    const { n, m, W, c } = layers[l - 1]!;
    const x = a[l - 1]!;
    const y = new Float64Array(B * m);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < m; j++) {
        let s = c[j]!;
        for (let k = 0; k < n; k++) s += x[b * n + k]! * W[k * m + j]!;
        y[b * m + j] = l < L ? Math.tanh(s) : s;
      }
    }
    a.push(y);
  }
  const v: Float64Array[] = new Array<Float64Array>(L);
  const u: Float64Array[] = new Array<Float64Array>(L + 1);
  u[L] = Float64Array.from({ length: B * D }, (_, i) => e[i]!);
  for (let l = L; l >= 1; l--) {
    const { n, m, W } = layers[l - 1]!;
    const ul = u[l]!;
    const vv = new Float64Array(B * n);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < m; j++) s += ul[b * m + j]! * W[i * m + j]!;
        vv[b * n + i] = s;
      }
    }
    v[l - 1] = vv;
    if (l - 1 >= 1) {
      const al = a[l - 1]!;
      u[l - 1] = vv.map((x, i) => x * (1 - al[i]! * al[i]!));
    }
  }
  const f = a[L]!;
  const g = v[0]!;
  const div = new Float64Array(B);
  const kin = new Float64Array(B);
  const frob = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    for (let d = 0; d < D; d++) {
      const i = b * D + d;
      div[b] = div[b]! + g[i]! * e[i]!;
      kin[b] = kin[b]! + f[i]! * f[i]!;
      frob[b] = frob[b]! + g[i]! * g[i]!;
    }
  }
  return { layers, a, v, u, out: { f, g, div, kin, frob } };
}

export function refForward(net: RefNet, theta: ArrayLike<number>, t: number, z: ArrayLike<number>, e: ArrayLike<number>, B: number): RefOutputs {
  return trace(net, theta, t, z, e, B).out;
}

const at = (x: ArrayLike<number> | undefined, i: number): number => (x ? x[i]! : 0);

/** ℓ = Σ_batch (cf·f + cg·g + cdiv·div + ckin·kin + cfrob·frob). */
export function refLoss(net: RefNet, theta: ArrayLike<number>, t: number, z: ArrayLike<number>, e: ArrayLike<number>, B: number, cot: RefCotangents): number {
  const o = refForward(net, theta, t, z, e, B);
  const D = net.dims[0]!;
  let s = 0;
  for (let i = 0; i < B * D; i++) s += at(cot.f, i) * o.f[i]! + at(cot.g, i) * o.g[i]!;
  for (let b = 0; b < B; b++) s += at(cot.div, b) * o.div[b]! + at(cot.kin, b) * o.kin[b]! + at(cot.frob, b) * o.frob[b]!;
  return s;
}

/** The analytic backward of ℓ: dz [B*D] and dtheta [P] (summed over the batch). */
export function refBackward(
  net: RefNet, theta: ArrayLike<number>, t: number, z: ArrayLike<number>, e: ArrayLike<number>, B: number, cot: RefCotangents,
): { dz: Float64Array; dtheta: Float64Array; out: RefOutputs } {
  const tr = trace(net, theta, t, z, e, B);
  const { layers, a, v, u } = tr;
  const L = layers.length;
  const D = net.dims[0]!;
  const { f, g } = tr.out;
  const Fb = new Float64Array(B * D);
  const Gb = new Float64Array(B * D);
  for (let b = 0; b < B; b++) {
    for (let d = 0; d < D; d++) {
      const i = b * D + d;
      Fb[i] = at(cot.f, i) + 2 * at(cot.kin, b) * f[i]!;
      Gb[i] = at(cot.g, i) + at(cot.div, b) * e[i]! + 2 * at(cot.frob, b) * g[i]!;
    }
  }
  const gW = layers.map((ly) => new Float64Array(ly.n * ly.m));
  const gc = layers.map((ly) => new Float64Array(ly.m));
  const abar: Float64Array[] = a.map((x) => new Float64Array(x.length));
  // reverse of the VJP pass (it ran l = L..1), so l = 1..L; vb = dℓ/dv_{l-1}
  let vb = Gb;
  for (let l = 1; l <= L; l++) {
    const { n, m, W } = layers[l - 1]!;
    const ul = u[l]!;
    const GWl = gW[l - 1]!;
    const ub = new Float64Array(B * m);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (let i = 0; i < n; i++) {
          s += vb[b * n + i]! * W[i * m + j]!;
          GWl[i * m + j] = GWl[i * m + j]! + vb[b * n + i]! * ul[b * m + j]!;
        }
        ub[b * m + j] = s;
      }
    }
    if (l < L) {
      const al = a[l]!;
      const vl = v[l]!;
      const abl = abar[l]!;
      const next = new Float64Array(B * m);
      for (let i = 0; i < B * m; i++) {
        const d = 1 - al[i]! * al[i]!;
        next[i] = ub[i]! * d;
        abl[i] = abl[i]! - 2 * al[i]! * ub[i]! * vl[i]!;
      }
      vb = next;
    }
  }
  // reverse of the forward pass
  let sb = Fb;
  for (let l = L; l >= 1; l--) {
    const { n, m, W } = layers[l - 1]!;
    const x = a[l - 1]!;
    const ab = abar[l - 1]!;
    const GW = gW[l - 1]!;
    const GC = gc[l - 1]!;
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < m; j++) {
        const s = sb[b * m + j]!;
        GC[j] = GC[j]! + s;
        for (let i = 0; i < n; i++) {
          GW[i * m + j] = GW[i * m + j]! + x[b * n + i]! * s;
          ab[b * n + i] = ab[b * n + i]! + s * W[i * m + j]!;
        }
      }
    }
    if (l - 1 >= 1) {
      const al = a[l - 1]!;
      sb = ab.map((y, i) => y * (1 - al[i]! * al[i]!));
    }
  }
  const dz = abar[0]!;
  // chain W(t), c(t) to the raw params
  const dtheta = new Float64Array(refParamCount(net));
  for (let l = 1; l <= L; l++) {
    const { n, m, off, gate } = layers[l - 1]!;
    const GW = gW[l - 1]!;
    const GC = gc[l - 1]!;
    const bo = off + n * m;
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) dtheta[off + i * m + j] = GW[i * m + j]! * gate[j]!;
    for (let j = 0; j < m; j++) {
      if (net.kind === 'concatsquash') {
        const gj = gate[j]!;
        let gbar = theta[bo + j]! * GC[j]!;
        for (let i = 0; i < n; i++) gbar += theta[off + i * m + j]! * GW[i * m + j]!;
        const sp = gj * (1 - gj);
        dtheta[bo + j] = GC[j]! * gj;
        dtheta[bo + m + j] = t * sp * gbar;
        dtheta[bo + 2 * m + j] = sp * gbar;
        dtheta[bo + 3 * m + j] = t * GC[j]!;
      } else {
        dtheta[bo + j] = GC[j]!;
        if (net.kind === 'concat') dtheta[bo + m + j] = t * GC[j]!;
      }
    }
  }
  return { dz, dtheta, out: tr.out };
}

/** max |a − b| / max |b|: the relative difference of two arrays as the kernel tests state it. */
export function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / Math.max(den, 1e-30);
}

/**
 * The RNODE training loss of a flow (−mean log p + 0.01·(KE + JF), RK4 at step 0.25 … `stepSize`,
 * continuous adjoint) and its parameter gradients, on the fused or the op-level path; disposes
 * `flow` and `x`. Test-only: the fused-vs-op-level flow checks of the kernel tests.
 */
export async function rnodeLossAndGrads(flow: FlowLike, x: tf.Tensor, fused: boolean, stepSize: number): Promise<{ v: number; g: number[] }> {
  const regs = [kineticEnergy({ reduction: 'sum', name: 'ke' }), jacobianFrobenius({ reduction: 'sum', name: 'jf' })];
  const solve: FlowSolveOptions = { method: 'rk4', stepSize, estimator: hutchinsonGaussianEstimator, regularizers: regs, noiseRng: new Random(1), fused, adjoint: 'backsolve' };
  const { value, grads } = tf.variableGrads(() => {
    const out = flow.forward(x, solve);
    const lp = tf.sub(tf.mul(-0.5, tf.sum(tf.square(out.z), 1)), out.deltaLogp);
    return tf.add(tf.neg(tf.mean(lp)), tf.mul(0.01, tf.add(tf.mean(out.regs['ke']!), tf.mean(out.regs['jf']!)))) as tf.Scalar;
  }, flow.params);
  const v = (await value.data())[0]!;
  const g: number[] = [];
  for (const p of flow.params) g.push(...(await grads[p.name]!.data()));
  tf.dispose([value, x, ...Object.values(grads)]);
  flow.dispose();
  return { v, g };
}

/** What `rnodeLossAndGrads` reads of a flow (the 2-D and the image flow alike). */
export interface FlowLike {
  forward(x: tf.Tensor, solve: FlowSolveOptions): { z: tf.Tensor; deltaLogp: tf.Tensor; regs: Record<string, tf.Tensor> };
  readonly params: tf.Variable[];
  dispose(): void;
}
