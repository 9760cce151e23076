// The fused CNF kernels on WebGPU (webgpu project only; dawn.node on SwiftShader here): the WGSL
// shaders against the float64 reference (src/kernels/reference.ts) — forward, probe VJP and sums,
// the adjoint's dz and dθ with every cotangent, its scaling, sign and extra zeros — and the
// gradient of the probe op through tfjs's tape; the flow's fused solve equals its op-level solve.
import * as tf from '@tensorflow/tfjs-core';
import { Random } from '@rnode/core';
import { describe, expect, it } from 'vitest';
import { createFlow } from '../index.js';
import { CNF_ADJOINT, CNF_RATES, canFuse, cnfMlpProbe } from './fused.js';
import { refBackward, refForward, refParamCount, relDiff, rnodeLossAndGrads, type RefNet } from './reference.js';

const gpu = process.env['RNODE_BACKEND'] === 'webgpu';

const read = async (t: tf.Tensor) => Float32Array.from(await t.data());

function inputs(net: RefNet, B: number, seed: number) {
  const r = new Random(`wgsl-${seed}`);
  const D = net.dims[0]!;
  const P = refParamCount(net);
  const theta = Array.from(r.normalArray(P), (v) => 0.4 * v);
  const z = Array.from(r.normalArray(B * D));
  const e = Array.from(r.normalArray(B * D));
  const cot = {
    f: Array.from(r.normalArray(B * D)),
    g: Array.from(r.normalArray(B * D)),
    div: Array.from(r.normalArray(B)),
    kin: Array.from(r.normalArray(B)),
    frob: Array.from(r.normalArray(B)),
  };
  return { theta, z, e, cot, D, P };
}

describe.skipIf(!gpu)('fused CNF kernels in WGSL (webgpu)', () => {
  const nets: Array<[string, RefNet]> = [
    ['concatsquash 3→16→70→3 (a layer wider than a workgroup)', { dims: [3, 16, 70, 3], kind: 'concatsquash' }],
    ['concat 2→8→2', { dims: [2, 8, 2], kind: 'concat' }],
    ['ignore 4→5→6→4', { dims: [4, 5, 6, 4], kind: 'ignore' }],
  ];

  it.each(nets)('%s: probe, rates and the adjoint against the float64 reference', async (_n, net) => {
    expect(tf.getBackend()).toBe('webgpu');
    const n0 = tf.memory().numTensors;
    const B = 7;
    const t = 0.37;
    const { theta, z, e, cot, D } = inputs(net, B, net.dims.length);
    const th = tf.tensor1d(theta);
    const zt = tf.tensor2d(z, [B, D]);
    const et = tf.tensor2d(e, [B, D]);
    const ref = refForward(net, theta, t, z, e, B);

    const p = cnfMlpProbe(net, th, t, zt, et);
    expect(relDiff(await read(p.f), ref.f)).toBeLessThan(1e-5);
    expect(relDiff(await read(p.vjp), ref.g)).toBeLessThan(1e-5);
    expect(relDiff(await read(p.vDotVjp), ref.div)).toBeLessThan(1e-5);
    expect(relDiff(await read(p.fSquaredSum), ref.kin)).toBeLessThan(1e-5);
    expect(relDiff(await read(p.vjpSquaredSum), ref.frob)).toBeLessThan(1e-5);
    tf.dispose(Object.values(p));

    const c = { cDiv: -1.5, cKin: 0.25, cFrob: 2 };
    const attrs = { t, dims: [...net.dims], kind: net.kind };
    const rates = tf.engine().runKernel(CNF_RATES, { z: zt, e: et, theta: th } as never, { ...attrs, ...c } as never) as unknown as tf.Tensor[];
    expect(relDiff(await read(rates[0]!), ref.f)).toBeLessThan(1e-5);
    expect(relDiff(await read(rates[1]!), Array.from(ref.div, (v) => c.cDiv * v))).toBeLessThan(1e-5);
    expect(relDiff(await read(rates[2]!), Array.from(ref.kin, (v) => c.cKin * v))).toBeLessThan(1e-5);
    expect(relDiff(await read(rates[3]!), Array.from(ref.frob, (v) => c.cFrob * v))).toBeLessThan(1e-5);
    tf.dispose(rates);

    // the adjoint: every cotangent, scaled sums, sign −1, the forward outputs and two zero outputs
    const scaled = { f: cot.f, g: cot.g, div: cot.div.map((v) => c.cDiv * v), kin: cot.kin.map((v) => c.cKin * v), frob: cot.frob.map((v) => c.cFrob * v) };
    const rb = refBackward(net, theta, t, z, e, B, scaled);
    const cts = { az: tf.tensor2d(cot.f, [B, D]), ag: tf.tensor2d(cot.g, [B, D]), adiv: tf.tensor1d(cot.div), akin: tf.tensor1d(cot.kin), afrob: tf.tensor1d(cot.frob) };
    const outs = tf.engine().runKernel(CNF_ADJOINT, { z: zt, e: et, theta: th, ...cts } as never, { ...attrs, ...c, sign: -1, withForward: true, zeros: 2 } as never) as unknown as tf.Tensor[];
    expect(outs).toHaveLength(8);
    expect(relDiff(await read(outs[0]!), ref.f)).toBeLessThan(1e-5);
    expect(relDiff(await read(outs[1]!), Array.from(ref.div, (v) => c.cDiv * v))).toBeLessThan(1e-5);
    expect(relDiff(await read(outs[4]!), Array.from(rb.dz, (v) => -v))).toBeLessThan(1e-4);
    expect(relDiff(await read(outs[5]!), Array.from(rb.dtheta, (v) => -v))).toBeLessThan(1e-4);
    expect(Array.from(await read(outs[6]!))).toEqual(new Array(B).fill(0));
    expect(Array.from(await read(outs[7]!))).toEqual(new Array(B).fill(0));
    tf.dispose(outs);

    // only some cotangents, no forward outputs, sign +1 (a gradient)
    const rb2 = refBackward(net, theta, t, z, e, B, { f: cot.f, kin: scaled.kin });
    const outs2 = tf.engine().runKernel(CNF_ADJOINT, { z: zt, e: et, theta: th, az: cts.az, akin: cts.akin } as never, { ...attrs, ...c, sign: 1, withForward: false, zeros: 0 } as never) as unknown as tf.Tensor[];
    expect(outs2).toHaveLength(2);
    expect(relDiff(await read(outs2[0]!), rb2.dz)).toBeLessThan(1e-4);
    expect(relDiff(await read(outs2[1]!), rb2.dtheta)).toBeLessThan(1e-4);
    tf.dispose(outs2);

    // the probe op's gradient through the tape (the adjoint kernel with sign +1)
    const loss = (thv: tf.Tensor, zv: tf.Tensor) => {
      const q = cnfMlpProbe(net, thv, t, zv, et);
      return tf.addN([tf.sum(tf.mul(q.f, cts.az)), tf.sum(tf.mul(q.vjp, cts.ag)), tf.sum(tf.mul(q.vDotVjp, cts.adiv)), tf.sum(tf.mul(q.fSquaredSum, cts.akin)), tf.sum(tf.mul(q.vjpSquaredSum, cts.afrob))]) as tf.Scalar;
    };
    const [gth, gz] = tf.grads(loss)([th, zt]);
    const rb3 = refBackward(net, theta, t, z, e, B, cot);
    expect(relDiff(await read(gth!), rb3.dtheta)).toBeLessThan(1e-4);
    expect(relDiff(await read(gz!), rb3.dz)).toBeLessThan(1e-4);
    tf.dispose([gth!, gz!, th, zt, et, ...Object.values(cts)]);
    expect(tf.memory().numTensors).toBe(n0);
  });

  it('a 2-D flow: the fused solve (RK4, KE + JF, continuous adjoint) equals the op-level one, loss and gradients', async () => {
    const opts = { dim: 2, hidden: [16, 16], layer: 'concatsquash' as const, activation: 'tanh' as const, zeroLast: 'none' as const };
    const run = (fused: boolean) => {
      const flow = createFlow(opts, new Random(4));
      expect(canFuse(flow.blocks[0]!.net)).toBe(true);
      return rnodeLossAndGrads(flow, new Random(9).normal([48, 2]), fused, 0.25);
    };
    const n0 = tf.memory().numTensors;
    const a = await run(true);
    const b = await run(false);
    expect(Math.abs(a.v - b.v) / Math.abs(b.v)).toBeLessThan(1e-5);
    expect(relDiff(a.g, b.g)).toBeLessThan(2e-4);
    expect(tf.memory().numTensors).toBe(n0);
  });
});
