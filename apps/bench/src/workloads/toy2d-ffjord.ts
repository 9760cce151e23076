import { toyIterationWorkload } from './toy2d.js';

/** WORKLOADS.md toy2d-ffjord: dopri5 rtol = atol = 1e-5 forward and adjoint, no regularizers. */
export const toy2dFfjord = toyIterationWorkload(
  'ffjord',
  'the same flow without RNODE (dopri5 1e-5, λ = 0): median s/iter over 50 after 5 warm-up, NFE forward/backward',
);
