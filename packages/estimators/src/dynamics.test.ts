import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import * as tf from '@tensorflow/tfjs-core';
import { Random, has, isRnodeError } from '@rnode/core';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { registerBuiltinEstimators, resolveEstimator, resolveRegularizer } from './builtins.js';
import { cnfDynamics, cnfInitialState } from './dynamics.js';
import { hutchinson } from './estimators.js';
import {
  defineRegularizer,
  jacobianFrobenius,
  jacobianFrobeniusRegularizer,
  kineticEnergy,
  kineticEnergyRegularizer,
} from './regularizers.js';
import { checkRegularizer, testField } from './testing/index.js';
import type { EstimatorPlugin, VectorField } from './types.js';

let before = 0;
beforeEach(() => {
  before = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors).toBe(before);
});
const read = (t: tf.Tensor) => {
  const v = Array.from(t.dataSync());
  t.dispose();
  return v;
};
/** cnfInitialState clones z; free the draw. */
function init(z: tf.Tensor, regs: Parameters<typeof cnfInitialState>[1] = []) {
  const s = cnfInitialState(z, regs);
  z.dispose();
  return s;
}
const disposeState = (s: Record<string, tf.Tensor>) => tf.dispose(Object.values(s));

describe('cnfDynamics on a linear field f(z) = zA', () => {
  const D = 4;
  const B = 3;
  test('d logp/dt = −tr(A) (exact), kinetic energy = mean(f²), JF = ‖A‖²_F / D', () => {
    const rng = new Random(21);
    const A = rng.normal([D, D]);
    const a = A.arraySync() as number[][];
    const trace = a.reduce((s, row, i) => s + row[i]!, 0);
    const frob = a.flat().reduce((s, x) => s + x * x, 0);
    const field: VectorField = (_t, z) => tf.matMul(z as tf.Tensor2D, A);
    const y = init(rng.normal([B, D]), ['kinetic-energy', 'jacobian-frobenius']);
    const dyn = cnfDynamics({ field, estimator: 'exact', regularizers: ['kinetic-energy', 'jacobian-frobenius'] });
    const d = dyn(0.3, y);
    expect(Object.keys(d)).toEqual(['z', 'logp', 'kinetic-energy', 'jacobian-frobenius']);
    read(d.logp!).forEach((v) => expect(v).toBeCloseTo(-trace, 4));
    const f = d.z!.arraySync() as number[][];
    const ke = read(d['kinetic-energy']!);
    f.forEach((row, i) => expect(ke[i]).toBeCloseTo(row.reduce((s, x) => s + x * x, 0) / D, 4));
    read(d['jacobian-frobenius']!).forEach((v) => expect(v).toBeCloseTo(frob / D, 4));
    disposeState(d);
    disposeState(y);
    A.dispose();
  });
  test('hutchinson: d logp/dt = −Σ εᵀAᵀ ⊙ ε; kineticEnergy({ scale: 0.5, reduction: "sum" }) = ½‖f‖²', () => {
    const rng = new Random(22);
    const A = rng.normal([D, D]);
    const field: VectorField = (_t, z) => tf.matMul(z as tf.Tensor2D, A);
    const est = resolveEstimator('hutchinson');
    const y = init(rng.normal([B, D]));
    const noise = est.sampleNoise(y.z!.shape, rng)!;
    const half = kineticEnergy({ scale: 0.5, reduction: 'sum', name: 'ke-half' });
    const dyn = cnfDynamics({ field, estimator: est, regularizers: [half], noise });
    const d = dyn(0, y);
    // f = zA, so εᵀ∂f/∂z = ε Aᵀ and the estimate is Σ_j (ε Aᵀ)_j ε_j.
    const want = read(tf.tidy(() => tf.sum(tf.mul(tf.matMul(noise as tf.Tensor2D, A, false, true), noise), 1)));
    read(d.logp!).forEach((v, i) => expect(v).toBeCloseTo(-want[i]!, 4));
    const f = d.z!.arraySync() as number[][];
    read(d['ke-half']!).forEach((v, i) => expect(v).toBeCloseTo(0.5 * f[i]!.reduce((s, x) => s + x * x, 0), 4));
    disposeState(d);
    disposeState(y);
    tf.dispose([A, noise]);
  });
});

test('the noise is drawn once per solve, never per evaluation', () => {
  let draws = 0;
  const base = hutchinson();
  const counting: EstimatorPlugin = {
    ...base,
    name: 'counting-hutchinson',
    sampleNoise: (shape, rng) => {
      draws++;
      return base.sampleNoise(shape, rng);
    },
  };
  const { field, dispose } = testField({ dims: 3 });
  const rng = new Random(1);
  const y = init(rng.normal([5, 3]), ['jacobian-frobenius']);
  const noise = counting.sampleNoise(y.z!.shape, rng);
  const dyn = cnfDynamics({ field, estimator: counting, regularizers: ['jacobian-frobenius'], noise });
  const first = dyn(0.5, y);
  const firstLogp = read(first.logp!);
  disposeState(first);
  for (let i = 0; i < 10; i++) {
    const d = dyn(0.5, y);
    expect(read(d.logp!)).toEqual(firstLogp); // same probe → identical estimate
    disposeState(d);
  }
  expect(draws).toBe(1);
  disposeState(y);
  noise?.dispose();
  dispose();
});

test('no leaks over 100 evaluations with parameter gradients', () => {
  const { field, params, dispose } = testField({ dims: 3, activation: 'softplus' });
  const rng = new Random(2);
  const y = init(rng.normal([4, 3]), ['kinetic-energy', 'jacobian-frobenius']);
  const est = resolveEstimator('hutchinson-rademacher');
  const noise = est.sampleNoise(y.z!.shape, rng);
  const dyn = cnfDynamics({ field, estimator: est, regularizers: ['kinetic-energy', 'jacobian-frobenius'], noise });
  const n0 = tf.memory().numTensors;
  for (let i = 0; i < 100; i++) {
    const { value, grads } = tf.variableGrads(
      () =>
        tf.tidy(() => {
          const d = dyn(i / 100, y);
          return tf.sum(tf.add(tf.add(d.logp!, d['kinetic-energy']!), d['jacobian-frobenius']!)) as tf.Scalar;
        }),
      params,
    );
    const g = Object.values(grads);
    expect(g.length).toBe(params.length);
    tf.dispose([value, ...g]);
  }
  expect(tf.memory().numTensors).toBe(n0);
  disposeState(y);
  noise?.dispose();
  dispose();
});

describe('registry and validation errors', () => {
  test('built-ins register lazily and idempotently', () => {
    registerBuiltinEstimators();
    registerBuiltinEstimators();
    expect(has('estimator', 'hutchinson-rademacher')).toBe(true);
    expect(resolveRegularizer('kinetic-energy')).toBe(kineticEnergyRegularizer);
    expect(resolveRegularizer('jacobian-frobenius')).toBe(jacobianFrobeniusRegularizer);
  });
  test('unknown names list the registered ones', () => {
    let err: unknown;
    try {
      // @ts-expect-error a misspelt name is a type error too; here it is passed anyway, for the run-time check
      resolveEstimator('hutchinsn');
    } catch (e) {
      err = e;
    }
    expect(isRnodeError(err, 'PLUGIN_NOT_FOUND')).toBe(true);
    expect((err as Error).message).toMatch(/exact, hutchinson, hutchinson-rademacher/);
    // @ts-expect-error a misspelt name is a type error too; here it is passed anyway, for the run-time check
    expect(() => resolveRegularizer('JFrobint')).toThrow(/kinetic-energy, jacobian-frobenius/);
  });
  test('defineRegularizer validates its definition', () => {
    const rate = () => tf.zeros([1]);
    expect(() => defineRegularizer({ name: 'Bad Name', rate })).toThrow(/kebab-case/);
    expect(() => defineRegularizer({ name: 'logp', rate })).toThrow(/reserved/);
    expect(() => defineRegularizer({ name: 'x', rate: 3 as never })).toThrow(/must be a function/);
    expect(() => defineRegularizer({ name: 'x', uses: ['jvp' as 'eps-vjp'], rate })).toThrow(/"uses"/);
    expect(() => defineRegularizer({ name: 'x', rate, weight: 1 } as never)).toThrow(/unknown option "weight"/);
    expect(() => kineticEnergy({ scale: -1 })).toThrow(/non-negative/);
    expect(() => jacobianFrobenius({ reduction: 'max' as 'sum' })).toThrow(/'mean' or 'sum'/);
  });
  test('eps-vjp regularizers need a Hutchinson estimator unless they have an exact fallback', () => {
    const { field, dispose } = testField();
    const epsOnly = defineRegularizer({ name: 'eps-only', uses: ['eps-vjp'], rate: ({ epsJ }) => tf.sum(epsJ!, 1) });
    expect(() => cnfDynamics({ field, estimator: 'exact', regularizers: [epsOnly] })).toThrow(/draws no probe/);
    expect(() => cnfDynamics({ field, estimator: 'exact', regularizers: ['jacobian-frobenius'] })).not.toThrow();
    expect(() => cnfDynamics({ field, estimator: 'exact', regularizers: ['kinetic-energy', kineticEnergy()] })).toThrow(
      /two state entries named "kinetic-energy"/,
    );
    expect(() => cnfDynamics({ field, estimator: 'exact', noize: null } as never)).toThrow(/unknown option "noize"/);
    dispose();
  });
});

describe('checkRegularizer', () => {
  test.each([[kineticEnergyRegularizer], [jacobianFrobeniusRegularizer], [kineticEnergy({ scale: 0.5 })]])('%s', (plugin) => {
    const report = checkRegularizer(plugin);
    expect(report.failures).toEqual([]);
  });
  test('jacobian-frobenius with the exact estimator', () => {
    const report = checkRegularizer(jacobianFrobeniusRegularizer, { estimator: resolveEstimator('exact') });
    expect(report.failures).toEqual([]);
  });
  test('reports a broken regularizer', () => {
    const broken = defineRegularizer({ name: 'broken', rate: ({ f }) => tf.sum(f) });
    const report = checkRegularizer(broken);
    expect(report.ok).toBe(false);
    expect(report.failures.join('\n')).toMatch(/rate shape/);
  });
});
