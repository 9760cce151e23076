// Type tests (checked by `tsc` in `pnpm typecheck`, not run): plugin names are checked by the
// compiler across the packages, and a user's registered plugin names type-check after
// declaration merging. Each @ts-expect-error fails the typecheck if the line compiles.
import type * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@rnode/core';
import { odeint } from '@rnode/solvers';
import { sampleToy } from '@rnode/data';
import type { TrainConfig, TrainingOptions } from './index.js';

declare const f: (t: number, y: tf.Tensor) => tf.Tensor;
declare const y0: tf.Tensor;
declare const rng: import('@rnode/core').Random;

// Built-in names compile …
odeint(f, y0, [0, 1], { method: 'dopri5' });
const ok: TrainingOptions = { solver: 'rk38', estimator: 'hutchinson', regularizers: { 'kinetic-energy': 0.01, 'jacobian-frobenius': 0.01 } };
void useBackend(['webgpu', 'wasm']);
sampleToy('pinwheel', 10, rng);

// … typos do not.
// @ts-expect-error 'dopri' is no solver
odeint(f, y0, [0, 1], { method: 'dopri' });
// @ts-expect-error 'kinetic-enrgy' is no regularizer
const typoReg: TrainingOptions = { regularizers: { 'kinetic-enrgy': 0.1 } };
// @ts-expect-error 'hutchinsn' is no estimator
const typoEst: TrainingOptions = { estimator: 'hutchinsn' };
// @ts-expect-error 'pinwheell' is no dataset
sampleToy('pinwheell', 10, rng);
// @ts-expect-error 'pinwheell' is no dataset
const typoData: Partial<TrainConfig> = { data: 'pinwheell' };
// @ts-expect-error 'wegbpu' is no backend
void useBackend('wegbpu');

// A user's plugin: declared once, then its name is as good as a built-in's.
declare module '@rnode/core' {
  interface SolverRegistry {
    ralston2: true;
  }
  interface RegularizerRegistry {
    'kinetic-energy-sum': true;
  }
}
odeint(f, y0, [0, 1], { method: 'ralston2', stepSize: 0.1 });
const mine: TrainingOptions = { solver: 'ralston2', regularizers: { 'kinetic-energy-sum': 0.1 } };

export { ok, typoReg, typoEst, typoData, mine };
