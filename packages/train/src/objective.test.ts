import * as tf from '@tensorflow/tfjs-core';
import { Random } from '@rnode/core';
import { sampleToy } from '@rnode/data';
import { cnfDynamics, cnfInitialState, jacobianFrobenius, kineticEnergy } from '@rnode/estimators';
import { odeint } from '@rnode/solvers';
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

test('objective terms equal a float64 reference for a linear field: z(T), Δlogp = −T·tr(A), KE = ∫‖zA‖², JF = T·‖εAᵀ‖²', () => {
  // dz/dt = zA (rows), so div f = tr(A) and εᵀ∂f/∂z = εAᵀ are constant: logp, JF have closed
  // forms, and z(t), ∫‖z(t)A‖² dt come from a float64 RK4 on a fine grid in plain JS.
  const n0 = tf.memory().numTensors;
  const A = [
    [-0.3, 0.8],
    [-0.5, 0.2],
  ];
  const B = 8;
  const T = 1;
  const rng = new Random(7);
  const z0T = rng.normal([B, 2]);
  const z0 = Array.from(z0T.dataSync());
  z0T.dispose();
  const At = tf.tensor2d(A);
  const field = (_t: number, z: tf.Tensor) => tf.matMul(z as tf.Tensor2D, At);
  const ke = kineticEnergy({ reduction: 'sum' });
  const jf = jacobianFrobenius({ reduction: 'sum' });
  const eps = new Random(8).normal([B, 2]);
  const f = cnfDynamics({ field, estimator: 'hutchinson', regularizers: [ke, jf], noise: eps });
  const zIn = tf.tensor2d(z0, [B, 2]);
  const y0 = cnfInitialState(zIn, [ke, jf]);
  const sol = odeint(f, y0, [0, T], { method: 'rk38', stepSize: 0.01 });
  const yT = sol.ys[1]!;
  const out = {
    z: yT.z as tf.Tensor2D,
    deltaLogp: yT.logp as tf.Tensor1D,
    regs: { [ke.name]: yT[ke.name] as tf.Tensor1D, [jf.name]: yT[jf.name] as tf.Tensor1D },
  };
  const vals = tf.tidy(() => {
    const t = rnodeObjective(out, { regularizers: [{ name: ke.name, weight: 0.3 }, { name: jf.name, weight: 0.7 }] });
    return tf.stack([t.loss, t.nll, ...t.regularizers]);
  });
  const [loss, nll, rk, rj] = Array.from(vals.dataSync()) as [number, number, number, number];

  // float64 reference
  const e = Array.from(eps.dataSync());
  const mulA = (x: number, y: number): [number, number] => [x * A[0]![0]! + y * A[1]![0]!, x * A[0]![1]! + y * A[1]![1]!];
  const sq = ([x, y]: [number, number]) => x * x + y * y;
  let refNll = 0;
  let refKe = 0;
  let refJf = 0;
  for (let b = 0; b < B; b++) {
    let z: [number, number] = [z0[2 * b]!, z0[2 * b + 1]!];
    let ker = 0;
    const n = 2000;
    const h = T / n;
    for (let k = 0; k < n; k++) {
      // RK4 on (z, ∫‖zA‖²) in float64
      const g = (p: [number, number]) => mulA(p[0], p[1]);
      const k1 = g(z);
      const k2 = g([z[0] + (h / 2) * k1[0], z[1] + (h / 2) * k1[1]]);
      const k3 = g([z[0] + (h / 2) * k2[0], z[1] + (h / 2) * k2[1]]);
      const k4 = g([z[0] + h * k3[0], z[1] + h * k3[1]]);
      ker += (h / 6) * (sq(k1) + 2 * sq(k2) + 2 * sq(k3) + sq(k4));
      z = [z[0] + (h / 6) * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0]), z[1] + (h / 6) * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])];
    }
    const eb: [number, number] = [e[2 * b]!, e[2 * b + 1]!];
    const eA = mulA(eb[0], eb[1]);
    const dlogp = -T * (eA[0] * eb[0] + eA[1] * eb[1]); // −∫ εᵀAε dt (Hutchinson with this ε)
    refNll += (dlogp + 0.5 * sq(z) + LOG_2PI) / B;
    refKe += ker / B;
    const eAT: [number, number] = [eb[0] * A[0]![0]! + eb[1] * A[0]![1]!, eb[0] * A[1]![0]! + eb[1] * A[1]![1]!]; // εᵀ∂f/∂z = (Aεᵀ)ᵀ
    refJf += (T * sq(eAT)) / B;
  }
  const close = (a: number, b: number, rtol = 1e-4) => expect(Math.abs(a - b)).toBeLessThanOrEqual(rtol * Math.max(1, Math.abs(b)));
  close(nll, refNll);
  close(rk, refKe);
  close(rj, refJf);
  close(loss, refNll + 0.3 * refKe + 0.7 * refJf);
  tf.dispose([vals, zIn, eps, At, ...Object.values(y0), ...sol.ys.flatMap((y) => Object.values(y))]);
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
