export { odeintAdjoint } from './odeint-adjoint.js';
export { odeintAdjointOptionsSchema } from './types.js';
export { odeintAdjointAsync } from './odeint-adjoint-async.js';
export {
  backprop,
  backsolve,
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
