/** The solver defaults: the one place rnode spells them (float32: torchdiffeq's 1e-7/1e-9 are out of reach; FFJORD trains at 1e-5). */
export const DEFAULTS = Object.freeze({
  method: 'dopri5',
  rtol: 1e-5,
  atol: 1e-5,
  norm: 'mixed',
  safety: 0.9,
  ifactor: 10,
  dfactor: 0.2,
  maxSteps: 100_000,
  minStep: 0,
  maxStep: Infinity,
  controller: 'integral',
});
