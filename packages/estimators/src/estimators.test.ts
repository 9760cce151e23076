// tfjs-core registers no gradients by itself; load them as an app would (@tensorflow/tfjs does this).
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import * as tf from '@tensorflow/tfjs-core';
import { Random, isRnodeError, safeTanh } from '@rnode/core';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { exactEstimator, hutchinson, hutchinsonGaussianEstimator, hutchinsonRademacherEstimator } from './estimators.js';
import { jacobianFrobenius } from './regularizers.js';
import { checkEstimator, testField } from './testing/index.js';
import type { VectorField } from './types.js';
import { jvp } from './vjp.js';

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
function stats(v: number[]) {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1));
  return { mean, se: sd / Math.sqrt(v.length) };
}

// A fixed random linear + nonlinear field in D = 6: f(z) = z A + tanh(z W1 + b1) W2.
const D = 6;
function mixedField(seed = 5) {
  const rng = new Random(seed);
  const A = rng.normal([D, D], 0, 0.5);
  const W1 = rng.normal([D, 10], 0, 0.6);
  const b1 = rng.normal([10], 0, 0.3);
  const W2 = rng.normal([10, D], 0, 0.6);
  const field: VectorField = (_t, z) =>
    tf.tidy(() => tf.add(tf.matMul(z as tf.Tensor2D, A), tf.matMul(safeTanh(tf.add(tf.matMul(z as tf.Tensor2D, W1), b1)), W2)));
  return { field, dispose: () => tf.dispose([A, W1, b1, W2]) };
}

describe('Hutchinson is unbiased (one batched call of N probes at one point z0, D = 6)', () => {
  const N = 3000;
  test.each([['gaussian'], ['rademacher']] as const)('%s: divergence and Frobenius within 3 standard errors of exact', (noise) => {
    const { field, dispose } = mixedField();
    const rng = new Random(`unbiased-${noise}`);
    const z0 = rng.normal([1, D]);
    const zs = tf.tile(z0, [N, 1]);
    const ex = exactEstimator.evaluate(field, 0.5, z0, null);
    const trace = read(ex.divergence)[0]!;
    const frob = read(ex.sqJacobianNorm!)[0]!;
    ex.f.dispose();
    const est = hutchinson({ noise });
    const eps = est.sampleNoise(zs.shape, rng)!;
    const r = est.evaluate(field, 0.5, zs, eps);
    expect(r.eps).toBe(eps);
    const div = stats(read(r.divergence));
    // ‖εᵀJ‖² per probe (sum over dims) estimates ‖J‖²_F.
    const sq = stats(read(tf.tidy(() => tf.sum(tf.square(r.epsJ!), 1))));
    // The registered jacobian-frobenius rate (mean over dims) estimates ‖J‖²_F / D.
    const jf = stats(read(tf.tidy(() => jacobianFrobenius().rate({ t: 0.5, z: zs, f: r.f, eps, epsJ: r.epsJ!, field }))));
    tf.dispose([r.f, r.epsJ!, eps, zs, z0]);
    dispose();
    const zDiv = (div.mean - trace) / div.se;
    const zFro = (sq.mean - frob) / sq.se;
    console.log(
      `${noise}: tr J = ${trace.toFixed(4)}, mean = ${div.mean.toFixed(4)} ± ${div.se.toFixed(4)} (z = ${zDiv.toFixed(2)}); ` +
        `‖J‖²_F = ${frob.toFixed(4)}, mean = ${sq.mean.toFixed(4)} ± ${sq.se.toFixed(4)} (z = ${zFro.toFixed(2)})`,
    );
    expect(Math.abs(zDiv)).toBeLessThan(3);
    expect(Math.abs(zFro)).toBeLessThan(3);
    expect(Math.abs(jf.mean * D - sq.mean)).toBeLessThan(1e-3 * sq.mean);
  });
});

describe('exact', () => {
  test('equals the analytic trace and ‖A‖²_F for a linear field f = zA, z of shape [B, 2, 3]', () => {
    const rng = new Random(3);
    const A = rng.normal([D, D]);
    const a = A.arraySync() as number[][];
    const trace = a.reduce((s, row, i) => s + row[i]!, 0);
    const frob = a.flat().reduce((s, x) => s + x * x, 0);
    const field: VectorField = (_t, z) => tf.reshape(tf.matMul(tf.reshape(z, [z.shape[0]!, D]), A), z.shape);
    const z = rng.normal([4, 2, 3]);
    const r = exactEstimator.evaluate(field, 0, z, null);
    expect(r.f.shape).toEqual([4, 2, 3]);
    read(r.divergence).forEach((v) => expect(v).toBeCloseTo(trace, 4));
    read(r.sqJacobianNorm!).forEach((v) => expect(v).toBeCloseTo(frob, 3));
    tf.dispose([r.f, A, z]);
  });
  test('explicit field.vjp is used when present', () => {
    let calls = 0;
    const A = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const field: VectorField = Object.assign((_t: number, z: tf.Tensor) => tf.matMul(z as tf.Tensor2D, A), {
      vjp: (_t: number, z: tf.Tensor, v: tf.Tensor) => {
        calls++;
        return { f: tf.matMul(z as tf.Tensor2D, A), vjp: tf.matMul(v as tf.Tensor2D, A, false, true) };
      },
    });
    const z = tf.ones([3, 2]);
    const r = exactEstimator.evaluate(field, 0, z, null);
    expect(calls).toBe(2);
    read(r.divergence).forEach((v) => expect(v).toBeCloseTo(5, 5));
    tf.dispose([r.f, r.sqJacobianNorm!, A, z]);
  });
});

test('jvp (double-VJP trick) equals A·v for f = zA', () => {
  const rng = new Random(9);
  const A = rng.normal([3, 3]);
  const field: VectorField = (_t, z) => tf.matMul(z as tf.Tensor2D, A);
  const z = rng.normal([2, 3]);
  const v = rng.normal([2, 3]);
  // f(z) = zA: J = Aᵀ per sample, so J·v = v A.
  const got = read(jvp(field, 0, z, v));
  const want = read(tf.matMul(v as tf.Tensor2D, A));
  got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, 4));
  tf.dispose([A, z, v]);
});

describe('errors', () => {
  test('hutchinson options and noise checks', () => {
    expect(() => hutchinson({ noise: 'uniform' as 'gaussian' })).toThrow(/'gaussian' or 'rademacher'/);
    expect(() => hutchinson({ nois: 'gaussian' } as never)).toThrow(/unknown option "nois"/);
    const { field, params, dispose } = testField({ dims: 3 });
    void params;
    const z = tf.zeros([2, 3]);
    let err: unknown;
    try {
      hutchinsonGaussianEstimator.evaluate(field, 0, z, null);
    } catch (e) {
      err = e;
    }
    expect(isRnodeError(err, 'INVALID_ARGUMENT')).toBe(true);
    const bad = tf.zeros([2, 4]);
    expect(() => hutchinsonRademacherEstimator.evaluate(field, 0, z, bad)).toThrow(/noise shape/);
    expect(() => exactEstimator.evaluate(field, 0, tf.zeros([3]), null)).toThrow(/batch/);
    tf.dispose([z, bad]);
    dispose();
    before = tf.memory().numTensors; // the rank-1 zeros above were made for a throwing call
  });
});

describe.each([[exactEstimator], [hutchinsonGaussianEstimator], [hutchinsonRademacherEstimator]])('checkEstimator', (plugin) => {
  test(`${plugin.name} passes the conformance suite`, () => {
    const report = checkEstimator(plugin);
    expect(report.failures).toEqual([]);
    expect(report.ok).toBe(true);
  });
});
