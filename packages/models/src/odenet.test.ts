import * as tf from '@tensorflow/tfjs-core';
import { Random, type ActivationName } from '@rnode/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createOdeNet, createTimeLayer, type LayerKind } from './index.js';
import { checkOdeNetVjp } from './testing/index.js';

const LAYERS: LayerKind[] = ['concat', 'concatsquash', 'ignore'];
const ACTS: ActivationName[] = ['softplus', 'tanh', 'elu', 'swish', 'sigmoid', 'identity'];

describe('ODE net explicit VJP', () => {
  const worst = { vjp: 0, fd: 0 };
  afterAll(() => console.log(`worst explicit-vs-autodiff VJP error ${worst.vjp.toExponential(2)}, worst parameter-gradient vs FD relative error ${worst.fd.toExponential(2)}`));
  // FD: central differences along 3 random unit-norm parameter directions, step 1e-2 (float32);
  // relative tolerance 1e-2 (observed ~1e-4 … 1e-3).
  for (const layer of LAYERS) {
    for (const activation of ACTS) {
      it(`${layer} × ${activation}: vjp = autodiff, parameter gradient of the VJP loss = finite differences`, () => {
        const before = tf.memory().numTensors;
        const net = createOdeNet({ inputDim: 3, hidden: [7, 5], layer, activation, zeroLast: 'none' }, new Random(`${layer}-${activation}`));
        const r = checkOdeNetVjp(net, { batch: 4, t: 0.37 });
        net.dispose();
        expect(r.fError).toBeLessThan(1e-6);
        expect(r.vjpError).toBeLessThan(1e-5);
        expect(r.paramGradError, JSON.stringify(r.pairs)).toBeLessThan(1e-2);
        worst.vjp = Math.max(worst.vjp, r.vjpError);
        worst.fd = Math.max(worst.fd, r.paramGradError);
        expect(tf.memory().numTensors).toBe(before);
      });
    }
  }
});

describe('layers', () => {
  it('initialise like nn.Linear, deterministic, named, no leaks', () => {
    const before = tf.memory().numTensors;
    const a = createTimeLayer({ kind: 'concatsquash', inDim: 4, outDim: 3 }, new Random(1));
    const b = createTimeLayer({ kind: 'concatsquash', inDim: 4, outDim: 3 }, new Random(1));
    expect(a.paramNames).toEqual(['layer/W', 'layer/b', 'layer/Wg', 'layer/bg', 'layer/Wb']);
    expect(a.params.map((p) => p.shape)).toEqual([[4, 3], [1, 3], [1, 3], [1, 3], [1, 3]]);
    a.params.forEach((p, i) => expect(Array.from(p.dataSync())).toEqual(Array.from(b.params[i]!.dataSync())));
    expect(a.params[0]!.name).not.toBe(b.params[0]!.name);
    const W = a.params[0]!.dataSync();
    expect(Math.max(...Array.from(W).map(Math.abs))).toBeLessThanOrEqual(0.5);
    const c = createTimeLayer({ kind: 'concat', inDim: 3, outDim: 2 }, new Random(2));
    expect(Math.max(...Array.from(c.params[0]!.dataSync()).map(Math.abs))).toBeLessThanOrEqual(0.5); // 1/√(3+1)
    a.dispose();
    b.dispose();
    c.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('FFJORD semantics: concat = [t, x]·[w_t; W] + b, concatsquash = (xW + b)σ(W_g t + b_g) + W_b t', () => {
    const before = tf.memory().numTensors;
    const rng = new Random(3);
    const t = 0.6;
    const x = rng.normal([3, 2]);
    const cat = createTimeLayer({ kind: 'concat', inDim: 2, outDim: 4 }, rng);
    const sq = createTimeLayer({ kind: 'concatsquash', inDim: 2, outDim: 4 }, rng);
    const ign = createTimeLayer({ kind: 'ignore', inDim: 2, outDim: 4 }, rng);
    tf.tidy(() => {
      const [W, b, wt] = cat.params as [tf.Variable, tf.Variable, tf.Variable];
      const ref1 = tf.add(tf.matMul(tf.concat([tf.fill([3, 1], t), x], 1), tf.concat([wt, W], 0)), b);
      const [W2, b2, Wg, bg, Wb] = sq.params as [tf.Variable, tf.Variable, tf.Variable, tf.Variable, tf.Variable];
      const ref2 = tf.add(tf.mul(tf.add(tf.matMul(x, W2), b2), tf.sigmoid(tf.add(tf.mul(Wg, t), bg))), tf.mul(Wb, t));
      const ref3 = tf.add(tf.matMul(x, ign.params[0]!), ign.params[1]!);
      for (const [l, ref] of [[cat, ref1], [sq, ref2], [ign, ref3]] as const) {
        const y = l.forward(t, x);
        expect(tf.max(tf.abs(tf.sub(y, ref))).dataSync()[0]).toBeLessThan(1e-6);
        // layer vjp = autodiff
        const dy = tf.onesLike(y);
        const auto = tf.grad((u: tf.Tensor) => tf.sum(tf.mul(l.forward(t, u), dy)))(x);
        expect(tf.max(tf.abs(tf.sub(l.vjp(t, x, dy), auto))).dataSync()[0]).toBeLessThan(1e-6);
      }
    });
    [cat, sq, ign].forEach((l) => l.dispose());
    x.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("zeroLast 'weight' gives f = its bias at init, 'all' gives f = 0; 'weight' is the default", () => {
    const before = tf.memory().numTensors;
    const rng = new Random(4);
    const z = rng.normal([5, 2]);
    tf.tidy(() => {
      for (const layer of LAYERS) {
        const w = createOdeNet({ inputDim: 2, hidden: [8], layer }, rng);
        expect(w.config.zeroLast).toBe('weight');
        const last = w.layers[w.layers.length - 1]!;
        // concat / ignore: f = b; concatsquash: f = b ⊙ σ(W_g t + b_g) (its time-gated bias)
        const expected = last.affine(0.3).c;
        const f = w(0.3, z);
        expect(tf.max(tf.abs(tf.sub(f, tf.tile(expected, [5, 1])))).dataSync()[0]).toBeLessThan(1e-7);
        if (layer !== 'concatsquash') expect(Array.from(tf.reshape(expected, [-1]).dataSync())).toEqual(Array.from(last.params[1]!.dataSync()));
        expect(tf.max(tf.abs(f)).dataSync()[0]).toBeGreaterThan(0);
        const a = createOdeNet({ inputDim: 2, hidden: [8], layer, zeroLast: 'all' }, rng);
        expect(tf.max(tf.abs(a(0.3, z))).dataSync()[0]).toBe(0);
        w.dispose();
        a.dispose();
      }
    });
    z.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects bad configs with INVALID_OPTIONS naming the option', () => {
    const rng = new Random(0);
    expect(() => createOdeNet({ inputDim: 2, activation: 'relu' as ActivationName }, rng)).toThrow(/activation/);
    expect(() => createOdeNet({ inputDim: 2, layer: 'hyper' as LayerKind }, rng)).toThrow(/layer/);
    expect(() => createOdeNet({ inputDim: 0 }, rng)).toThrow(/inputDim/);
    expect(() => createOdeNet({ inputDim: 2, hidden: [3, -1] }, rng)).toThrow(/hidden/);
    expect(() => createOdeNet({ inputDim: 2, hiden: [3] } as never, rng)).toThrow(/hiden/);
  });
});
