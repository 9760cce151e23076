export type {
  VectorField,
  EstimatorPlugin,
  EstimatorResult,
  EstimatorOutput,
  RegularizerPlugin,
  RegularizerContext,
  RegularizerInput,
  FieldProbe,
  FusedCnfField,
  CnfRateScales,
} from './types.js';
export { vjp, jvp } from './vjp.js';
export { exactEstimator, hutchinson, hutchinsonGaussianEstimator, hutchinsonRademacherEstimator, hutchinsonOptionsSchema } from './estimators.js';
export type { HutchinsonOptions } from './estimators.js';
export {
  defineRegularizer,
  kineticEnergy,
  jacobianFrobenius,
  kineticEnergyRegularizer,
  jacobianFrobeniusRegularizer,
  kineticEnergyOptionsSchema,
  jacobianFrobeniusOptionsSchema,
} from './regularizers.js';
export type { RegularizerDefinition, KineticEnergyOptions, JacobianFrobeniusOptions, Reduction } from './regularizers.js';
export {
  registerBuiltinEstimators,
  resolveEstimator,
  resolveRegularizer,
  builtinEstimators,
  builtinRegularizers,
} from './builtins.js';
export type { EstimatorRef, RegularizerRef } from './builtins.js';
export { cnfDynamics, cnfDynamicsOptionsSchema, cnfInitialState } from './dynamics.js';
export type { CnfDynamicsOptions, CnfState, CnfOdeFunc, AdjointRatesFn } from './dynamics.js';
