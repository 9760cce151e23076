import * as tf from '@tensorflow/tfjs-core';
import {
  RnodeError,
  canReadSync,
  describe,
  flattenState,
  parseOptions,
  perLeaf,
  unflattenState,
  type OdeState,
  type StateSpec,
} from '@rnode/core';
import { resolveController, resolveSolver } from './builtins.js';
import { DEFAULTS } from './defaults.js';
import { adaptiveLoop, fixedGridLoop, runAsync, runSync, type Outcome, type Problem } from './integrate.js';
import type { Tolerances } from './norm.js';
import { isBool, isTol, odeintOptionsSchema, type OdeintOptions } from './options.js';
import type { ControllerPlugin, OdeFunc, OdeSolution, SolverPlugin } from './types.js';

const SRC = 'odeint';

/** Check the output times: at least two, finite, strictly increasing or strictly decreasing. */
export function checkTimes(t: ArrayLike<number>): number[] {
  const src = 'option:t';
  if (t === null || typeof t !== 'object' || typeof (t as ArrayLike<number>).length !== 'number') {
    throw new RnodeError('INVALID_ARGUMENT', `"t" must be an array of output times, got ${describe(t)}`, { source: src });
  }
  const ts = Array.from(t, Number);
  if (ts.length < 2) throw new RnodeError('INVALID_ARGUMENT', `"t" needs at least 2 times (start and end), got ${ts.length}`, { source: src });
  ts.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new RnodeError('INVALID_ARGUMENT', `"t"[${i}] must be a finite number, got ${describe(t[i])}`, { source: src });
  });
  const dir = Math.sign((ts[1] as number) - (ts[0] as number));
  for (let i = 1; i < ts.length; i++) {
    const d = (ts[i] as number) - (ts[i - 1] as number);
    if (dir === 0 || Math.sign(d) !== dir) {
      throw new RnodeError(
        'INVALID_ARGUMENT',
        `"t" must be strictly increasing or strictly decreasing; t[${i - 1}]=${ts[i - 1]}, t[${i}]=${ts[i]}`,
        { source: src },
      );
    }
  }
  return ts;
}

function toLeaves(out: unknown, spec: StateSpec, shapes: readonly (readonly number[])[], t: number): tf.Tensor[] {
  let leaves: tf.Tensor[];
  if (spec.type === 'record' && out !== null && typeof out === 'object' && !Array.isArray(out) && !('dataId' in out)) {
    const rec = out as Record<string, tf.Tensor>;
    leaves = spec.keys.map((k) => {
      const v = rec[k];
      if (v === undefined) throw new RnodeError('SHAPE_MISMATCH', `f(t, y) at t=${t} returned no "${k}"`, { source: 'argument:f' });
      return v;
    });
  } else {
    leaves = flattenState(out as OdeState, 'f(t, y)').leaves;
  }
  if (leaves.length !== shapes.length) {
    throw new RnodeError('SHAPE_MISMATCH', `f(t, y) returned ${leaves.length} tensor(s), the state has ${shapes.length}`, { source: 'argument:f' });
  }
  leaves.forEach((x, i) => {
    const s = shapes[i] as readonly number[];
    if (x.shape.length !== s.length || x.shape.some((d, j) => d !== s[j])) {
      throw new RnodeError('SHAPE_MISMATCH', `f(t, y) component ${i} has shape [${x.shape}], the state's is [${s}]`, { source: 'argument:f' });
    }
  });
  return leaves;
}

interface Prepared {
  problem: Problem;
  spec: StateSpec;
  throwOnFailure: boolean;
}

function prepare<S extends OdeState>(f: OdeFunc<S>, y0: S, t: ArrayLike<number>, options: OdeintOptions | undefined): Prepared {
  // Types and ranges of every option (the schema); below, the rules that need f, t, the state
  // or the resolved solver.
  const o = parseOptions(odeintOptionsSchema, options, SRC);
  if (typeof f !== 'function') throw new RnodeError('INVALID_ARGUMENT', `f must be a function (t, y) => dy/dt, got ${describe(f)}`, { source: 'argument:f' });
  const ts = checkTimes(t);
  const { leaves, spec } = flattenState(y0, 'y0');
  const solver = resolveSolver(o.method, 'method');
  if (typeof solver.step !== 'function' || typeof solver.adaptive !== 'boolean' || !(solver.order > 0)) {
    throw new RnodeError('INVALID_PLUGIN', `solver "${solver.name}" needs step(ctx), adaptive and a positive order`, { source: `solver:${solver.name}` });
  }
  const controller: ControllerPlugin = resolveController(o.controller, 'controller');
  const stepSize = o.stepSize;
  if (stepSize !== undefined && !Number.isFinite(stepSize)) throw new RnodeError('INVALID_OPTIONS', 'option "stepSize" must be finite', { source: 'option:stepSize' });
  if (stepSize !== undefined && solver.adaptive) {
    throw new RnodeError(
      'INVALID_OPTIONS',
      `option "stepSize" is for fixed-grid methods; "${solver.name}" is adaptive (use firstStep, or a fixed-grid method such as rk4)`,
      { source: 'option:stepSize' },
    );
  }
  const firstStep = o.firstStep;
  const minStep = o.minStep ?? DEFAULTS.minStep;
  const maxStep = o.maxStep ?? DEFAULTS.maxStep;
  if (!Number.isFinite(minStep)) throw new RnodeError('INVALID_OPTIONS', 'option "minStep" must be finite', { source: 'option:minStep' });
  if (minStep > maxStep) throw new RnodeError('INVALID_OPTIONS', `option "minStep" (${minStep}) exceeds "maxStep" (${maxStep})`, { source: 'option:minStep' });
  const maxSteps = o.maxSteps ?? DEFAULTS.maxSteps;
  const onStep = o.onStep;
  const safety = o.safety ?? DEFAULTS.safety;
  const ifactor = o.ifactor ?? DEFAULTS.ifactor;
  const dfactor = o.dfactor ?? DEFAULTS.dfactor;
  if (ifactor < 1 || !Number.isFinite(ifactor)) throw new RnodeError('INVALID_OPTIONS', `option "ifactor" must be a finite number >= 1, got ${ifactor}`, { source: 'option:ifactor' });
  if (dfactor >= 1) throw new RnodeError('INVALID_OPTIONS', `option "dfactor" must be in (0, 1), got ${dfactor}`, { source: 'option:dfactor' });
  const norm = o.norm ?? 'mixed';
  const rtol = perLeaf(o.rtol, spec, DEFAULTS.rtol, 'rtol', isTol);
  const atol = perLeaf(o.atol, spec, DEFAULTS.atol, 'atol', isTol);
  const control = perLeaf(o.errorControl, spec, true, 'errorControl', isBool);
  if (!control.some(Boolean)) throw new RnodeError('INVALID_OPTIONS', 'option "errorControl" leaves no component under error control', { source: 'option:errorControl' });
  control.forEach((c, i) => {
    if (c && (rtol[i] as number) + (atol[i] as number) <= 0) {
      throw new RnodeError('INVALID_OPTIONS', `rtol and atol are both 0 for component ${i}; one must be positive`, { source: 'option:atol' });
    }
  });
  const tol: Tolerances = { rtol, atol, control, norm };
  const shapes = leaves.map((x) => x.shape.slice());
  const stats = { nfe: 0, accepted: 0, rejected: 0 };
  const fl = (tt: number, y: readonly tf.Tensor[]): tf.Tensor[] => {
    stats.nfe++;
    return toLeaves(f(tt, unflattenState<S>(y, spec)), spec, shapes, tt);
  };
  const problem: Problem = {
    f: fl,
    y0: leaves,
    t: ts,
    solver,
    stepSize,
    tol,
    firstStep,
    minStep,
    maxStep,
    maxSteps,
    onStep,
    controller,
    controllerInfo: { order: solver.errorOrder ?? solver.order, safety, ifactor, dfactor },
    stats,
  };
  return { problem, spec, throwOnFailure: o.throw ?? true };
}

const CODES = { 'max-steps': 'MAX_STEPS_REACHED', 'dt-underflow': 'STEP_SIZE_UNDERFLOW', 'non-finite': 'NON_FINITE' } as const;

function finish<S extends OdeState>(p: Prepared, out: Outcome): OdeSolution<S> {
  const { problem } = p;
  const stats = { ...problem.stats };
  if (out.status !== 'ok' && p.throwOnFailure) {
    out.ys.forEach((y) => y.forEach((x) => x.dispose()));
    throw new RnodeError(CODES[out.status], `${out.message ?? out.status} (pass throw: false to get a status instead)`, {
      source: `solver:${problem.solver.name}`,
      details: { status: out.status, t: out.at, ...stats },
    });
  }
  const sol: OdeSolution<S> = { ys: out.ys.map((l) => unflattenState<S>(l, p.spec)), stats, status: out.status };
  if (out.message !== undefined) sol.message = out.message;
  return sol;
}

function loopFor(p: Problem) {
  return p.solver.adaptive ? adaptiveLoop(p) : fixedGridLoop(p);
}

/**
 * Solve dy/dt = f(t, y) from y(t[0]) = y0 and return the state at every time in `t`
 * (strictly increasing or strictly decreasing). Synchronous, so it can run inside `tf.grad` /
 * `tf.variableGrads` (gradients flow through the steps). Adaptive methods read one scalar per
 * step with `dataSync()`; where synchronous reads are unavailable (WebGPU in Node) use
 * `odeintAsync`. Fixed-grid methods never read from the device.
 */
export function odeint<S extends OdeState>(f: OdeFunc<S>, y0: S, t: ArrayLike<number>, options?: OdeintOptions): OdeSolution<S> {
  const p = prepare(f, y0, t, options);
  if (p.problem.solver.adaptive && !canReadSync()) {
    throw new RnodeError(
      'SYNC_READ_UNAVAILABLE',
      `the adaptive method "${p.problem.solver.name}" reads its error estimate every step, and backend "${tf.getBackend()}" has no synchronous reads here; use odeintAsync, or a fixed-grid method (e.g. method: 'rk4', stepSize)`,
      { source: `solver:${p.problem.solver.name}` },
    );
  }
  return finish<S>(p, runSync(loopFor(p.problem)));
}

/** `odeint` with asynchronous host reads (`await data()`); works on every backend. */
export async function odeintAsync<S extends OdeState>(
  f: OdeFunc<S>,
  y0: S,
  t: ArrayLike<number>,
  options?: OdeintOptions,
): Promise<OdeSolution<S>> {
  const p = prepare(f, y0, t, options);
  return finish<S>(p, await runAsync(loopFor(p.problem)));
}

/**
 * Internal (used by `@rnode/solvers/testing`): integrate on a fixed grid with any solver,
 * adaptive ones included (their error estimate is ignored).
 */
export function odeintFixedGrid<S extends OdeState>(
  f: OdeFunc<S>,
  y0: S,
  t: ArrayLike<number>,
  solver: SolverPlugin,
  stepSize: number | undefined,
): OdeSolution<S> {
  const p = prepare(f, y0, t, { method: { ...solver, adaptive: false } });
  const problem: Problem = { ...p.problem, stepSize };
  return finish<S>(p, runSync(fixedGridLoop(problem)));
}
