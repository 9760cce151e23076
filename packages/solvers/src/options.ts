import * as z from 'zod/mini';
import { functionOption, numberOption, perComponentOption } from '@rnode/core';
import type { ControllerRef, SolverRef, StepProgress } from './types.js';

/** A tolerance: finite and >= 0. */
export const isTol = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;
export const isBool = (x: unknown): x is boolean => typeof x === 'boolean';

/**
 * The options of `odeint`/`odeintAsync`: the type (`OdeintOptions`) and the run-time check
 * (`parseOptions(odeintOptionsSchema, options, 'odeint')`) in one place. Rules that need the
 * state or the resolved solver (per-component lengths, stepSize only for fixed-grid methods,
 * minStep ≤ maxStep) are checked in `odeint` after this. Defaults: `DEFAULTS`.
 */
export const odeintOptionsSchema = z.object({
  /** Solver plugin or registered name; default 'dopri5'. */
  method: z.optional(z.custom<SolverRef>()),
  /** Relative tolerance (adaptive methods); default 1e-5. Per component for tuple/record states. */
  rtol: z.optional(perComponentOption(isTol, 'a finite non-negative number')),
  /** Absolute tolerance (adaptive methods); default 1e-5. */
  atol: z.optional(perComponentOption(isTol, 'a finite non-negative number')),
  /** false leaves a component out of the error norm; default true. */
  errorControl: z.optional(perComponentOption(isBool, 'a boolean')),
  /** 'mixed' (default): max over components of the RMS; 'rms': RMS over all; 'max': max abs. */
  norm: z.optional(z.enum(['mixed', 'rms', 'max'])),
  /** Fixed-grid step (fixed-grid methods only); default: one step per output interval. */
  stepSize: z.optional(numberOption('positive')),
  /** First adaptive step; default: Hairer's selection (one extra f evaluation). */
  firstStep: z.optional(numberOption('positive')),
  /** Smallest adaptive step (default 0); a rejected step at minStep is a 'dt-underflow'. */
  minStep: z.optional(numberOption('non-negative')),
  /** Largest adaptive step; default Infinity. */
  maxStep: z.optional(numberOption('positive')),
  /** Largest number of step attempts (accepted + rejected); default 100000. */
  maxSteps: z.optional(numberOption('integer>0')),
  safety: z.optional(numberOption('positive')),
  ifactor: z.optional(numberOption('positive')),
  dfactor: z.optional(numberOption('positive')),
  /** Step-size controller; default 'integral'. */
  controller: z.optional(z.custom<ControllerRef>()),
  /** Default true: failures throw RnodeError; false returns a status instead. */
  throw: z.optional(z.boolean()),
  /**
   * Called after every step attempt with the progress so far (progress bars, time budgets). A
   * throw from it ends the solve: the solver's tensors are disposed and the error propagates.
   */
  onStep: z.optional(functionOption<(p: StepProgress) => void>()),
});

export type OdeintOptions = z.input<typeof odeintOptionsSchema>;
