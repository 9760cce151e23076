export { odeint, odeintAsync, checkTimes } from './odeint.js';
export { DEFAULTS } from './defaults.js';
export { rungeKutta, defineSolver, lincomb, hermiteInterpolate, quarticInterpFromCMid } from './runge-kutta.js';
export type { Tableau, RungeKuttaOptions, SolverDefinition } from './runge-kutta.js';
export { integralController, pid, pidController, pidOptionsSchema, type PidOptions } from './controllers.js';
export { builtinSolvers, builtinControllers, registerBuiltinSolvers, resolveSolver, resolveController, isAdaptiveSolver, euler, midpoint, heun, rk4, rk38, dopri5, bosh3, tsit5 } from './builtins.js';
export * as tableaux from './tableaux.js';
export type * from './types.js';
export { odeintOptionsSchema, type OdeintOptions } from './options.js';
