import type * as tf from '@tensorflow/tfjs-core';
import type { OdeState, PluginBase, PluginRef } from '@rnode/core';

/** The right-hand side dy/dt = f(t, y). `t` is a JS number (float64 on the host). */
export type OdeFunc<S extends OdeState = OdeState> = (t: number, y: S) => S;

export type OdeStatus = 'ok' | 'max-steps' | 'dt-underflow' | 'non-finite';

export interface OdeStats {
  /** Evaluations of `f` (including the initial-step selection). */
  nfe: number;
  /** Accepted steps (every fixed-grid step is accepted). */
  accepted: number;
  /** Rejected attempts (adaptive methods only). */
  rejected: number;
}

/** What `onStep` receives after each step attempt. */
export interface StepProgress {
  /** The time the solve has reached (the start of the attempted step for adaptive methods). */
  t: number;
  /** Evaluations of `f` so far. */
  nfe: number;
  /** Step attempts so far (accepted + rejected); compared against `maxSteps`. */
  steps: number;
  accepted: number;
  rejected: number;
}

export interface OdeSolution<S extends OdeState = OdeState> {
  /**
   * One state per requested time; `ys[0]` is a copy of `y0`. The caller owns (and disposes) them.
   * When `status !== 'ok'` (only with `throw: false`) `ys` holds the states reached so far, so it is
   * shorter than `t`.
   */
  ys: S[];
  stats: OdeStats;
  status: OdeStatus;
  /** Set when `status !== 'ok'`. */
  message?: string;
}

/** `base + Σ coef·k` leaf by leaf (`base` null: `Σ coef·k`): `linearCombination` on state leaves. */
export type LinearCombination = (
  base: readonly tf.Tensor[] | null,
  terms: ReadonlyArray<readonly [number, readonly tf.Tensor[]]>,
) => tf.Tensor[];

/** What a solver's `step` receives. It runs inside `tf.tidy`; return only what survives. */
export interface StepContext {
  /** The vector field on the flat list of leaves (every call counts as one evaluation). */
  readonly f: (t: number, y: readonly tf.Tensor[]) => tf.Tensor[];
  readonly t0: number;
  /** Signed step: negative when integrating backwards in time. */
  readonly dt: number;
  /** The state at t0, as its leaves (one tensor for a single-tensor state). */
  readonly y0: readonly tf.Tensor[];
  /** f(t0, y0) when the integrator already has it (adaptive methods: FSAL, initial step); else undefined. */
  readonly f0: readonly tf.Tensor[] | undefined;
  readonly linearCombination: LinearCombination;
}

export interface StepResult {
  y1: tf.Tensor[];
  /** Local error estimate (required for adaptive methods). */
  yErr?: tf.Tensor[];
  /** f(t0 + dt, y1) when the method has it for free (FSAL); reused as the next step's f0. */
  f1?: tf.Tensor[];
  /** Whatever the solver's `interpolate` needs (RK methods: the stages). */
  dense?: tf.Tensor[][];
}

export interface InterpolateContext {
  readonly t0: number;
  readonly dt: number;
  /** (t − t0)/dt in [0, 1]. */
  readonly theta: number;
  readonly y0: readonly tf.Tensor[];
  readonly y1: readonly tf.Tensor[];
  readonly f0: readonly tf.Tensor[];
  readonly f1: readonly tf.Tensor[];
  readonly dense: readonly (readonly tf.Tensor[])[] | undefined;
  readonly linearCombination: LinearCombination;
}

export interface SolverPlugin<N extends string = string> extends PluginBase<'solver', N> {
  /** Order of the propagated solution. */
  readonly order: number;
  /** Adaptive methods return `yErr` and are driven by a step-size controller. */
  readonly adaptive: boolean;
  /** Step control uses ratio^(−1/errorOrder); defaults to `order` (torchdiffeq). */
  readonly errorOrder?: number;
  /** f evaluations per step (informational; FSAL methods count one less). */
  readonly stages?: number;
  /** One step from t0 to t0 + dt. Runs inside `tf.tidy`. */
  step(ctx: StepContext): StepResult;
  /** Dense output inside the last accepted step; defaults to a cubic Hermite interpolant from f0, f1. */
  interpolate?(ctx: InterpolateContext): tf.Tensor[];
}

export type SolverRef = PluginRef<SolverPlugin>;

export interface ControllerInfo {
  /** The exponent order: step factors use ratio^(−1/order). */
  readonly order: number;
  readonly safety: number;
  readonly ifactor: number;
  readonly dfactor: number;
}

/**
 * A step-size controller: `init` makes per-solve state, `adapt` returns the factor the
 * step is multiplied by after an attempt with error ratio `ratio` (accepted when ratio ≤ 1).
 * The integrator applies minStep/maxStep afterwards. A non-finite ratio never reaches `adapt`
 * (the integrator shrinks by `dfactor`).
 */
export interface ControllerPlugin<N extends string = string, S = unknown> extends PluginBase<'controller', N> {
  init(info: ControllerInfo): S;
  adapt(state: S, attempt: { readonly ratio: number; readonly accepted: boolean }): number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ControllerRef = PluginRef<ControllerPlugin<string, any>>;
