import * as tf from '@tensorflow/tfjs-core';
import { Random } from '@rnode/core';
import { describe, expect, it } from 'vitest';
import { canFuse, createFlow, createImageFlow, type FlowForward, type FlowSolveOptions } from './index.js';

// The 2-D and the image flow walk their blocks differently (image: squeeze, factor-out) but
// every block goes through the one block solve (block-solve.ts), driven sync or async. These
// tests pin what that means: sync and async give the same bits in both directions, the inverse
// undoes the forward, gradients and failures leave no tensors behind.

const bits = (t: tf.Tensor): number[] => Array.from(new Uint32Array(new Float32Array(t.dataSync()).buffer));
const maxDiff = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(tf.reshape(a, [-1]), tf.reshape(b, [-1])))).dataSync()[0]!);
const forwardBits = (r: FlowForward) => ({ z: bits(r.z), deltaLogp: bits(r.deltaLogp), ke: bits(r.regs['kinetic-energy']!), jf: bits(r.regs['jacobian-frobenius']!), nfe: r.stats.nfe });

interface Case {
  name: string;
  /** Its blocks run on the fused kernels (dense tanh nets, on cpu and wasm). */
  fusable: boolean;
  make(): { flow: ReturnType<typeof createFlow> | ReturnType<typeof createImageFlow>; x: tf.Tensor; blocks: number };
}

const cases: Case[] = [
  {
    name: '2-D flow (2 blocks, dense tanh: fused θ on cpu/wasm)',
    fusable: true,
    make() {
      const flow = createFlow({ dim: 2, blocks: 2, hidden: [8, 8], activation: 'tanh', zeroLast: 'none', T: 0.5 }, new Random(11));
      return { flow, x: new Random(12).normal([6, 2]), blocks: 2 };
    },
  },
  {
    name: 'image flow (4×4×1, 2 scales: squeeze and factor-out)',
    fusable: false,
    make() {
      const flow = createImageFlow({ height: 4, width: 4, channels: 1, scales: 2, blocksPerScale: 1, hidden: [4], zeroLast: 'none', T: 0.5 }, new Random(13));
      return { flow, x: new Random(14).normal([3, 4, 4, 1]), blocks: 3 };
    },
  },
];

const opts = (seed: number): FlowSolveOptions => ({
  method: 'dopri5',
  rtol: 1e-6,
  atol: 1e-6,
  estimator: 'hutchinson',
  regularizers: ['kinetic-energy', 'jacobian-frobenius'],
  noiseRng: new Random(seed),
});

describe.each(cases)('one block solve: $name', ({ make, fusable }) => {
  it('sync = async to the bit, data → base and base → data; the inverse undoes the forward; no leaks', async () => {
    const before = tf.memory().numTensors;
    const { flow, x } = make();
    // data → base: forward (adjoint plugin), logProb (odeint) and forwardAsync (odeintAsync).
    const sync = flow.forward(x, opts(5));
    const async = await flow.forwardAsync(x, opts(5));
    expect(sync.stats.nfe).toBeGreaterThan(0);
    expect(forwardBits(async)).toEqual(forwardBits(sync));
    const lp = flow.logProb(x, opts(5));
    const lpAsync = await flow.logProbAsync(x, opts(5));
    expect(bits(lpAsync)).toEqual(bits(lp));
    // base → data
    const back = flow.inverse(sync.z, opts(5));
    const backAsync = await flow.inverseAsync(sync.z, opts(5));
    expect(bits(backAsync)).toEqual(bits(back));
    expect(back.shape).toEqual(x.shape);
    const moved = tf.tidy(() => maxDiff(tf.reshape(sync.z, x.shape), x));
    const err = maxDiff(back, x);
    expect(moved).toBeGreaterThan(1e-2); // the flow is not the identity…
    expect(err).toBeLessThan(1e-4); // …and the inverse undoes it
    tf.dispose([x, lp, lpAsync, back, backAsync]);
    sync.dispose();
    async.dispose();
    flow.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('under a tape the probe of every block (and the packed θ of a fused one) lives until the backward pass, then none is left', () => {
    const { flow, x, blocks } = make();
    // The 2-D blocks run on the fused kernels here: θ is packed per block per solve and kept
    // like the probe (the fused field reads it in the backward pass).
    const nets = flow.blocks.map((b) => b.net as { config: object; params: readonly tf.Tensor[] });
    expect(nets.filter((n) => canFuse(n)).length).toBe(fusable ? blocks : 0);
    const before = tf.memory().numTensors;
    /** Tensors a taped forward leaves alive until its backward pass (outputs, tape, kept for the adjoint). */
    const alive = (estimator: 'exact' | 'hutchinson') => {
      let n = -1;
      const g = tf.variableGrads(() => {
        const n0 = tf.memory().numTensors;
        const r = flow.forward(x, { ...opts(7), rtol: 1e-3, atol: 1e-3, estimator, adjoint: 'backsolve' });
        n = tf.memory().numTensors - n0;
        expect(r.stats.backward).toEqual({ nfe: 0, done: false });
        return tf.mean(tf.add(tf.add(r.deltaLogp, r.regs['jacobian-frobenius']!), tf.sum(tf.square(r.z), 1))) as tf.Scalar;
      }, flow.params);
      expect(Object.keys(g.grads)).toHaveLength(flow.params.length);
      tf.dispose([g.value, ...Object.values(g.grads)]);
      expect(tf.memory().numTensors).toBe(before);
      return n;
    };
    const exact = alive('exact');
    const hutchinson = alive('hutchinson');
    // Same states stored either way; Hutchinson adds one probe ε per block, kept for the backward solve.
    expect(hutchinson - exact).toBe(blocks);
    expect(hutchinson).toBeGreaterThan(0);
    x.dispose();
    flow.dispose();
  });

  it('a solve that fails mid-walk leaves no tensors (sync and async, both directions)', async () => {
    const before = tf.memory().numTensors;
    const { flow, x } = make();
    // rk4, two steps per block: the first block solves, the second fails on its first step
    // (after the image flow's squeeze when it walks data → base), and the walk disposes what it holds.
    let calls = 0;
    const onStep = () => {
      if (++calls > 2) throw new Error('stop');
    };
    const failing = (): FlowSolveOptions => ({ ...opts(9), method: 'rk4', stepSize: 0.25, onStep });
    const z = tf.tidy(() => tf.reshape(x, [x.shape[0]!, -1]));
    const n = tf.memory().numTensors;
    for (const run of [
      () => flow.forward(x, failing()),
      () => flow.forwardAsync(x, failing()),
      () => flow.inverse(z, failing()),
      () => flow.inverseAsync(z, failing()),
    ]) {
      calls = 0;
      await expect((async () => run())()).rejects.toThrow('stop');
      expect(calls).toBe(3);
      expect(tf.memory().numTensors).toBe(n);
    }
    tf.dispose([x, z]);
    flow.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
