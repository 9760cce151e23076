import * as z from 'zod/mini';
import { numberOption } from '@rnode/core';
import type { AdjointRef } from '@rnode/adjoint';
import type { EstimatorRef } from '@rnode/estimators';
import type { SolverRef } from '@rnode/solvers';

/** A training recipe: how the flow is solved and differentiated, and the regularizer weights. */
export const presetSchema = z.object({
  /** Training solver (name or plugin). */
  solver: z.custom<SolverRef>(),
  /** Fixed-grid step (fixed-grid solvers). */
  stepSize: z.optional(numberOption('positive')),
  /** Tolerances (adaptive solvers; regularizer states are left out of error control). */
  rtol: z.optional(numberOption('positive')),
  atol: z.optional(numberOption('positive')),
  /** How gradients get through the solve: 'backsolve' (continuous adjoint) or 'backprop' (through the steps). */
  adjoint: z.custom<AdjointRef>(),
  /** Divergence estimator for training. */
  estimator: z.custom<EstimatorRef>(),
  /** Regularizer name → weight λ (weight 0 leaves it out of the solve). */
  regularizers: z.custom<Readonly<Record<string, number>>>(),
});
export type Preset = z.input<typeof presetSchema>;

export type PresetName = 'rnode' | 'ffjord';

/**
 * `rnode`: Finlay et al. 2020 (RNODE), fixed-grid RK4 with step 0.25 (the 3/8 rule, `rk38`, as
 * torchdiffeq's `rk4` that the reference code ran), Gaussian Hutchinson, λK = λJ = 0.01,
 * adjoint on the same grid. `ffjord`: Grathwohl et al. 2019, dopri5 at rtol = atol = 1e-5,
 * no regularizers.
 */
export const presets: Readonly<Record<PresetName, Readonly<Preset>>> = Object.freeze({
  rnode: Object.freeze({
    solver: 'rk38',
    stepSize: 0.25,
    adjoint: 'backsolve',
    estimator: 'hutchinson',
    regularizers: Object.freeze({ 'kinetic-energy': 0.01, 'jacobian-frobenius': 0.01 }),
  }),
  ffjord: Object.freeze({
    solver: 'dopri5',
    rtol: 1e-5,
    atol: 1e-5,
    adjoint: 'backsolve',
    estimator: 'hutchinson',
    regularizers: Object.freeze({}),
  }),
});
