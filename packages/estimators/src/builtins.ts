import { register, resolve, type PluginRef } from '@rnode/core';
import { exactEstimator, hutchinsonGaussianEstimator, hutchinsonRademacherEstimator } from './estimators.js';
import { jacobianFrobeniusRegularizer, kineticEnergyRegularizer } from './regularizers.js';
import type { EstimatorPlugin, RegularizerPlugin } from './types.js';

declare module '@rnode/core' {
  interface EstimatorRegistry {
    exact: true;
    hutchinson: true;
    'hutchinson-rademacher': true;
  }
  interface RegularizerRegistry {
    'kinetic-energy': true;
    'jacobian-frobenius': true;
  }
}

/** The built-in estimator and regularizer plugins. */
export const builtinEstimators: readonly EstimatorPlugin[] = [exactEstimator, hutchinsonGaussianEstimator, hutchinsonRademacherEstimator];
export const builtinRegularizers: readonly RegularizerPlugin[] = [kineticEnergyRegularizer, jacobianFrobeniusRegularizer];

let registered = false;
/**
 * Register the built-ins (estimators and regularizers). Idempotent; the
 * resolving helpers call it, so importing the package has no side effect.
 */
export function registerBuiltinEstimators(): void {
  if (registered) return;
  register(builtinEstimators as EstimatorPlugin[], builtinRegularizers as RegularizerPlugin[]);
  registered = true;
}

export type EstimatorRef = PluginRef<EstimatorPlugin>;
export type RegularizerRef = PluginRef<RegularizerPlugin>;

/** An estimator plugin from an object or a registered name ('exact', 'hutchinson', 'hutchinson-rademacher', …). */
export function resolveEstimator(ref: EstimatorRef, option = 'estimator'): EstimatorPlugin {
  registerBuiltinEstimators();
  return resolve<EstimatorPlugin>('estimator', ref, option);
}

/** A regularizer plugin from an object or a registered name ('kinetic-energy', 'jacobian-frobenius', …). */
export function resolveRegularizer(ref: RegularizerRef, option = 'regularizers'): RegularizerPlugin {
  registerBuiltinEstimators();
  return resolve<RegularizerPlugin>('regularizer', ref, option);
}
