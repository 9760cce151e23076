// How much validating odeint's options costs per call: the old hand-written checks (replicated
// here) vs parseOptions(odeintOptionsSchema). Run after a build: node apps/bench/scripts/options-cost.mjs
import { checkNumber, describe, parseOptions, RnodeError } from '@rnode/core';
import { odeintOptionsSchema } from '@rnode/solvers';
const OPTION_KEYS = ['method','rtol','atol','errorControl','norm','stepSize','firstStep','minStep','maxStep','maxSteps','safety','ifactor','dfactor','controller','throw','onStep'];
const DEFAULTS = { minStep: 0, maxStep: Infinity, maxSteps: 100000, safety: 0.9, ifactor: 10, dfactor: 0.2 };
// The old key-list check (core's checkOptions, removed once every options object had a schema).
function checkOptions(options, allowed, source) {
  const o = options ?? {};
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new RnodeError('INVALID_OPTIONS', `options must be an object, got ${describe(o)}`, { source });
  const unknown = Object.keys(o).filter((k) => !allowed.includes(k) && o[k] !== undefined);
  if (unknown.length > 0) throw new RnodeError('INVALID_OPTIONS', `unknown options ${unknown.join(', ')}`, { source });
  return o;
}
// The old odeint checks that the schema now does (per-leaf rtol/atol checks were and stay in perLeaf).
function before(options) {
  const o = checkOptions(options, OPTION_KEYS, 'odeint');
  const num = (v, name, c, d) => (v === undefined ? d : checkNumber(v, name, `option:${name}`, c));
  if (o.stepSize !== undefined) checkNumber(o.stepSize, 'stepSize', 'option:stepSize', 'positive');
  if (o.firstStep !== undefined) checkNumber(o.firstStep, 'firstStep', 'option:firstStep', 'positive');
  num(o.minStep, 'minStep', 'non-negative', 0); num(o.maxStep, 'maxStep', 'positive', Infinity);
  num(o.maxSteps, 'maxSteps', 'integer>0', 1e5);
  if (o.onStep !== undefined && typeof o.onStep !== 'function') throw new RnodeError('INVALID_OPTIONS', 'x');
  num(o.safety, 'safety', 'positive', 0.9); num(o.ifactor, 'ifactor', 'positive', 10); num(o.dfactor, 'dfactor', 'positive', 0.2);
  if (o.throw !== undefined && typeof o.throw !== 'boolean') throw new RnodeError('INVALID_OPTIONS', 'x');
  const norm = o.norm ?? 'mixed';
  if (norm !== 'mixed' && norm !== 'rms' && norm !== 'max') throw new RnodeError('INVALID_OPTIONS', 'x');
  return o;
}
const after = (o) => parseOptions(odeintOptionsSchema, o, 'odeint');
const cases = {
  'dopri5 {method,rtol,atol}': { method: 'dopri5', rtol: 1e-5, atol: 1e-5 },
  'rk4 {method,stepSize,maxSteps,throw,onStep}': { method: 'rk4', stepSize: 0.25, maxSteps: 1000, throw: false, onStep: () => {} },
  'per-component {rtol:[..3], atol, errorControl:[..3]}': { rtol: [1e-5, 1e-5, 1e-3], atol: 1e-6, errorControl: [true, true, false] },
  'none (undefined)': undefined,
};
function bench(fn, o) {
  for (let i = 0; i < 300000; i++) fn(o);
  let best = Infinity;
  for (let r = 0; r < 5; r++) { const N = 300000; const t0 = performance.now(); for (let i = 0; i < N; i++) fn(o); best = Math.min(best, (performance.now() - t0) * 1000 / N); }
  return best.toFixed(3);
}
for (const [name, o] of Object.entries(cases)) console.log(`${name}: before ${bench(before, o)} µs, after ${bench(after, o)} µs`);
