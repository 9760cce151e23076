import * as tf from '@tensorflow/tfjs-core';
import { Random, activationDerivative, getActivation } from '@rnode/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createConcatConv2d, createConvOdeNet, createImageFlow, standardNormalLogProb } from './index.js';
import { checkOdeNetVjp } from './testing/index.js';

const read = (t: tf.Tensor) => Array.from(t.dataSync());

/** log|det A| by LU with partial pivoting (float64 on the host). */
function logAbsDet(a: number[][]): number {
  const n = a.length;
  const m = a.map((r) => r.slice());
  let s = 0;
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(m[i]![k]!) > Math.abs(m[p]![k]!)) p = i;
    [m[k], m[p]] = [m[p]!, m[k]!];
    const piv = m[k]![k]!;
    s += Math.log(Math.abs(piv));
    for (let i = k + 1; i < n; i++) {
      const f = m[i]![k]! / piv;
      for (let j = k; j < n; j++) m[i]![j]! -= f * m[k]![j]!;
    }
  }
  return s;
}

describe('ConcatConv2d', () => {
  it('initialises like nn.Conv2d (U(±1/√((cIn+1)·9))), HWIO with t as input channel 0; zero "weight" zeroes W only', () => {
    const l = createConcatConv2d({ inChannels: 2, outChannels: 5 }, new Random(1));
    expect(l.paramNames).toEqual(['layer/W', 'layer/b']);
    expect(l.params.map((p) => p.shape)).toEqual([[3, 3, 3, 5], [5]]);
    const bound = 1 / Math.sqrt(3 * 9);
    for (const p of l.params) {
      const v = read(p);
      expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(bound);
      expect(Math.max(...v.map(Math.abs))).toBeGreaterThan(0.5 * bound);
    }
    const z = createConcatConv2d({ inChannels: 2, outChannels: 5, zero: 'weight' }, new Random(1));
    expect(read(z.params[0]!).every((v) => v === 0)).toBe(true);
    expect(read(z.params[1]!)).toEqual(read(l.params[1]!));
    l.dispose();
    z.dispose();
  });

  it('forward = conv of cat([t, x]) (border-exact t folding); explicit VJP = autodiff', () => {
    const before = tf.memory().numTensors;
    const l = createConcatConv2d({ inChannels: 3, outChannels: 4 }, new Random(2));
    const rng = new Random(3);
    const x = rng.normal([2, 5, 6, 3]);
    const dy = rng.normal([2, 5, 6, 4]);
    const t = 0.83;
    const [fErr, vErr] = tf.tidy(() => {
      const cat = tf.concat([tf.fill([2, 5, 6, 1], t), x], 3) as tf.Tensor4D;
      const ref = tf.add(tf.conv2d(cat, l.params[0] as tf.Variable<tf.Rank.R4>, 1, 'same'), l.params[1]!);
      const auto = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(l.forward(t, xx), dy)))(x);
      return [tf.max(tf.abs(tf.sub(l.forward(t, x), ref))).dataSync()[0]!, tf.max(tf.abs(tf.sub(l.vjp(t, x, dy), auto))).dataSync()[0]!];
    });
    console.log(`ConcatConv2d: forward vs cat([t, x]) conv ${fErr.toExponential(2)}, explicit vs autodiff VJP ${vErr.toExponential(2)}`);
    expect(fErr).toBeLessThan(1e-5);
    expect(vErr).toBeLessThan(1e-5);
    tf.dispose([x, dy]);
    l.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

/** max |a − ref| / max |ref|. */
function relErr(a: tf.Tensor, ref: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, ref))).dataSync()[0]! / Math.max(tf.max(tf.abs(ref)).dataSync()[0]!, 1e-30));
}

describe('t channel folded into a per-position bias map = the concat formulation', () => {
  // The reference is RNODE's ConcatConv2d as written: conv2d(cat([t-plane, h]), W) + b per layer, the VJP
  // through conv2dTranspose over all cIn + 1 channels with the t channel sliced off (first-order ops only,
  // so parameter and t gradients of a loss on it are plain reverse mode). Same variables, same activations.
  const reference = (net: ReturnType<typeof createConvOdeNet>) => {
    const Ws = net.params.filter((_, i) => i % 2 === 0) as tf.Variable<tf.Rank.R4>[];
    const bs = net.params.filter((_, i) => i % 2 === 1);
    const act = getActivation(net.config.activation);
    const dAct = activationDerivative(net.config.activation);
    return (t: tf.Scalar, z: tf.Tensor4D, v: tf.Tensor4D) => {
      const shapes: Array<[number, number, number, number]> = [];
      const derivs: tf.Tensor[] = [];
      let h = z;
      for (let i = 0; i < Ws.length; i++) {
        const [b, hh, ww] = h.shape;
        const cat = tf.concat([tf.mul(tf.ones([b, hh, ww, 1]), t), h], 3) as tf.Tensor4D;
        shapes.push(cat.shape);
        const pre = tf.add(tf.conv2d(cat, Ws[i]!, 1, 'same'), bs[i]!) as tf.Tensor4D;
        if (i + 1 < Ws.length) {
          h = act(pre);
          derivs.push(dAct(pre));
        } else h = pre;
      }
      let g = v;
      for (let i = Ws.length - 1; i >= 0; i--) {
        const s = shapes[i]!;
        g = tf.slice(tf.conv2dTranspose(g, Ws[i]!, s, 1, 'same'), [0, 0, 0, 1], [s[0], s[1], s[2], s[3] - 1]);
        if (i > 0) g = tf.mul(g, derivs[i - 1]!) as tf.Tensor4D;
      }
      return { f: h, vjp: g };
    };
  };

  for (const [shape, hidden, t0] of [
    [[3, 6, 5, 2], [8, 8], 0.37],
    [[2, 7, 7, 1], [16, 16, 16], -1.3],
    [[2, 4, 4, 4], [8], 2.5],
  ] as const) {
    it(`${shape.join('×')}, hidden ${hidden.join(',')}, t = ${t0}: f, vjp, and the gradients of a loss on both (all parameters, t-channel weights included, and t) agree to 1e-6 / 1e-5`, () => {
      const before = tf.memory().numTensors;
      const net = createConvOdeNet({ channels: shape[3], hidden: [...hidden], zeroLast: 'none' }, new Random(`tbias-${shape.join('')}`));
      const ref = reference(net);
      const rng = new Random(`tbias-data-${shape.join('')}`);
      const z = rng.normal([...shape]) as tf.Tensor4D;
      const v = rng.normal([...shape]) as tf.Tensor4D;
      const u = rng.normal([...shape]);
      const w = rng.normal([...shape]);
      const t = tf.scalar(t0);
      const errs = tf.tidy(() => {
        const a = net.vjp(t0, z, v);
        const r = ref(t, z, v);
        const fwd = [relErr(a.f, r.f), relErr(net(t0, z), r.f), relErr(a.vjp, r.vjp)];
        // A loss on f and on the VJP; its gradient reaches W (t slice included), b, z and t.
        const loss = (o: { f: tf.Tensor; vjp: tf.Tensor }) => tf.add(tf.sum(tf.mul(o.f, u)), tf.sum(tf.mul(tf.square(o.vjp), w))) as tf.Scalar;
        const gNew = tf.grads((tt: tf.Tensor, zz: tf.Tensor) => loss(net.vjp(tt as tf.Scalar, zz, v)))([t, z]);
        const gRef = tf.grads((tt: tf.Tensor, zz: tf.Tensor) => loss(ref(tt as tf.Scalar, zz as tf.Tensor4D, v)))([t, z]);
        const pNew = tf.variableGrads(() => loss(net.vjp(t, z, v)), net.params).grads;
        const pRef = tf.variableGrads(() => loss(ref(t, z, v)), net.params).grads;
        const grads = [relErr(gNew[0]!, gRef[0]!), relErr(gNew[1]!, gRef[1]!), ...net.params.map((p) => relErr(pNew[p.name]!, pRef[p.name]!))];
        // The t-channel slice of each filter on its own (input channel 0).
        const tSlices = net.params
          .filter((_, i) => i % 2 === 0)
          .map((p) => {
            const [k1, k2, , co] = p.shape as [number, number, number, number];
            return relErr(tf.slice(pNew[p.name]!, [0, 0, 0, 0], [k1, k2, 1, co]), tf.slice(pRef[p.name]!, [0, 0, 0, 0], [k1, k2, 1, co]));
          });
        return { fwd, grads, tSlices };
      });
      console.log(
        `t folding vs concat (${shape.join('×')}): f ${Math.max(...errs.fwd.slice(0, 2)).toExponential(2)}, vjp ${errs.fwd[2]!.toExponential(2)}, ` +
          `grads (t, z, params) ${Math.max(...errs.grads).toExponential(2)}, t-channel weight grads ${Math.max(...errs.tSlices).toExponential(2)}`,
      );
      for (const e of errs.fwd) expect(e).toBeLessThan(1e-6);
      for (const e of [...errs.grads, ...errs.tSlices]) expect(e).toBeLessThan(1e-5);
      tf.dispose([z, v, u, w, t]);
      net.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});

describe('conv ODE net', () => {
  const worst = { vjp: 0, fd: 0, gg: 0 };
  afterAll(() =>
    console.log(
      `conv net: worst explicit-vs-autodiff VJP ${worst.vjp.toExponential(2)}, parameter gradient of Σ(εᵀJ)² + Σ εᵀJε vs FD (step 1e-2, float32) ${worst.fd.toExponential(2)}, input grad-of-grad vs FD ${worst.gg.toExponential(2)}`,
    ),
  );
  // FD: central differences along 3 random unit-norm parameter directions, step 1e-2 (float32), rel tol 1e-2.
  for (const [shape, hidden] of [
    [[5, 5, 2], [8, 8]],
    [[4, 4, 1], [8, 8, 8]],
  ] as const) {
    it(`${shape.join('×')}, hidden ${hidden.join(',')}: vjp = autodiff, parameter gradient of the VJP loss = finite differences`, () => {
      const before = tf.memory().numTensors;
      const net = createConvOdeNet({ channels: shape[2], hidden: [...hidden], zeroLast: 'none' }, new Random(`conv-${shape.join('')}`));
      expect(net.paramCount).toBe(net.params.reduce((a, p) => a + p.size, 0));
      const r = checkOdeNetVjp(net, { batch: 3, t: 0.37, shape });
      net.dispose();
      expect(r.fError).toBeLessThan(1e-6);
      expect(r.vjpError).toBeLessThan(1e-5);
      expect(r.paramGradError, JSON.stringify(r.pairs)).toBeLessThan(1e-2);
      worst.vjp = Math.max(worst.vjp, r.vjpError);
      worst.fd = Math.max(worst.fd, r.paramGradError);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('grad-of-grad through the input path: ∇z Σ(εᵀJ)² = finite differences', () => {
    const before = tf.memory().numTensors;
    const net = createConvOdeNet({ channels: 2, hidden: [8] , zeroLast: 'none' }, new Random(11));
    const rng = new Random(12);
    const z = rng.normal([2, 4, 4, 2]);
    const eps = rng.normal([2, 4, 4, 2]);
    const d = rng.normal([2, 4, 4, 2]);
    const L = (zz: tf.Tensor) => tf.sum(tf.square(net.vjp(0.5, zz, eps).vjp)) as tf.Scalar;
    const h = 1e-2;
    const [an, fd] = tf.tidy(() => {
      const g = tf.grad(L)(z);
      const dn = tf.div(d, tf.norm(d));
      return [tf.sum(tf.mul(g, dn)).dataSync()[0]!, (L(tf.add(z, tf.mul(dn, h))).dataSync()[0]! - L(tf.sub(z, tf.mul(dn, h))).dataSync()[0]!) / (2 * h)];
    });
    const rel = Math.abs(an - fd) / Math.max(Math.abs(an), Math.abs(fd), 1e-3);
    worst.gg = Math.max(worst.gg, rel);
    expect(rel).toBeLessThan(1e-2);
    tf.dispose([z, eps, d]);
    net.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('zeroLast "weight" (default): f = the last bias at init, J = 0', () => {
    const net = createConvOdeNet({ channels: 1, hidden: [4] }, new Random(1));
    const z = new Random(2).normal([1, 4, 4, 1]);
    const r = net.vjp(0.3, z, z);
    const b = read(net.params[3]!)[0]!;
    expect(read(r.f).every((v) => Math.abs(v - b) < 1e-7)).toBe(true);
    expect(read(r.vjp).every((v) => v === 0)).toBe(true);
    tf.dispose([z, r.f, r.vjp]);
    net.dispose();
  });
});

describe('image flow densities and gradients', () => {
  const tiny = { height: 4, width: 4, channels: 1, scales: 2, blocksPerScale: 1, hidden: [8], zeroLast: 'none' as const };

  it('log p(x) = log N(z) + log|det ∂z/∂x| (16×16 Jacobian by central differences, through squeeze and factor-out)', () => {
    const before = tf.memory().numTensors;
    const flow = createImageFlow(tiny, new Random(21));
    const fixed = { method: 'rk4', stepSize: 0.05 } as const; // same grid for the map and the divergence
    const D = 16;
    const h = 1e-2;
    const x0 = new Random(22).normalArray(D);
    const rows: number[] = [];
    for (let j = 0; j < D; j++) for (const s of [h, -h]) rows.push(...Array.from(x0, (v, i) => (i === j ? v + s : v)));
    rows.push(...x0);
    const probe = tf.tensor2d(rows, [2 * D + 1, D]);
    const r = flow.forward(probe, fixed);
    const z = read(r.z);
    const J = Array.from({ length: D }, (_, a) => Array.from({ length: D }, (_, j) => (z[2 * j * D + a]! - z[(2 * j + 1) * D + a]!) / (2 * h)));
    const zc = z.slice(2 * D * D);
    const ref = -0.5 * zc.reduce((a, v) => a + v * v, 0) - (D / 2) * Math.log(2 * Math.PI) + logAbsDet(J);
    const x = tf.tensor2d(x0, [1, D]);
    const lpT = flow.logProb(x, fixed);
    const lp = read(lpT)[0]!;
    const err = Math.abs(lp - ref);
    console.log(`image flow log-density vs log N(z) + log|det J_FD|: abs error ${err.toExponential(2)} (log|det J| = ${logAbsDet(J).toFixed(4)})`);
    expect(Math.abs(logAbsDet(J))).toBeGreaterThan(1e-2); // a non-trivial map
    expect(err).toBeLessThan(5e-3);
    r.dispose();
    tf.dispose([probe, x, lpT]);
    flow.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('training step: hutchinson + regularizers, backsolve gradient ≈ backprop gradient; no leaks', () => {
    const flow = createImageFlow(tiny, new Random(31));
    const before = tf.memory().numTensors;
    const x = new Random(32).normal([4, 4, 4, 1]);
    const grads = (adjoint: 'backsolve' | 'backprop') => {
      const opts = { method: 'rk4', stepSize: 0.25, estimator: 'hutchinson', regularizers: ['kinetic-energy', 'jacobian-frobenius'], noiseRng: new Random(33), adjoint } as const;
      let regs: number[] = [];
      const { value, grads: g } = tf.variableGrads(() => {
        const r = flow.forward(x, opts);
        regs = Object.values(r.regs).map((t) => tf.mean(t).dataSync()[0]!);
        expect(r.stats.nfe).toBe(3 * 16);
        return tf.add(tf.neg(tf.mean(tf.sub(standardNormalLogProb(r.z), r.deltaLogp))), tf.add(tf.mean(r.regs['kinetic-energy']!), tf.mean(r.regs['jacobian-frobenius']!))) as tf.Scalar;
      }, flow.params);
      const flat = flow.params.flatMap((p) => (g[p.name] ? read(g[p.name]!) : new Array<number>(p.size).fill(0)));
      value.dispose();
      tf.dispose(Object.values(g));
      return { flat, regs };
    };
    const a = grads('backsolve');
    const b = grads('backprop');
    expect(a.regs.every((v) => v > 0 && Number.isFinite(v))).toBe(true);
    const num = Math.sqrt(a.flat.reduce((s, v, i) => s + (v - b.flat[i]!) ** 2, 0));
    const den = Math.sqrt(b.flat.reduce((s, v) => s + v * v, 0));
    console.log(`image flow: backsolve vs backprop parameter gradient, relative L2 ${(num / den).toExponential(2)}`);
    expect(den).toBeGreaterThan(0);
    expect(num / den).toBeLessThan(1e-2);
    x.dispose();
    expect(tf.memory().numTensors).toBe(before);
    flow.dispose();
  });

  it('forwardAsync, logProbAsync, inverseAsync and sample agree with the sync paths; no leaks', async () => {
    const flow = createImageFlow(tiny, new Random(41));
    const before = tf.memory().numTensors;
    const opts = { rtol: 1e-6, atol: 1e-6 };
    const x = new Random(42).normal([2, 16]);
    const s = flow.forward(x, opts);
    const a = await flow.forwardAsync(x, opts);
    expect(read(a.z)).toEqual(read(s.z));
    expect(read(a.deltaLogp)).toEqual(read(s.deltaLogp));
    const lp = await flow.logProbAsync(x, opts);
    const inv = await flow.inverseAsync(a.z, opts);
    const invS = flow.inverse(a.z, opts);
    expect(read(inv)).toEqual(read(invS));
    const smp = flow.sample(3, new Random(1), opts);
    const smpA = await flow.sampleAsync(3, new Random(1), opts);
    expect(smp.shape).toEqual([3, 4, 4, 1]);
    expect(read(smpA)).toEqual(read(smp));
    s.dispose();
    a.dispose();
    tf.dispose([x, lp, inv, invS, smp, smpA]);
    expect(tf.memory().numTensors).toBe(before);
    flow.dispose();
  });
});
