import * as tf from '@tensorflow/tfjs-core';
import { RnodeError } from '@rnode/core';
import type { InterpolateContext, SolverPlugin, StepContext, StepResult } from './types.js';

/** Cubic Hermite interpolant on [t0, t0 + dt] from y0, y1, f0, f1 (3rd order; the default dense output). */
export function hermiteInterpolate({ theta, dt, y0, y1, f0, f1, linearCombination: lc }: InterpolateContext): tf.Tensor[] {
  const h00 = 2 * theta ** 3 - 3 * theta ** 2 + 1;
  const h10 = theta ** 3 - 2 * theta ** 2 + theta;
  const h01 = -2 * theta ** 3 + 3 * theta ** 2;
  const h11 = theta ** 3 - theta ** 2;
  return lc(null, [
    [h00, y0],
    [h10 * dt, f0],
    [h01, y1],
    [h11 * dt, f1],
  ]);
}

/**
 * An explicit Butcher tableau. `a[i]` is the row of stage i + 1 (stage 0 has none), `c[0] = 0`.
 * `bErr` (b − b̂, the error weights) makes the method adaptive. `interp[i][p]` are dense-output
 * weights: y(t0 + θ·dt) = y0 + dt·Σ_i Σ_p interp[i][p]·θ^(p+1)·k_i.
 */
export interface Tableau {
  readonly a: readonly (readonly number[])[];
  readonly b: readonly number[];
  readonly c: readonly number[];
  readonly bErr?: readonly number[];
  readonly interp?: readonly (readonly number[])[];
}

export interface RungeKuttaOptions<N extends string> {
  name: N;
  order: number;
  tableau: Tableau;
  /** Exponent order for step control (adaptive); default `order`. */
  errorOrder?: number;
  description?: string;
}

function bad(name: string, msg: string): never {
  throw new RnodeError('INVALID_PLUGIN', `solver "${name}": ${msg}`, { source: `solver:${name}` });
}

/**
 * A solver plugin from an explicit Runge–Kutta tableau. Adaptive when `bErr` is given. FSAL is
 * detected (last row of `a` equals `b`, c = 1): the last stage is reused as the next step's k1.
 */
export function rungeKutta<N extends string>(o: RungeKuttaOptions<N>): SolverPlugin<N> {
  const { name, tableau } = o;
  const { a, b, c, bErr, interp } = tableau;
  const s = b.length;
  if (!(s >= 1) || c.length !== s || a.length !== s - 1) bad(name, `tableau needs b, c of equal length s and s − 1 rows in a (got b ${s}, c ${c.length}, a ${a.length})`);
  a.forEach((row, i) => {
    if (row.length !== i + 1) bad(name, `tableau row a[${i}] must have ${i + 1} entries (explicit method), got ${row.length}`);
  });
  if (c[0] !== 0) bad(name, 'c[0] must be 0 for an explicit method');
  if (bErr && bErr.length !== s) bad(name, `bErr must have ${s} entries`);
  if (interp && interp.length !== s) bad(name, `interp must have ${s} rows`);
  if (!(Number.isInteger(o.order) && o.order > 0)) bad(name, `order must be a positive integer, got ${o.order}`);
  const lastRow = a[s - 2];
  const fsal = s > 1 && c[s - 1] === 1 && b[s - 1] === 0 && lastRow !== undefined && lastRow.every((v, j) => v === b[j]);
  const adaptive = bErr !== undefined;

  function step({ f, t0, dt, y0, f0, linearCombination: lc }: StepContext): StepResult {
    const k: tf.Tensor[][] = [f0 ? f0.slice() : f(t0, y0)];
    for (let i = 1; i < s; i++) {
      const row = a[i - 1] as readonly number[];
      const yi = lc(y0, row.map((aij, j) => [aij * dt, k[j] as tf.Tensor[]] as const));
      k.push(f(t0 + (c[i] as number) * dt, yi));
    }
    const y1 = lc(y0, b.map((bj, j) => [bj * dt, k[j] as tf.Tensor[]] as const));
    const out: StepResult = { y1, dense: k };
    if (bErr) out.yErr = lc(null, bErr.map((ej, j) => [ej * dt, k[j] as tf.Tensor[]] as const));
    if (fsal) out.f1 = k[s - 1] as tf.Tensor[];
    return out;
  }

  const plugin: SolverPlugin<N> = {
    kind: 'solver',
    name,
    order: o.order,
    adaptive,
    stages: fsal && adaptive ? s - 1 : s,
    ...(o.errorOrder !== undefined ? { errorOrder: o.errorOrder } : {}),
    ...(o.description !== undefined ? { description: o.description } : {}),
    step,
    ...(interp
      ? {
          interpolate({ theta, dt, y0, dense, linearCombination: lc }: InterpolateContext): tf.Tensor[] {
            if (!dense) bad(name, 'interpolate needs the stages of the step');
            const w = interp.map((row) => row.reduce((acc, v, p) => acc + v * theta ** (p + 1), 0) * dt);
            return lc(y0, w.map((wi, i) => [wi, dense[i] as readonly tf.Tensor[]] as const));
          },
        }
      : {}),
  };
  return Object.freeze(plugin);
}

/**
 * Dense-output weights of torchdiffeq's quartic fit through y0, y1, y_mid = y(t0 + dt/2), f0, f1
 * (FSAL methods: f1 is the last stage), expressed on the stages. `cMid` are the weights of y_mid.
 */
export function quarticInterpFromCMid(b: readonly number[], cMid: readonly number[]): number[][] {
  const s = b.length;
  return b.map((bi, i) => {
    const F0 = i === 0 ? 1 : 0;
    const F1 = i === s - 1 ? 1 : 0;
    const M = cMid[i] as number;
    return [F0, F1 - 4 * F0 - 5 * bi + 16 * M, 5 * F0 - 3 * F1 + 14 * bi - 32 * M, 2 * (F1 - F0) - 8 * bi + 16 * M];
  });
}

export type SolverDefinition<N extends string> = Omit<SolverPlugin<N>, 'kind'>;

/** Define a solver from a step function (see the README's custom-solver example). */
export function defineSolver<N extends string>(def: SolverDefinition<N>): SolverPlugin<N> {
  const name = def.name;
  if (typeof def !== 'object' || def === null) bad(String(name), 'definition must be an object');
  if (typeof def.step !== 'function') bad(name, 'step must be a function');
  if (!(Number.isInteger(def.order) && def.order > 0)) bad(name, `order must be a positive integer, got ${def.order}`);
  if (typeof def.adaptive !== 'boolean') bad(name, 'adaptive must be true or false');
  if (def.interpolate !== undefined && typeof def.interpolate !== 'function') bad(name, 'interpolate must be a function');
  return Object.freeze({ ...def, kind: 'solver' as const });
}
