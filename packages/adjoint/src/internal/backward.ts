import * as tf from '@tensorflow/tfjs-core';
import { flattenState, unflattenState, type OdeState, type StateSpec, type WithAdjointRates } from '@rnode/core';
import type { BackwardStats } from '../types.js';
import { evalVjp } from './tape.js';
import type { OdeFunc, OdeintOptions, OdeSolution } from './solvers.js';

/**
 * The augmented dynamics of the continuous adjoint on the tuple state [y…, a_y…, a_θ…]:
 *   dy/dt = f(t, y),  da_y/dt = −a_yᵀ ∂f/∂y,  da_θ/dt = −a_yᵀ ∂f/∂θ.
 */
export function augmentedDynamics<S extends OdeState>(
  f: WithAdjointRates<S>,
  spec: StateSpec,
  nLeaves: number,
  params: readonly tf.Tensor[],
): OdeFunc<tf.Tensor[]> {
  const rates = f.adjointRates;
  return (t, aug) =>
    tf.tidy(() => {
      const y = aug.slice(0, nLeaves);
      const a = aug.slice(nLeaves, 2 * nLeaves);
      if (rates) {
        // The function computes its own augmented dynamics (e.g. one fused kernel): no tape.
        const r = rates(t, unflattenState<S>(y, spec), unflattenState<S>(a, spec), params);
        if (r) return [...leavesOf(r.f, spec), ...leavesOf(r.dadt, spec), ...r.dparams];
      }
      const r = evalVjp(f, t, y, a, spec, params);
      return [...r.f, ...r.vjpY.map((g) => tf.neg(g)), ...r.vjpP.map((g) => tf.neg(g))];
    });
}

/** A state's leaves in the order of `spec` (records by key, not by insertion order). */
function leavesOf<S extends OdeState>(s: S, spec: StateSpec): tf.Tensor[] {
  if (spec.type === 'record') return spec.keys.map((k) => (s as Record<string, tf.Tensor>)[k]!);
  return flattenState(s).leaves;
}

export function emptyBackwardStats(): BackwardStats {
  return { nfe: 0, accepted: 0, rejected: 0, intervals: 0, done: false };
}

type Solve = (f: OdeFunc<tf.Tensor[]>, y0: tf.Tensor[], t: number[], o: OdeintOptions) => OdeSolution<tf.Tensor[]>;
type SolveAsync = (
  f: OdeFunc<tf.Tensor[]>,
  y0: tf.Tensor[],
  t: number[],
  o: OdeintOptions,
) => Promise<OdeSolution<tf.Tensor[]>>;

export interface BackwardProblem<S extends OdeState> {
  f: OdeFunc<S>;
  spec: StateSpec;
  times: readonly number[];
  params: readonly tf.Tensor[];
  /** Stored forward states, ys[i] = leaves of y(t[i]). Not disposed here. */
  ys: readonly (readonly tf.Tensor[])[];
  /** Output gradients dL/dy(t[i]) per leaf. Not disposed here. */
  gradYs: readonly (readonly tf.Tensor[])[];
  options: OdeintOptions;
  stats: BackwardStats;
}

/** One backward pass, as a generator that yields each interval's solve (run sync or async). */
function* backwardLoop<S extends OdeState>(
  p: BackwardProblem<S>,
): Generator<{ aug: tf.Tensor[]; t: number[] }, { dy0: tf.Tensor[]; dparams: tf.Tensor[] }, OdeSolution<tf.Tensor[]>> {
  const n = p.ys[0]?.length ?? 0;
  const last = p.ys.length - 1;
  let a: tf.Tensor[] = (p.gradYs[last] as tf.Tensor[]).map((g) => tf.clone(g));
  let aTheta: tf.Tensor[] = p.params.map((q) => tf.zerosLike(q));
  for (let i = last; i >= 1; i--) {
    const t1 = p.times[i] as number;
    const t0 = p.times[i - 1] as number;
    const yi = p.ys[i] as tf.Tensor[];
    let aNew: tf.Tensor[] = a;
    let thetaNew: tf.Tensor[] = aTheta;
    if (t1 !== t0) {
      const sol = yield { aug: [...yi, ...a, ...aTheta], t: [t1, t0] };
      p.stats.nfe += sol.stats.nfe;
      p.stats.accepted += sol.stats.accepted;
      p.stats.rejected += sol.stats.rejected;
      p.stats.intervals += 1;
      const end = sol.ys[sol.ys.length - 1] as tf.Tensor[];
      aNew = end.slice(n, 2 * n);
      thetaNew = end.slice(2 * n);
      // Keep the adjoints; the solver's copy of y(t[i−1]) is replaced by the stored one.
      const keep = new Set(end.slice(n));
      for (const s of sol.ys) for (const x of s) if (!keep.has(x)) x.dispose();
      a.forEach((x) => x.dispose());
      aTheta.forEach((x) => x.dispose());
    }
    const g = p.gradYs[i - 1] as tf.Tensor[];
    const sum = aNew.map((x, k) => tf.add(x, g[k] as tf.Tensor));
    aNew.forEach((x) => x.dispose());
    a = sum;
    aTheta = thetaNew;
  }
  return { dy0: a, dparams: aTheta };
}

function augSolveArgs<S extends OdeState>(p: BackwardProblem<S>): OdeFunc<tf.Tensor[]> {
  return augmentedDynamics(p.f, p.spec, p.ys[0]?.length ?? 0, p.params);
}

export function runBackward<S extends OdeState>(p: BackwardProblem<S>, solve: Solve): { dy0: tf.Tensor[]; dparams: tf.Tensor[] } {
  const aug = augSolveArgs(p);
  const it = backwardLoop(p);
  let r = it.next();
  while (!r.done) {
    const { aug: y0, t } = r.value;
    r = it.next(solve(aug, y0, t, p.options));
  }
  p.stats.done = true;
  return r.value;
}

export async function runBackwardAsync<S extends OdeState>(
  p: BackwardProblem<S>,
  solve: SolveAsync,
): Promise<{ dy0: tf.Tensor[]; dparams: tf.Tensor[] }> {
  const aug = augSolveArgs(p);
  const it = backwardLoop(p);
  let r = it.next();
  while (!r.done) {
    const { aug: y0, t } = r.value;
    r = it.next(await solve(aug, y0, t, p.options));
  }
  p.stats.done = true;
  return r.value;
}
