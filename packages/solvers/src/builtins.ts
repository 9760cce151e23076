import { register, resolve } from '@rnode/core';
import { integralController, pidController } from './controllers.js';
import { rungeKutta } from './runge-kutta.js';
import { BOSH3, DOPRI5, EULER, HEUN, MIDPOINT, RK38, RK4, TSIT5 } from './tableaux.js';
import { DEFAULTS } from './defaults.js';
import type { ControllerPlugin, ControllerRef, SolverPlugin, SolverRef } from './types.js';

declare module '@rnode/core' {
  interface SolverRegistry {
    euler: true;
    midpoint: true;
    heun: true;
    rk4: true;
    rk38: true;
    dopri5: true;
    bosh3: true;
    tsit5: true;
  }
  interface ControllerRegistry {
    integral: true;
    pid: true;
  }
}

export const eulerSolver = rungeKutta({ name: 'euler', order: 1, tableau: EULER, description: 'forward Euler' });
export const midpointSolver = rungeKutta({ name: 'midpoint', order: 2, tableau: MIDPOINT, description: 'explicit midpoint' });
export const heunSolver = rungeKutta({ name: 'heun', order: 2, tableau: HEUN, description: "Heun's method (explicit trapezoid; torchdiffeq heun2)" });
/** The classic RK4 (1/6, 1/3, 1/3, 1/6). torchdiffeq's `rk4` is rnode's `rk38`. */
export const rk4Solver = rungeKutta({ name: 'rk4', order: 4, tableau: RK4, description: 'classic Runge–Kutta 4' });
/** Kutta's 3/8 rule: torchdiffeq's `rk4`. */
export const rk38Solver = rungeKutta({ name: 'rk38', order: 4, tableau: RK38, description: "Kutta's 3/8 rule (torchdiffeq's rk4)" });
export const dopri5Solver = rungeKutta({ name: 'dopri5', order: 5, tableau: DOPRI5, description: 'Dormand–Prince 5(4), quartic dense output' });
export const bosh3Solver = rungeKutta({ name: 'bosh3', order: 3, tableau: BOSH3, description: 'Bogacki–Shampine 3(2), Hermite dense output' });
export const tsit5Solver = rungeKutta({ name: 'tsit5', order: 5, tableau: TSIT5, description: 'Tsitouras 5(4), own dense output' });

export const builtinSolvers: readonly SolverPlugin[] = [eulerSolver, midpointSolver, heunSolver, rk4Solver, rk38Solver, dopri5Solver, bosh3Solver, tsit5Solver];
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const builtinControllers: readonly ControllerPlugin<string, any>[] = [integralController, pidController];

let registered = false;
/** Register the built-in solvers and controllers (idempotent; odeint calls it before resolving names). */
export function registerBuiltinSolvers(): void {
  if (registered) return;
  register(builtinSolvers as SolverPlugin[], builtinControllers as ControllerPlugin[]);
  registered = true;
}

/**
 * A solver plugin from an object or a registered name (`'dopri5'`, `'rk4'`, …; default
 * `DEFAULTS.method`). Registers the built-ins first, so callers never do. `option` names the
 * option at fault in the UNKNOWN_PLUGIN error.
 */
export function resolveSolver(ref: SolverRef | undefined, option = 'method'): SolverPlugin {
  registerBuiltinSolvers();
  return resolve<SolverPlugin>('solver', ref ?? DEFAULTS.method, option);
}

/** A step-size controller from an object or a registered name (`'integral'`, `'pid'`; default `DEFAULTS.controller`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function resolveController(ref: ControllerRef | undefined, option = 'controller'): ControllerPlugin<string, any> {
  registerBuiltinSolvers();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return resolve<ControllerPlugin<string, any>>('controller', ref ?? DEFAULTS.controller, option);
}

/** Whether a solver (name or plugin; default `DEFAULTS.method`) chooses its own steps (adaptive) rather than a fixed grid. */
export function isAdaptiveSolver(ref: SolverRef | undefined, option = 'method'): boolean {
  return resolveSolver(ref, option).adaptive;
}
