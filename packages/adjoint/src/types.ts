import type * as tf from '@tensorflow/tfjs-core';
import * as z from 'zod/mini';
import { functionOption, numberOption, type OdeState, type PluginBase, type PluginRef } from '@rnode/core';
import { odeintOptionsSchema, type OdeFunc, type OdeintOptions, type OdeSolution, type OdeStats, type SolverRef } from './internal/solvers.js';

export type { OdeFunc, OdeintOptions, OdeSolution, OdeStats, SolverRef };

/** What the backward (adjoint) solve cost; filled in when the backward pass runs. */
export interface BackwardStats {
  /** Evaluations of the augmented dynamics (each is one `f` evaluation plus one VJP). */
  nfe: number;
  accepted: number;
  rejected: number;
  /** Number of backward solves (one per interval t[i] → t[i−1] of nonzero length). */
  intervals: number;
  /** Whether the backward pass has run (false until the gradient is taken). */
  done: boolean;
}

/** The options only the adjoint methods know (the rest are `odeint`'s). */
export const adjointOnlyOptionsShape = {
  /** Solver of the backward solve; default: the forward `method`. */
  adjointMethod: z.optional(z.custom<SolverRef>()),
  /** Relative tolerance of the adjoint components (a_y, a_θ); default: the forward `rtol`. */
  adjointRtol: z.optional(numberOption('non-negative')),
  /** Absolute tolerance of the adjoint components (a_y, a_θ); default: the forward `atol`. */
  adjointAtol: z.optional(numberOption('non-negative')),
  /** Fixed-grid step of the backward solve; default: the forward `stepSize`. */
  adjointStepSize: z.optional(numberOption('positive')),
  /**
   * Leave the parameter adjoint a_θ out of the backward error norm (Kidger, Chen & Lyons,
   * "Hey, that's not an ODE"): fewer backward steps, same gradient accuracy in practice.
   * Default false.
   */
  seminorm: z.optional(z.boolean()),
  /** Called once when the backward pass has run, with its cost. */
  onBackward: z.optional(functionOption<(stats: BackwardStats) => void>()),
};

/** `odeintAdjoint`'s options: `odeint`'s plus the adjoint ones (type and run-time check). */
export const odeintAdjointOptionsSchema = z.extend(odeintOptionsSchema, adjointOnlyOptionsShape);

export type OdeintAdjointOptions = z.input<typeof odeintAdjointOptionsSchema>;

/** An `OdeSolution` plus the cost of the backward pass (filled in when it runs). */
export interface AdjointSolution<S extends OdeState> extends OdeSolution<S> {
  /**
   * Cost of the backward solve: a live object, zero with `done: false` until the gradient
   * is taken. `null` where there is no separate backward solve (`backprop`: the tape does
   * one VJP per recorded step and no extra evaluations of `f`).
   */
  readonly backward: BackwardStats | null;
}

/** An adjoint plugin (kind `adjoint`): how gradients get through an ODE solve. */
export interface AdjointPlugin<N extends string = string> extends PluginBase<'adjoint', N> {
  odeint<S extends OdeState>(
    f: OdeFunc<S>,
    y0: S,
    t: ArrayLike<number>,
    params: readonly tf.Tensor[],
    options?: OdeintAdjointOptions,
  ): AdjointSolution<S>;
}

export type AdjointRef = PluginRef<AdjointPlugin>;

/** Result of `odeintAdjointAsync`: the forward solution and an explicit backward pass. */
export interface AsyncAdjointSolution<S extends OdeState> extends OdeSolution<S> {
  /**
   * Run the backward pass for output gradients `dLdys[i]` = dL/dy(t[i]) (`null`/missing
   * entries are zero). Resolves to the gradients w.r.t. y0 and each of `params`, which the
   * caller owns. Single use: afterwards the stored forward states are released.
   */
  backward(dLdys: ReadonlyArray<S | null | undefined>): Promise<AsyncAdjointGradients<S>>;
  /** Release the stored forward states without running the backward pass. */
  dispose(): void;
}

export interface AsyncAdjointGradients<S extends OdeState> {
  dy0: S;
  dparams: tf.Tensor[];
  stats: BackwardStats;
}
