import type * as tf from '@tensorflow/tfjs-core';
import { RnodeError, register, resolve, type OdeState } from '@rnode/core';
import type { AdjointPlugin, AdjointRef, AdjointSolution, OdeintAdjointOptions } from './types.js';
import { odeintAdjoint } from './odeint-adjoint.js';
import { splitOptions } from './internal/options.js';
import { odeint, type OdeFunc } from './internal/solvers.js';

/** Check an adjoint plugin's shape and return it (typed by its name). */
export function defineAdjoint<N extends string>(plugin: Omit<AdjointPlugin<N>, 'kind'> & { kind?: 'adjoint' }): AdjointPlugin<N> {
  if (typeof plugin?.odeint !== 'function') {
    throw new RnodeError('INVALID_PLUGIN', `adjoint plugin "${String(plugin?.name)}" needs an odeint function`, {
      source: `adjoint:${String(plugin?.name)}`,
    });
  }
  return Object.freeze({ ...plugin, kind: 'adjoint' as const }) as AdjointPlugin<N>;
}

/**
 * Backprop through the solver: `odeint` under the caller's tape. Exact gradients of the
 * discrete solve; memory grows with the number of steps. `params` are not needed (the tape
 * finds them) and the adjoint-only options are ignored, so one options object serves both.
 */
export const backpropAdjoint: AdjointPlugin<'backprop'> = defineAdjoint({
  name: 'backprop',
  description: 'Backpropagation through the solver steps (discretize-then-optimize)',
  odeint<S extends OdeState>(
    f: OdeFunc<S>,
    y0: S,
    t: ArrayLike<number>,
    _params: readonly tf.Tensor[],
    options?: OdeintAdjointOptions,
  ): AdjointSolution<S> {
    const sol = odeint(f, y0, t, splitOptions(options, 'adjoint:backprop').forward);
    return { ...sol, backward: null };
  },
});

/** The continuous adjoint (optimize-then-discretize): `odeintAdjoint`. */
export const backsolveAdjoint: AdjointPlugin<'backsolve'> = defineAdjoint({
  name: 'backsolve',
  description: 'Continuous adjoint: solve the augmented system backwards in time (Chen et al. 2018)',
  odeint: odeintAdjoint,
});

declare module '@rnode/core' {
  interface AdjointRegistry {
    backprop: true;
    backsolve: true;
  }
}

export const builtinAdjoints: readonly AdjointPlugin[] = [backpropAdjoint, backsolveAdjoint];

let registered = false;
/** Register `backprop` and `backsolve` (idempotent; called on first lookup by name). */
export function registerBuiltinAdjoints(): void {
  if (registered) return;
  register(builtinAdjoints as AdjointPlugin[]);
  registered = true;
}

/** An adjoint plugin from its name or the plugin itself; an unknown name lists the registered ones. */
export function resolveAdjoint(ref: AdjointRef): AdjointPlugin {
  registerBuiltinAdjoints();
  return resolve<AdjointPlugin>('adjoint', ref, 'adjoint');
}

/**
 * Solve with gradients by the chosen adjoint (`'backprop'`, `'backsolve'`, or a plugin).
 *
 * ```ts
 * const { ys } = odeintWith('backsolve', f, y0, [0, 1], [W, b], { method: 'dopri5' });
 * ```
 */
export function odeintWith<S extends OdeState>(
  adjoint: AdjointRef,
  f: OdeFunc<S>,
  y0: S,
  t: ArrayLike<number>,
  params: readonly tf.Tensor[],
  options?: OdeintAdjointOptions,
): AdjointSolution<S> {
  return resolveAdjoint(adjoint).odeint(f, y0, t, params, options);
}
