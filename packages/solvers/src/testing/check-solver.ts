import * as tf from '@tensorflow/tfjs-core';
import { odeint, odeintAsync, odeintFixedGrid } from '../odeint.js';
import type { OdeintOptions } from '../options.js';
import type { SolverPlugin, SolverRef } from '../types.js';
import { quadraticProblem, type TestProblem } from './problems.js';

export interface CheckSolverOptions {
  /** The order the method claims (default: plugin.order). */
  order?: number;
  /** Fixed step sizes for the convergence study (default by order, chosen for float32). */
  steps?: readonly number[];
  /** Allowed |empirical − expected| (default 0.2). */
  tolerance?: number;
  /** Problem (default: y' = y² on [0, 0.75]). */
  problem?: TestProblem;
}

export interface CheckSolverReport {
  name: string;
  expectedOrder: number;
  /** Least-squares slope of log(error) against log(step). */
  empiricalOrder: number;
  /** { step, error } of each run (max relative error at the final time vs the float64 solution). */
  errors: { step: number; error: number }[];
  /** Tensors left alive by a solve whose results were disposed (should be 0). */
  leakedTensors: number;
  /** Two identical solves give bitwise-identical results. */
  deterministic: boolean;
  /** f evaluations per step measured on the fixed grid. */
  nfePerStep: number;
  ok: boolean;
  /** Why `ok` is false. */
  problems: string[];
}

/**
 * Step sizes that keep the truncation error of an order-p method well above float32 roundoff on
 * the default problem (relative errors ≥ 1e-5), yet in the asymptotic range.
 */
export function defaultSteps(order: number): number[] {
  if (order <= 1) return [1 / 64, 1 / 128, 1 / 256, 1 / 512];
  if (order === 2) return [1 / 16, 1 / 32, 1 / 64, 1 / 128];
  if (order === 3) return [1 / 8, 1 / 16, 1 / 32, 1 / 64];
  return [1 / 8, 1 / 12, 1 / 16, 1 / 24];
}

function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
    den += ((xs[i] as number) - mx) ** 2;
  }
  return num / den;
}

/**
 * The conformance suite for a solver plugin: convergence order on a closed-form problem (fixed grid,
 * adaptive methods too: their error estimate is ignored), no leaked tensors, determinism.
 * Framework-agnostic: returns a report for the caller's test framework to assert on.
 */
export async function checkSolver(plugin: SolverPlugin, options: CheckSolverOptions = {}): Promise<CheckSolverReport> {
  const expectedOrder = options.order ?? plugin.order;
  const steps = (options.steps ?? defaultSteps(expectedOrder)).slice();
  const tolerance = options.tolerance ?? 0.2;
  const pb = options.problem ?? quadraticProblem();
  const exact = pb.exact(pb.t1);
  const y0 = () => tf.tensor1d(pb.y0 as number[]);
  const errors: { step: number; error: number }[] = [];
  const problems: string[] = [];
  let nfePerStep = 0;
  const before = tf.memory().numTensors;
  let first: Float32Array | undefined;
  let deterministic = true;
  for (const h of steps) {
    const y = y0();
    const sol = odeintFixedGrid((t, yy: tf.Tensor) => pb.f(t, yy), y, [pb.t0, pb.t1], plugin, h);
    const last = sol.ys[sol.ys.length - 1] as tf.Tensor;
    const v = (await last.data()) as Float32Array;
    let err = 0;
    v.forEach((x, i) => (err = Math.max(err, Math.abs(x - (exact[i] as number)) / Math.max(1e-8, Math.abs(exact[i] as number)))));
    errors.push({ step: h, error: err });
    nfePerStep = sol.stats.nfe / sol.stats.accepted;
    if (h === steps[0]) {
      // determinism: run the same solve again
      const again = odeintFixedGrid((t, yy: tf.Tensor) => pb.f(t, yy), y, [pb.t0, pb.t1], plugin, h);
      const w = (await (again.ys[again.ys.length - 1] as tf.Tensor).data()) as Float32Array;
      first = v;
      deterministic = w.length === first.length && w.every((x, i) => Object.is(x, first?.[i]));
      again.ys.forEach((t) => t.dispose());
    }
    sol.ys.forEach((t) => t.dispose());
    y.dispose();
  }
  const leakedTensors = tf.memory().numTensors - before;
  const empiricalOrder = slope(
    errors.map((e) => Math.log(e.step)),
    errors.map((e) => Math.log(Math.max(e.error, 1e-30))),
  );
  if (!(Math.abs(empiricalOrder - expectedOrder) <= tolerance)) {
    problems.push(`empirical order ${empiricalOrder.toFixed(3)} differs from ${expectedOrder} by more than ${tolerance}`);
  }
  if (leakedTensors !== 0) problems.push(`${leakedTensors} tensor(s) leaked`);
  if (!deterministic) problems.push('two identical solves differ');
  return { name: plugin.name, expectedOrder, empiricalOrder, errors, leakedTensors, deterministic, nfePerStep, ok: problems.length === 0, problems };
}

export interface MeasureResult {
  method: string;
  problem: string;
  nfe: number;
  accepted: number;
  rejected: number;
  /** Wall time of the solve in milliseconds (including the final read). */
  ms: number;
  /** Max relative error at the final time against the float64 solution (floor 1e-8). */
  relError: number;
  status: string;
}

/**
 * Solve a test problem once and report NFE, steps, time and error (used by the tests' NFE table and
 * by the bench app). Uses `odeintAsync`, so it runs on every backend.
 */
export async function measureSolve(
  problem: TestProblem,
  method: SolverRef,
  options: Omit<OdeintOptions, 'method'> & { reverse?: boolean; sync?: boolean } = {},
): Promise<MeasureResult> {
  const { reverse, sync, ...rest } = options;
  const [ta, tb] = reverse ? [problem.t1, problem.t0] : [problem.t0, problem.t1];
  const y0 = tf.tensor1d(Array.from(problem.exact(ta)));
  const exact = problem.exact(tb);
  const start = performance.now();
  const opts = { ...rest, method, throw: false };
  const sol = sync ? odeint((t, y: tf.Tensor) => problem.f(t, y), y0, [ta, tb], opts) : await odeintAsync((t, y: tf.Tensor) => problem.f(t, y), y0, [ta, tb], opts);
  const last = sol.ys[sol.ys.length - 1] as tf.Tensor;
  const v = await last.data();
  const ms = performance.now() - start;
  let rel = 0;
  v.forEach((x, i) => (rel = Math.max(rel, Math.abs(x - (exact[i] as number)) / Math.max(1e-8, Math.abs(exact[i] as number)))));
  sol.ys.forEach((t) => t.dispose());
  y0.dispose();
  return {
    method: typeof method === 'string' ? method : method.name,
    problem: problem.name + (reverse ? ' (reversed)' : ''),
    ...sol.stats,
    ms,
    relError: rel,
    status: sol.status,
  };
}
