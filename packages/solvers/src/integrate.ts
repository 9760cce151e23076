import * as tf from '@tensorflow/tfjs-core';
import { RnodeError } from '@rnode/core';
import { errorRatio, weightedNorm, type Tolerances } from './norm.js';
import { hermiteInterpolate } from './runge-kutta.js';
import { linearCombination } from './linear-combination.js';
import type { ControllerInfo, ControllerPlugin, OdeStats, OdeStatus, SolverPlugin, StepProgress } from './types.js';

/**
 * The integration loop, written once as a generator: it yields the tensors whose values it must
 * know on the host (the error ratio of each adaptive attempt, the initial-step norms) and receives
 * their values back. `runSync` (dataSync) and `runAsync` (await data()) drive it. The fixed-grid
 * loop never yields.
 */
export type Loop<R> = Generator<tf.Tensor, R, ArrayLike<number>>;

export interface Problem {
  /** The vector field on leaves; counts evaluations into `stats.nfe`. */
  readonly f: (t: number, y: readonly tf.Tensor[]) => tf.Tensor[];
  readonly y0: readonly tf.Tensor[];
  readonly t: readonly number[];
  readonly solver: SolverPlugin;
  readonly stepSize: number | undefined;
  readonly tol: Tolerances;
  readonly firstStep: number | undefined;
  readonly minStep: number;
  readonly maxStep: number;
  readonly maxSteps: number;
  /** Called after every step attempt; a throw ends the solve (its tensors are disposed). */
  readonly onStep: ((p: StepProgress) => void) | undefined;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly controller: ControllerPlugin<string, any>;
  readonly controllerInfo: ControllerInfo;
  readonly stats: OdeStats;
}

export interface Outcome {
  /** One list of leaves per time reached. */
  ys: tf.Tensor[][];
  status: OdeStatus;
  message?: string;
  /** Where the solve stopped (failures). */
  at?: number;
}

const cloneAll = (xs: readonly tf.Tensor[]): tf.Tensor[] => xs.map((x) => tf.clone(x));
/**
 * A step's outputs as tensors the loop owns: cloned only where a solver returned an input (or
 * the same tensor twice), since the loop disposes the previous state. A copy costs a kernel
 * call, and every leaf of every step would pay it.
 */
const ownAll = (xs: readonly tf.Tensor[], inputs: readonly tf.Tensor[]): tf.Tensor[] => {
  const taken = new Set<tf.Tensor>(inputs);
  return xs.map((x) => {
    if (taken.has(x)) return tf.clone(x);
    taken.add(x);
    return x;
  });
};
const disposeAll = (xs: readonly tf.Tensor[] | null | undefined): void => xs?.forEach((x) => x.dispose());

/**
 * A solver's output as leaves shaped like the state: a list of the wrong length is an
 * INVALID_PLUGIN error, a leaf of another shape a SHAPE_MISMATCH error (a user's solver
 * returning `y1` of the wrong shape used to be accepted silently).
 */
function checkLeaves(solver: SolverPlugin, what: string, xs: unknown, like: readonly tf.Tensor[]): tf.Tensor[] {
  const n = like.length;
  if (!Array.isArray(xs) || xs.length !== n) {
    throw new RnodeError('INVALID_PLUGIN', `solver "${solver.name}" returned ${what} that is not a list of ${n} tensor(s)`, {
      source: `solver:${solver.name}`,
    });
  }
  for (let i = 0; i < n; i++) {
    const x = xs[i] as tf.Tensor | undefined;
    const want = like[i]!.shape;
    const got = (x as { shape?: unknown } | undefined)?.shape;
    if (!Array.isArray(got) || got.length !== want.length || got.some((d, j) => d !== want[j])) {
      throw new RnodeError(
        'SHAPE_MISMATCH',
        `solver "${solver.name}" returned ${what}${n > 1 ? ` leaf ${i}` : ''} of shape ${Array.isArray(got) ? `[${got.join(',')}]` : typeof x}, the state's is [${want.join(',')}]`,
        { source: `solver:${solver.name}` },
      );
    }
  }
  return xs as tf.Tensor[];
}

/** Per-interval fixed grid: steps of `stepSize` from t[i−1], the last one shortened to land on t[i]. */
export function intervalSteps(a: number, b: number, stepSize: number | undefined): number[] {
  if (stepSize === undefined) return [a, b];
  const dir = Math.sign(b - a);
  const m = intervalStepCount(a, b, stepSize);
  const out = [a];
  for (let k = 1; k < m; k++) out.push(a + dir * k * stepSize);
  out.push(b);
  return out;
}

/** The number of steps `intervalSteps` makes (Infinity when the span/step ratio overflows), without building the grid. */
export function intervalStepCount(a: number, b: number, stepSize: number | undefined): number {
  if (stepSize === undefined) return 1;
  // A remainder shorter than 1e-10·stepSize is merged into the previous step (no tiny steps).
  return Math.max(1, Math.ceil(Math.abs(b - a) / stepSize - 1e-10));
}

export function* fixedGridLoop(p: Problem): Loop<Outcome> {
  const { solver, stats, t } = p;
  const ys: tf.Tensor[][] = [];
  let y: tf.Tensor[] = cloneAll(p.y0);
  let ok = false;
  try {
    ys.push(cloneAll(y));
    let steps = 0;
    for (let i = 1; i < t.length; i++) {
      // The grid's times are computed as they are reached, never built as an array: a tiny step
      // or a huge span (1e12 steps) ends at maxSteps instead of allocating (a native crash).
      const a = t[i - 1] as number;
      const b = t[i] as number;
      const m = intervalStepCount(a, b, p.stepSize);
      const at = (k: number): number => (k === 0 ? a : k >= m ? b : a + Math.sign(b - a) * k * (p.stepSize as number));
      for (let k = 1; k <= m; k++) {
        const t0 = at(k - 1);
        if (steps >= p.maxSteps) {
          ok = true;
          return { ys, status: 'max-steps', message: `maximum number of steps (${p.maxSteps}) reached at t=${t0}`, at: t0 };
        }
        const dt = at(k) - t0;
        const y1 = tf.tidy(() => {
          const r = solver.step({ f: p.f, t0, dt, y0: y, f0: undefined, linearCombination });
          return ownAll(checkLeaves(solver, 'y1', r?.y1, y), y);
        });
        disposeAll(y);
        y = y1;
        steps++;
        stats.accepted++;
        p.onStep?.({ t: at(k), nfe: stats.nfe, steps, accepted: stats.accepted, rejected: stats.rejected });
      }
      ys.push(cloneAll(y));
    }
    ok = true;
    return { ys, status: 'ok' };
  } finally {
    disposeAll(y);
    if (!ok) ys.forEach(disposeAll);
  }
}

interface Segment {
  t0: number;
  dt: number;
  y0: tf.Tensor[];
  f0: tf.Tensor[];
  dense: tf.Tensor[][] | null;
}

interface Attempt {
  y1: tf.Tensor[];
  /** Empty when the solver did not return f1. */
  f1: tf.Tensor[];
  /** Empty when the solver returned no dense info. */
  dense: tf.Tensor[][];
  ratio: tf.Scalar;
}

function disposeAttempt(a: Attempt | null): void {
  if (!a) return;
  disposeAll(a.y1);
  disposeAll(a.f1);
  a.dense.forEach(disposeAll);
  a.ratio.dispose();
}

export function* adaptiveLoop(p: Problem): Loop<Outcome> {
  const { solver, stats, t, tol, f } = p;
  const t0 = t[0] as number;
  const tEnd = t[t.length - 1] as number;
  const dir = Math.sign(tEnd - t0);
  const ys: tf.Tensor[][] = [];
  let y: tf.Tensor[] = cloneAll(p.y0);
  let f0: tf.Tensor[] | null = null;
  let seg: Segment | null = null;
  let pending: Attempt | null = null;
  let ok = false;
  const fail = (status: OdeStatus, message: string, at: number): Outcome => {
    ok = true;
    return { ys, status, message, at };
  };
  try {
    ys.push(cloneAll(y));
    f0 = tf.tidy(() => cloneAll(checkLeaves(solver, 'f(t0, y0)', f(t0, y), y)));
    const order = p.controllerInfo.order;
    let h: number;
    if (p.firstStep !== undefined) h = p.firstStep;
    else {
      // Hairer, Nørsett & Wanner II.4 (torchdiffeq's _select_initial_step), one extra evaluation.
      const fy = f0;
      const yy = y;
      const d01 = yield tf.tidy(() => tf.stack([weightedNorm(yy, yy, tol), weightedNorm(fy, yy, tol)]));
      const d0 = d01[0] as number;
      const d1 = d01[1] as number;
      if (!Number.isFinite(d0) || !Number.isFinite(d1)) {
        return fail('non-finite', `non-finite initial state or derivative at t=${t0}`, t0);
      }
      const h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : (0.01 * d0) / d1;
      const d2v = yield tf.tidy(() => {
        const y1 = linearCombination(yy, [[dir * h0, fy]]);
        const f1 = f(t0 + dir * h0, y1);
        return tf.div(weightedNorm(linearCombination(f1, [[-1, fy]]), yy, tol), h0);
      });
      const d2 = d2v[0] as number;
      const h1 = d1 <= 1e-15 && d2 <= 1e-15 ? Math.max(1e-6, h0 * 1e-3) : (0.01 / Math.max(d1, d2)) ** (1 / order);
      h = Math.min(100 * h0, h1);
      if (!(Number.isFinite(h) && h > 0)) h = h0;
    }
    h = Math.min(Math.max(h, p.minStep), p.maxStep);
    const cstate: unknown = p.controller.init(p.controllerInfo);
    let tc = t0;
    let next = 1;
    let attempts = 0;
    while (next < t.length) {
      if (attempts >= p.maxSteps) return fail('max-steps', `maximum number of steps (${p.maxSteps}) reached at t=${tc}`, tc);
      let dt = dir * h;
      let toEnd = false;
      if (dir * (tc + dt - tEnd) >= 0) {
        dt = tEnd - tc;
        toEnd = true;
      }
      const yc = y;
      const fc = f0;
      const tt = tc;
      const step = dt;
      const attempt: Attempt = tf.tidy(() => {
        const r = solver.step({ f, t0: tt, dt: step, y0: yc, f0: fc, linearCombination });
        const y1 = checkLeaves(solver, 'y1', r?.y1, yc);
        if (!r.yErr) {
          throw new RnodeError('INVALID_PLUGIN', `adaptive solver "${solver.name}" returned no yErr`, { source: `solver:${solver.name}` });
        }
        const yErr = checkLeaves(solver, 'yErr', r.yErr, yc);
        return {
          y1: cloneAll(y1),
          f1: r.f1 ? cloneAll(checkLeaves(solver, 'f1', r.f1, yc)) : [],
          dense: r.dense ? r.dense.map(cloneAll) : [],
          ratio: errorRatio(yc, y1, yErr, tol),
        };
      });
      pending = attempt;
      attempts++;
      const ratio = (yield attempt.ratio)[0] as number;
      p.onStep?.({ t: tc, nfe: stats.nfe, steps: attempts, accepted: stats.accepted, rejected: stats.rejected });
      const att = attempt;
      const finite = Number.isFinite(ratio);
      const accept = finite && ratio <= 1;
      if (accept) {
        pending = null;
        att.ratio.dispose();
        // Non-FSAL methods: f1 costs one evaluation here and is reused as the next step's f0.
        const f1 = att.f1.length ? att.f1 : tf.tidy(() => cloneAll(checkLeaves(solver, 'f(t1, y1)', f(tc + dt, att.y1), att.y1)));
        if (seg) {
          disposeAll(seg.y0);
          disposeAll(seg.f0);
          seg.dense?.forEach(disposeAll);
        }
        seg = { t0: tc, dt, y0: y, f0: f0, dense: att.dense.length ? att.dense : null };
        y = att.y1;
        f0 = f1;
        tc = toEnd ? tEnd : tc + dt;
        stats.accepted++;
        while (next < t.length && dir * ((t[next] as number) - tc) <= 0) {
          ys.push(emit(solver, seg, y, f0, tc, t[next] as number));
          next++;
        }
        if (next >= t.length) break;
      } else {
        pending = null;
        disposeAttempt(att);
        stats.rejected++;
      }
      const factor = finite ? p.controller.adapt(cstate, { ratio, accepted: accept }) : p.controllerInfo.dfactor;
      const hNew = Math.min(Math.max(Math.abs(dt) * factor, p.minStep), p.maxStep);
      if ((!accept && p.minStep > 0 && Math.abs(dt) <= p.minStep) || tc + dir * hNew === tc || !(hNew > 0)) {
        if (!finite) return fail('non-finite', `non-finite state or error estimate at t=${tc}; the step shrank to ${hNew}`, tc);
        return fail('dt-underflow', `step size underflow at t=${tc} (dt=${hNew}, minStep=${p.minStep})`, tc);
      }
      h = hNew;
    }
    ok = true;
    return { ys, status: 'ok' };
  } finally {
    disposeAttempt(pending);
    disposeAll(y);
    disposeAll(f0);
    if (seg) {
      disposeAll(seg.y0);
      disposeAll(seg.f0);
      seg.dense?.forEach(disposeAll);
    }
    if (!ok) ys.forEach(disposeAll);
  }
}

function emit(solver: SolverPlugin, seg: Segment, y1: tf.Tensor[], f1: tf.Tensor[], t1: number, tq: number): tf.Tensor[] {
  if (tq === t1) return cloneAll(y1);
  if (tq === seg.t0) return cloneAll(seg.y0);
  const theta = (tq - seg.t0) / seg.dt;
  const interpolate = solver.interpolate ?? hermiteInterpolate;
  return tf.tidy(() =>
    cloneAll(
      interpolate({ t0: seg.t0, dt: seg.dt, theta, y0: seg.y0, y1, f0: seg.f0, f1, dense: seg.dense ?? undefined, linearCombination }),
    ),
  );
}

export function runSync<R>(loop: Loop<R>): R {
  let r = loop.next();
  while (!r.done) {
    const x = r.value;
    let v: ArrayLike<number>;
    try {
      v = x.dataSync();
    } catch (e) {
      x.dispose();
      loop.return(undefined as R);
      throw e;
    }
    x.dispose();
    r = loop.next(v);
  }
  return r.value;
}

export async function runAsync<R>(loop: Loop<R>): Promise<R> {
  let r = loop.next();
  while (!r.done) {
    const x = r.value;
    let v: ArrayLike<number>;
    try {
      v = await x.data();
    } catch (e) {
      x.dispose();
      loop.return(undefined as R);
      throw e;
    }
    x.dispose();
    r = loop.next(v);
  }
  return r.value;
}
