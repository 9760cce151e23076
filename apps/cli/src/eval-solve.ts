/**
 * The test-time solve of eval, sample, plot and the end of a training run: the solve flags
 * (`--solver`, `--step-size`, `--rtol`, `--atol`, `--max-steps`) over @rnode/solvers' defaults
 * (dopri5 at 1e-5), within the evaluation budget of watch.ts.
 */
import { DEFAULTS, type SolverRef } from '@rnode/solvers';
import { evalWatch } from './watch.js';

export interface SolveFlags {
  solver?: string;
  stepSize?: number;
  rtol?: number;
  atol?: number;
  maxSteps?: number;
}

export interface EvalSolve {
  method: SolverRef;
  rtol: number;
  atol: number;
  stepSize?: number;
  /** The evaluation budget (--max-steps, default 10,000 step attempts per solve). */
  maxSteps: number;
  /** Progress and the time budget (watch.ts). */
  onStep: NonNullable<import('@rnode/solvers').OdeintOptions['onStep']>;
}

export function evalSolve(f: SolveFlags): EvalSolve {
  return {
    method: (f.solver ?? DEFAULTS.method) as SolverRef, // checked against the registry (plugins.ts)
    rtol: f.rtol ?? DEFAULTS.rtol,
    atol: f.atol ?? DEFAULTS.atol,
    ...(f.stepSize !== undefined ? { stepSize: f.stepSize } : {}),
    maxSteps: f.maxSteps ?? evalWatch.maxSteps,
    onStep: evalWatch.onStep,
  };
}

/** The solve flags that were given (`--solver`, `--step-size`, `--rtol`, `--atol`, `--max-steps`), without the undefined ones. */
export function givenSolveFlags(f: { solver?: string; stepSize?: number; rtol?: number; atol?: number; maxSteps?: number }) {
  const out: { solver?: string; stepSize?: number; rtol?: number; atol?: number; maxSteps?: number } = {};
  if (f.maxSteps !== undefined) out.maxSteps = f.maxSteps;
  if (f.solver !== undefined) out.solver = f.solver;
  if (f.stepSize !== undefined) out.stepSize = f.stepSize;
  if (f.rtol !== undefined) out.rtol = f.rtol;
  if (f.atol !== undefined) out.atol = f.atol;
  return out;
}
