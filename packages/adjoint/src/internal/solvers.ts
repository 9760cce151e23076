/**
 * The one place `@rnode/adjoint` touches `@rnode/solvers`; the rest of the package
 * imports the solver API from here.
 */

export { DEFAULTS, checkTimes, isAdaptiveSolver, odeint, odeintAsync, odeintOptionsSchema } from '@rnode/solvers';
export type { OdeFunc, OdeintOptions, OdeSolution, OdeStats, SolverRef } from '@rnode/solvers';
