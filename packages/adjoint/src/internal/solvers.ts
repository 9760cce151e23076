/**
 * The one place `@rnode/adjoint` touches `@rnode/solvers`; the rest of the package
 * imports the solver API from here.
 */
import { resolve } from '@rnode/core';
import { DEFAULTS, registerBuiltinSolvers, type SolverPlugin, type SolverRef } from '@rnode/solvers';

export { checkTimes, odeint, odeintAsync } from '@rnode/solvers';
export type { OdeFunc, OdeintOptions, OdeSolution, OdeStats, SolverRef } from '@rnode/solvers';

export const DEFAULT_RTOL: number = DEFAULTS.rtol;
export const DEFAULT_ATOL: number = DEFAULTS.atol;

/** Whether a solver (name or plugin; default: the solvers' default method) is adaptive. */
export function isAdaptive(ref: SolverRef | undefined, option: string): boolean {
  registerBuiltinSolvers();
  return resolve<SolverPlugin>('solver', ref ?? DEFAULTS.method, option).adaptive;
}
