import * as tf from '@tensorflow/tfjs-core';
import { Random } from '@rnode/core';
import { sampleToy } from '@rnode/data';
import { jacobianFrobenius, kineticEnergy } from '@rnode/estimators';
import { expect, test } from 'vitest';
import { rnodeObjective } from './objective.js';
import { smallFlow } from './internal/test-flow.js';

const LOG_2PI = Math.log(2 * Math.PI);

test('with λ = 0 the objective is the mean NLL, −log N(z) + Δlogp, in nats (and /(D ln 2) in bits/dim)', () => {
  const n0 = tf.memory().numTensors;
  const flow = smallFlow(1);
  const x = tf.tensor2d(sampleToy('8gaussians', 32, new Random(1)), [32, 2]);
  const out = flow.forward(x, { method: 'rk38', stepSize: 0.25, estimator: 'exact' });
  const [loss, nll, bpd] = tf.tidy(() => {
    const t = rnodeObjective(out, { regularizers: [] });
    return [t.loss, t.nll, rnodeObjective(out, { regularizers: [], nllUnit: 'bits-per-dim' }).nll];
  }) as [tf.Scalar, tf.Scalar, tf.Scalar];
  const z = out.z.arraySync() as number[][];
  const dl = out.deltaLogp.arraySync() as number[];
  const manual = z.reduce((s, zi, i) => s + dl[i]! + 0.5 * (zi[0]! ** 2 + zi[1]! ** 2) + LOG_2PI, 0) / 32;
  expect(loss.dataSync()[0]).toBe(nll.dataSync()[0]);
  expect(nll.dataSync()[0]).toBeCloseTo(manual, 4);
  expect(bpd.dataSync()[0]).toBeCloseTo(manual / (2 * Math.LN2), 4);
  out.dispose();
  tf.dispose([loss, nll, bpd, x]);
  flow.dispose();
  expect(tf.memory().numTensors).toBe(n0);
});

test('regularizer integrals enter with their weights: loss = nll + λK·mean(KE) + λJ·mean(JF)', () => {
  const n0 = tf.memory().numTensors;
  const flow = smallFlow(2);
  const x = tf.tensor2d(sampleToy('pinwheel', 16, new Random(2)), [16, 2]);
  const ke = kineticEnergy({ reduction: 'sum' });
  const jf = jacobianFrobenius({ reduction: 'sum' });
  const out = flow.forward(x, { method: 'rk38', stepSize: 0.25, estimator: 'hutchinson', regularizers: [ke, jf], noiseRng: new Random(3) });
  const vals = tf.tidy(() => {
    const t = rnodeObjective(out, { regularizers: [{ name: ke.name, weight: 0.3 }, { name: jf.name, weight: 0.7 }] });
    return tf.stack([t.loss, t.nll, ...t.regularizers, tf.mean(out.regs[ke.name]!), tf.mean(out.regs[jf.name]!)]);
  });
  const [loss, nll, rk, rj, mk, mj] = Array.from(vals.dataSync());
  expect(rk).toBeGreaterThan(0);
  expect(rj).toBeGreaterThan(0);
  expect(rk).toBe(mk);
  expect(rj).toBe(mj);
  expect(loss!).toBeCloseTo(nll! + 0.3 * rk! + 0.7 * rj!, 5);
  out.dispose();
  tf.dispose([vals, x]);
  flow.dispose();
  expect(tf.memory().numTensors).toBe(n0);
});

test('gradients of the full RNODE loss: adjoint (backsolve) and backprop through RK4 agree', () => {
  const n0 = tf.memory().numTensors;
  const flow = smallFlow(3);
  const x = tf.tensor2d(sampleToy('8gaussians', 16, new Random(4)), [16, 2]);
  const grads = (adjoint: 'backsolve' | 'backprop') => {
    const { value, grads: g } = tf.variableGrads(() => {
      const out = flow.forward(x, {
        method: 'rk38',
        stepSize: 0.25,
        estimator: 'hutchinson',
        regularizers: ['kinetic-energy', 'jacobian-frobenius'],
        noiseRng: new Random(5),
        adjoint,
      });
      return rnodeObjective(out, { regularizers: [{ name: 'kinetic-energy', weight: 0.01 }, { name: 'jacobian-frobenius', weight: 0.01 }] }).loss;
    }, flow.params);
    const flat = flow.params.map((p) => Array.from(g[p.name]!.dataSync()));
    const v = value.dataSync()[0]!;
    tf.dispose([value, ...Object.values(g)]);
    return { v, flat };
  };
  const a = grads('backsolve');
  const b = grads('backprop');
  expect(a.v).toBeCloseTo(b.v, 5);
  let num = 0;
  let den = 0;
  a.flat.forEach((ga, i) =>
    ga.forEach((x, j) => {
      num = Math.max(num, Math.abs(x - b.flat[i]![j]!));
      den = Math.max(den, Math.abs(b.flat[i]![j]!));
    }),
  );
  expect(den).toBeGreaterThan(1e-3);
  expect(num / den).toBeLessThan(5e-3);
  x.dispose();
  flow.dispose();
  expect(tf.memory().numTensors).toBe(n0);
});
