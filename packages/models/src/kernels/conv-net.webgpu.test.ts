// The fused conv CNF kernels on WebGPU (webgpu project only; dawn.node on SwiftShader here)
// against the op-level conv net (`ConvOdeNet.vjp` and tfjs's gradients of it) on tfjs's cpu
// backend: the probe (f, εᵀ∂f/∂z, the three sums), the rates' scaling, the adjoint's dz and dθ
// with every cotangent, sign −1, the forward outputs and the extra zeros, a subset of cotangents
// with sign +1, and the probe op's gradient through the tape; then an image flow's RNODE loss and
// gradients fused vs op-level on webgpu, and the dispatches one evaluation takes.
import * as tf from '@tensorflow/tfjs-core';
import { Random, useBackend } from '@rnode/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createConvOdeNet, createImageFlow, type ConvOdeNetConfig } from '../index.js';
import { CONV_CNF_ADJOINT, CONV_CNF_RATES, canFuse, fusedNetField, packNetParams } from './fused.js';
import { relDiff, rnodeLossAndGrads } from './reference.js';

const gpu = process.env['RNODE_BACKEND'] === 'webgpu';
const read = async (t: tf.Tensor) => Array.from(await t.data());

interface Case {
  config: Partial<ConvOdeNetConfig> & { channels: number };
  B: number;
  H: number;
  W: number;
}

/** Inputs and cotangents as plain arrays (the same on every backend). */
function inputs({ config, B, H, W }: Case) {
  const r = new Random('conv-wgsl-inputs');
  const n = B * H * W * config.channels;
  const arr = (k: number) => Array.from(r.normalArray(k));
  return { z: arr(n), e: arr(n), cot: { f: arr(n), g: arr(n), div: arr(B), kin: arr(B), frob: arr(B) } };
}

const C = { cDiv: -1.5, cKin: 0.25, cFrob: 2 };

/** The op-level reference on tfjs's cpu backend: probe outputs and ∂ℓ/∂z, ∂ℓ/∂θ of ℓ = Σ cot·outputs. */
async function reference(k: Case, cot: Partial<Record<'f' | 'g' | 'div' | 'kin' | 'frob', number[]>>) {
  await useBackend('cpu');
  const net = createConvOdeNet({ zeroLast: 'none', ...k.config }, new Random('conv-wgsl-net'));
  const { z, e } = inputs(k);
  const shape = [k.B, k.H, k.W, k.config.channels];
  const zt = tf.tensor(z, shape);
  const et = tf.tensor(e, shape);
  const theta = tf.tidy(() => tf.concat(net.params.map((p) => tf.reshape(p, [-1]))));
  const sums = (f: tf.Tensor, g: tf.Tensor) => [tf.sum(tf.mul(g, et), [1, 2, 3]), tf.sum(tf.square(f), [1, 2, 3]), tf.sum(tf.square(g), [1, 2, 3])];
  const p = net.vjp(0.37, zt, et);
  const [div, kin, frob] = sums(p.f, p.vjp);
  const fwd = { f: await read(p.f), g: await read(p.vjp), div: await read(div!), kin: await read(kin!), frob: await read(frob!) };
  tf.dispose([p.f, p.vjp, div!, kin!, frob!]);
  const loss = (zv: tf.Tensor) => {
    const q = net.vjp(0.37, zv, et);
    const [d, kk, fr] = sums(q.f, q.vjp);
    const terms: tf.Tensor[] = [];
    const add = (x: tf.Tensor, c: number[] | undefined, s: number[]) => c && terms.push(tf.sum(tf.mul(x, tf.tensor(c, s))));
    add(q.f, cot.f, shape);
    add(q.vjp, cot.g, shape);
    add(d!, cot.div, [k.B]);
    add(kk!, cot.kin, [k.B]);
    add(fr!, cot.frob, [k.B]);
    return tf.addN(terms) as tf.Scalar;
  };
  const { grads } = tf.variableGrads(() => loss(zt), net.params);
  const dz = tf.grad(loss)(zt);
  const dtheta: number[] = [];
  for (const v of net.params) dtheta.push(...(await read(grads[v.name]!)));
  const out = { ...fwd, theta: await read(theta), dz: await read(dz), dtheta };
  tf.dispose([zt, et, theta, dz, ...Object.values(grads)]);
  net.dispose();
  return out;
}

describe.skipIf(!gpu)('fused conv CNF kernels in WGSL (webgpu)', () => {
  afterAll(async () => {
    await useBackend('webgpu');
  });

  const cases: Array<[string, Case]> = [
    ['softplus 2→5→7→2 on 6×5 (the RNODE net, narrow)', { config: { channels: 2, hidden: [5, 7], activation: 'softplus' }, B: 3, H: 6, W: 5 }],
    ['tanh 3→4→3 on 4×4', { config: { channels: 3, hidden: [4], activation: 'tanh' }, B: 2, H: 4, W: 4 }],
    ['softplus 1→1 (no hidden layer) on 3×7', { config: { channels: 1, hidden: [], activation: 'softplus' }, B: 2, H: 3, W: 7 }],
  ];

  it.each(cases)('%s: probe, rates and the adjoint against the op-level net on cpu', async (_n, k) => {
    const { z, e, cot } = inputs(k);
    const scaled = { f: cot.f, g: cot.g, div: cot.div.map((v) => C.cDiv * v), kin: cot.kin.map((v) => C.cKin * v), frob: cot.frob.map((v) => C.cFrob * v) };
    const ref = await reference(k, scaled);
    const ref2 = await reference(k, { f: cot.f, kin: scaled.kin });
    const ref3 = await reference(k, cot);

    await useBackend('webgpu');
    const net = createConvOdeNet({ zeroLast: 'none', ...k.config }, new Random('conv-wgsl-net'));
    expect(canFuse(net)).toBe(true);
    const n0 = tf.memory().numTensors;
    const shape = [k.B, k.H, k.W, k.config.channels];
    const th = packNetParams(net);
    expect(relDiff(await read(th), ref.theta)).toBe(0);
    const zt = tf.tensor(z, shape);
    const et = tf.tensor(e, shape);
    const field = fusedNetField(net, th);

    const p = field.probe!(0.37, zt, et);
    expect(relDiff(await read(p.f), ref.f)).toBeLessThan(1e-5);
    expect(relDiff(await read(p.vjp), ref.g)).toBeLessThan(1e-5);
    expect(relDiff(await read(p.vDotVjp), ref.div)).toBeLessThan(1e-5);
    expect(relDiff(await read(p.fSquaredSum), ref.kin)).toBeLessThan(1e-5);
    expect(relDiff(await read(p.vjpSquaredSum), ref.frob)).toBeLessThan(1e-5);
    tf.dispose(Object.values(p));

    const attrs = { t: 0.37, dims: [k.config.channels, ...k.config.hidden!, k.config.channels], activation: k.config.activation };
    const rates = tf.engine().runKernel(CONV_CNF_RATES, { z: zt, e: et, theta: th } as never, { ...attrs, ...C } as never) as unknown as tf.Tensor[];
    expect(relDiff(await read(rates[0]!), ref.f)).toBeLessThan(1e-5);
    expect(relDiff(await read(rates[1]!), ref.div.map((v) => C.cDiv * v))).toBeLessThan(1e-5);
    expect(relDiff(await read(rates[2]!), ref.kin.map((v) => C.cKin * v))).toBeLessThan(1e-5);
    expect(relDiff(await read(rates[3]!), ref.frob.map((v) => C.cFrob * v))).toBeLessThan(1e-5);
    tf.dispose(rates);

    // every cotangent, scaled sums, sign −1, the forward outputs and two zero outputs
    const cts = { az: tf.tensor(cot.f, shape), ag: tf.tensor(cot.g, shape), adiv: tf.tensor1d(cot.div), akin: tf.tensor1d(cot.kin), afrob: tf.tensor1d(cot.frob) };
    const outs = tf.engine().runKernel(CONV_CNF_ADJOINT, { z: zt, e: et, theta: th, ...cts } as never, { ...attrs, ...C, sign: -1, withForward: true, zeros: 2 } as never) as unknown as tf.Tensor[];
    expect(outs).toHaveLength(8);
    expect(relDiff(await read(outs[0]!), ref.f)).toBeLessThan(1e-5);
    expect(relDiff(await read(outs[3]!), ref.frob.map((v) => C.cFrob * v))).toBeLessThan(1e-5);
    expect(relDiff(await read(outs[4]!), ref.dz.map((v) => -v))).toBeLessThan(1e-4);
    expect(relDiff(await read(outs[5]!), ref.dtheta.map((v) => -v))).toBeLessThan(1e-4);
    expect(await read(outs[6]!)).toEqual(new Array(k.B).fill(0));
    expect(await read(outs[7]!)).toEqual(new Array(k.B).fill(0));
    tf.dispose(outs);

    // only some cotangents, no forward outputs, sign +1
    const outs2 = tf.engine().runKernel(CONV_CNF_ADJOINT, { z: zt, e: et, theta: th, az: cts.az, akin: cts.akin } as never, { ...attrs, ...C, sign: 1, withForward: false, zeros: 0 } as never) as unknown as tf.Tensor[];
    expect(outs2).toHaveLength(2);
    expect(relDiff(await read(outs2[0]!), ref2.dz)).toBeLessThan(1e-4);
    expect(relDiff(await read(outs2[1]!), ref2.dtheta)).toBeLessThan(1e-4);
    tf.dispose(outs2);

    // the probe op's gradient through the tape
    const loss = (thv: tf.Tensor, zv: tf.Tensor) => {
      const q = fusedNetField(net, thv).probe!(0.37, zv, et);
      return tf.addN([tf.sum(tf.mul(q.f, cts.az)), tf.sum(tf.mul(q.vjp, cts.ag)), tf.sum(tf.mul(q.vDotVjp, cts.adiv)), tf.sum(tf.mul(q.fSquaredSum, cts.akin)), tf.sum(tf.mul(q.vjpSquaredSum, cts.afrob))]) as tf.Scalar;
    };
    const [gth, gz] = tf.grads(loss)([th, zt]);
    expect(relDiff(await read(gth!), ref3.dtheta)).toBeLessThan(1e-4);
    expect(relDiff(await read(gz!), ref3.dz)).toBeLessThan(1e-4);
    tf.dispose([gth!, gz!, th, zt, et, ...Object.values(cts)]);
    expect(tf.memory().numTensors).toBe(n0);
    net.dispose();
  });

  it('an image flow: the fused solve (RK4, KE + JF, continuous adjoint) equals the op-level one, loss and gradients', async () => {
    await useBackend('webgpu');
    const run = (fused: boolean) => {
      const flow = createImageFlow({ height: 4, width: 4, channels: 1, scales: 2, blocksPerScale: 1, hidden: [6, 6], zeroLast: 'none' }, new Random(4));
      expect(canFuse(flow.blocks[0]!.net)).toBe(true);
      return rnodeLossAndGrads(flow, tf.tidy(() => tf.sigmoid(new Random(9).normal([3, 4, 4, 1]))), fused, 0.5);
    };
    const n0 = tf.memory().numTensors;
    const a = await run(true);
    const b = await run(false);
    expect(Math.abs(a.v - b.v) / Math.abs(b.v)).toBeLessThan(1e-5);
    expect(relDiff(a.g, b.g)).toBeLessThan(2e-4);
    expect(tf.memory().numTensors).toBe(n0);
  });
});
