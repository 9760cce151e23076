// my-plugins.mjs: a custom solver and a custom regularizer for `rnode --plugin ./my-plugins.mjs`.
import * as tf from '@tensorflow/tfjs-core';
import { register } from '@rnode/core';
import { defineSolver } from '@rnode/solvers';
import { defineRegularizer } from '@rnode/estimators';

// Ralston's second-order method: two evaluations of f per step.
const ralston2 = defineSolver({
  name: 'ralston2',
  order: 2,
  adaptive: false,
  description: "Ralston's 2nd-order method",
  step({ f, t0, y0, dt, linearCombination }) {
    const k1 = f(t0, y0);
    const k2 = f(t0 + (2 / 3) * dt, linearCombination(y0, [[(2 / 3) * dt, k1]]));
    return { y1: linearCombination(y0, [[0.25 * dt, k1], [0.75 * dt, k2]]) };
  },
});

// Kinetic energy summed over the data dimensions (the built-in kinetic-energy takes the mean).
const kineticEnergySum = defineRegularizer({
  name: 'kinetic-energy-sum',
  description: 'sum over dimensions of f²',
  rate: ({ f }) => tf.sum(tf.square(f), -1),
});

register(ralston2, kineticEnergySum);
