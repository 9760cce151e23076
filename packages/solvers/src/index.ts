export { odeint, odeintAsync, checkTimes } from './odeint.js';
export { DEFAULTS } from './defaults.js';
export { rungeKutta, defineSolver, hermiteInterpolate, quarticInterpFromCMid } from './runge-kutta.js';
export { linearCombination } from './linear-combination.js';
export type { Tableau, RungeKuttaOptions, SolverDefinition } from './runge-kutta.js';
export { integralController, pid, pidController, type PidOptions } from './controllers.js';
export { builtinSolvers, builtinControllers, registerBuiltinSolvers, resolveSolver, resolveController, isAdaptiveSolver, euler, midpoint, heun, rk4, rk38, dopri5, bosh3, tsit5 } from './builtins.js';
export * as tableaux from './tableaux.js';
export type * from './types.js';
