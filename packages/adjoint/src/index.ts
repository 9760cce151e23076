export { odeintAdjoint } from './odeint-adjoint.js';
export { odeintAdjointOptionsSchema } from './types.js';
export { odeintAdjointAsync } from './odeint-adjoint-async.js';
export {
  backpropAdjoint,
  backsolveAdjoint,
  builtinAdjoints,
  defineAdjoint,
  odeintWith,
  registerBuiltinAdjoints,
  resolveAdjoint,
} from './plugins.js';
export type {
  AdjointPlugin,
  AdjointRef,
  AdjointSolution,
  AsyncAdjointGradients,
  AsyncAdjointSolution,
  BackwardStats,
  OdeintAdjointOptions,
} from './types.js';
/**
 * The solves without gradients, their options and defaults: the solver API a package above the
 * adjoint needs besides `odeintWith`, so that `@rnode/models` reaches `@rnode/solvers` only
 * through this package (their one home stays `@rnode/solvers`; these are re-exports).
 */
export { DEFAULTS, odeint, odeintAsync } from './internal/solvers.js';
export type { OdeFunc, OdeSolution, OdeStats, OdeintOptions, SolverRef } from './types.js';
