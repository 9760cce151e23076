import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import * as tf from '@tensorflow/tfjs-core';
import { Random } from '@rnode/core';
import { expect, test } from 'vitest';
import { cnfDynamics, cnfInitialState } from '../dynamics.js';
import { checkRegularizer } from '../testing/index.js';
import type { VectorField } from '../types.js';
import { directionalDerivative } from './custom-regularizer.js';

test('directional-derivative passes checkRegularizer', () => {
  const report = checkRegularizer(directionalDerivative);
  expect(report.failures).toEqual([]);
});

test('directional-derivative on f = zA is mean((J f)²) with J f = f A (not fᵀJ)', () => {
  const n0 = tf.memory().numTensors;
  const rng = new Random(4);
  const A = rng.normal([3, 3]);
  const field: VectorField = (_t, z) => tf.matMul(z as tf.Tensor2D, A);
  const z = rng.normal([2, 3]);
  const y = cnfInitialState(z, [directionalDerivative]);
  const d = cnfDynamics({ field, estimator: 'exact', regularizers: [directionalDerivative] })(0, y);
  const want = tf.tidy(() => tf.mean(tf.square(tf.matMul(tf.matMul(z as tf.Tensor2D, A), A)), 1));
  const wrong = tf.tidy(() => tf.mean(tf.square(tf.matMul(tf.matMul(z as tf.Tensor2D, A), A, false, true)), 1));
  const got = Array.from(d['directional-derivative']!.dataSync());
  got.forEach((v, i) => expect(v).toBeCloseTo(want.dataSync()[i]!, 3));
  expect(Math.abs(got[0]! - wrong.dataSync()[0]!)).toBeGreaterThan(1e-2);
  tf.dispose([A, z, want, wrong, ...Object.values(y), ...Object.values(d)]);
  expect(tf.memory().numTensors).toBe(n0);
});
