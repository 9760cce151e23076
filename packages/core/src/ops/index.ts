export {
  safeTanh,
  safeSigmoid,
  safeExp,
  safeElu,
  softplus,
  swish,
  identity,
  activations,
  getActivation,
  activationDerivative,
  ACTIVATION_NAMES,
} from './activations.js';
export type { Activation, ActivationName } from './activations.js';
