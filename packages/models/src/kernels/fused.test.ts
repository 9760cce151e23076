import * as tf from '@tensorflow/tfjs-core';
import { Random } from '@rnode/core';
import { defineRegularizer, hutchinsonGaussianEstimator, jacobianFrobenius, kineticEnergy } from '@rnode/estimators';
import { describe, expect, it } from 'vitest';
import { createFlow, type CreateFlowOptions, type FlowSolveOptions } from '../index.js';
import { CNF_MLP_PROBE, canFuse, cnfMlpProbe, packNetParams } from './fused.js';
import { relDiff } from './reference.js';

const host = ['cpu', 'wasm'].includes(process.env['RNODE_BACKEND'] ?? '');

const regs = [kineticEnergy({ reduction: 'sum', name: 'ke' }), jacobianFrobenius({ reduction: 'sum', name: 'jf' })];
const solve = (seed: number, extra: Partial<FlowSolveOptions> = {}): FlowSolveOptions => ({
  method: 'rk38',
  stepSize: 0.25,
  estimator: hutchinsonGaussianEstimator,
  regularizers: regs,
  noiseRng: new Random(seed),
  ...extra,
});

/** Loss of the RNODE objective and its parameter gradients, fused or op-level. */
function lossAndGrads(opts: CreateFlowOptions, fused: boolean, adjoint: 'backsolve' | 'backprop') {
  const flow = createFlow(opts, new Random(4));
  const x = new Random(9).normal([48, opts.dim]);
  const { value, grads } = tf.variableGrads(() => {
    const out = flow.forward(x, solve(1, { fused, adjoint }));
    const lp = tf.sub(tf.mul(-0.5, tf.sum(tf.square(out.z), 1)), out.deltaLogp);
    const loss = tf.add(tf.neg(tf.mean(lp)), tf.mul(0.01, tf.add(tf.mean(out.regs['ke']!), tf.mean(out.regs['jf']!))));
    return loss as tf.Scalar;
  }, flow.params);
  const g = flow.params.map((p) => Float32Array.from(grads[p.name]!.dataSync()));
  const v = value.dataSync()[0]!;
  tf.dispose([value, x, ...Object.values(grads)]);
  flow.dispose();
  return { v, g: g.flatMap((a) => Array.from(a)) };
}

describe.skipIf(!host)('fused CNF kernels in the flow (cpu, wasm)', () => {
  const nets: Array<[string, CreateFlowOptions]> = [
    ['concatsquash 2→16→16→2', { dim: 2, hidden: [16, 16], layer: 'concatsquash', activation: 'tanh', zeroLast: 'none' }],
    ['concat 3→7→3', { dim: 3, hidden: [7], layer: 'concat', activation: 'tanh', zeroLast: 'none' }],
    ['ignore 2→5→6→2', { dim: 2, hidden: [5, 6], layer: 'ignore', activation: 'tanh', zeroLast: 'none' }],
  ];

  it.each(nets)('%s: forward state (z, Δlogp, regularizers) equals the op-level path', (_name, opts) => {
    const n0 = tf.memory().numTensors;
    const flow = createFlow(opts, new Random(2));
    expect(canFuse(flow.blocks[0]!.net)).toBe(true);
    const x = new Random(3).normal([40, opts.dim]);
    const a = flow.forward(x, solve(5, { fused: true }));
    const b = flow.forward(x, solve(5, { fused: false }));
    const d = {
      z: relDiff(a.z.dataSync(), b.z.dataSync()),
      logp: relDiff(a.deltaLogp.dataSync(), b.deltaLogp.dataSync()),
      ke: relDiff(a.regs['ke']!.dataSync(), b.regs['ke']!.dataSync()),
      jf: relDiff(a.regs['jf']!.dataSync(), b.regs['jf']!.dataSync()),
    };
    console.log(`[fused] ${_name}: rel. diff z ${d.z.toExponential(1)}, Δlogp ${d.logp.toExponential(1)}, KE ${d.ke.toExponential(1)}, JF ${d.jf.toExponential(1)}`);
    for (const v of Object.values(d)) expect(v).toBeLessThan(2e-5);
    expect(a.stats.nfe).toBe(b.stats.nfe);
    a.dispose();
    b.dispose();
    x.dispose();
    flow.dispose();
    expect(tf.memory().numTensors).toBe(n0);
  });

  it.each(nets)('%s: loss and parameter gradients through the adjoint (and backprop) equal the op-level path', (_name, opts) => {
    const n0 = tf.memory().numTensors;
    for (const adjoint of ['backsolve', 'backprop'] as const) {
      const a = lossAndGrads(opts, true, adjoint);
      const b = lossAndGrads(opts, false, adjoint);
      const dg = relDiff(a.g, b.g);
      console.log(`[fused] ${_name} ${adjoint}: loss ${a.v.toFixed(6)} vs ${b.v.toFixed(6)}, gradient rel. diff ${dg.toExponential(2)}`);
      expect(Math.abs(a.v - b.v)).toBeLessThan(1e-5 * Math.max(1, Math.abs(b.v)));
      expect(dg).toBeLessThan(1e-4);
      expect(a.g.some((v) => v !== 0)).toBe(true);
    }
    expect(tf.memory().numTensors).toBe(n0);
  });

  it('a regularizer without a fused form: the probe op and its gradient (cotangent on εᵀJ) equal the op-level path', () => {
    const n0 = tf.memory().numTensors;
    const custom = defineRegularizer({ name: 'custom', uses: ['eps-vjp'], rate: ({ epsJ, f }) => tf.add(tf.sum(tf.square(epsJ!), 1), tf.sum(tf.abs(f), 1)) });
    const run = (fused: boolean) => {
      const flow = createFlow({ dim: 2, hidden: [12, 12], zeroLast: 'none' }, new Random(8));
      const x = new Random(9).normal([32, 2]);
      const { value, grads } = tf.variableGrads(() => {
        const out = flow.forward(x, { method: 'rk38', stepSize: 0.25, estimator: hutchinsonGaussianEstimator, regularizers: [custom], noiseRng: new Random(3), fused });
        return tf.add(tf.mean(out.deltaLogp), tf.mul(0.1, tf.mean(out.regs['custom']!))) as tf.Scalar;
      }, flow.params);
      const g = flow.params.flatMap((p) => Array.from(grads[p.name]!.dataSync()));
      const v = value.dataSync()[0]!;
      tf.dispose([value, x, ...Object.values(grads)]);
      flow.dispose();
      return { v, g };
    };
    const a = run(true);
    const b = run(false);
    const d = relDiff(a.g, b.g);
    console.log(`[fused] probe path with a custom regularizer: loss ${a.v.toFixed(6)} vs ${b.v.toFixed(6)}, gradient rel. diff ${d.toExponential(2)}`);
    expect(Math.abs(a.v - b.v)).toBeLessThan(1e-5 * Math.max(1, Math.abs(b.v)));
    expect(d).toBeLessThan(1e-4);
    expect(tf.memory().numTensors).toBe(n0);
  });

  it('the probe op: outputs are consistent (div = Σ g·ε, kin = Σ f², frob = Σ g²) and it is one kernel', () => {
    const flow = createFlow({ dim: 2, hidden: [8], zeroLast: 'none' }, new Random(1));
    const net = flow.blocks[0]!.net;
    const theta = packNetParams(net);
    const z = new Random(5).normal([10, 2]);
    const e = new Random(6).normal([10, 2]);
    const p = cnfMlpProbe({ dims: [2, 8, 2], kind: 'concatsquash' }, theta, 0.3, z, e);
    const ref = net.vjp(0.3, z, e);
    expect(relDiff(p.f.dataSync(), ref.f.dataSync())).toBeLessThan(1e-6);
    expect(relDiff(p.vjp.dataSync(), ref.vjp.dataSync())).toBeLessThan(1e-5);
    const chk = tf.tidy(() => [tf.sum(tf.mul(p.vjp, e), 1), tf.sum(tf.square(p.f), 1), tf.sum(tf.square(p.vjp), 1)]);
    expect(relDiff(p.vDotVjp.dataSync(), chk[0]!.dataSync())).toBeLessThan(1e-5);
    expect(relDiff(p.fSquaredSum.dataSync(), chk[1]!.dataSync())).toBeLessThan(1e-5);
    expect(relDiff(p.vjpSquaredSum.dataSync(), chk[2]!.dataSync())).toBeLessThan(1e-5);
    expect(tf.getKernel(CNF_MLP_PROBE, tf.getBackend())).toBeDefined();
    tf.dispose([theta, z, e, ref.f, ref.vjp, ...chk, ...Object.values(p)]);
    flow.dispose();
  });

  it('softplus nets and learned T stay on the op-level path', () => {
    const a = createFlow({ dim: 2, hidden: [4], activation: 'softplus' }, new Random(1));
    expect(canFuse(a.blocks[0]!.net)).toBe(false);
    a.dispose();
  });
});
