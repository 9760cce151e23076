// The settings a shared link carries: encoded in the URL hash, decoded with validation.
import { describe, expect, it } from 'vitest';
import { decodeSettings, defaultSettings, encodeSettings, trainerOptions } from '../src/settings';

describe('settings in the URL', () => {
  it('defaults are the paper presets and encode to an empty hash', () => {
    const d = defaultSettings();
    expect(d.rnode).toEqual({ solver: 'rk38', stepSize: 0.25, rtol: 1e-5, atol: 1e-5, lambdaK: 0.01, lambdaJ: 0.01 });
    expect(d.ffjord).toMatchObject({ solver: 'dopri5', rtol: 1e-5, atol: 1e-5, lambdaK: 0, lambdaJ: 0 });
    expect(encodeSettings(d)).toBe('');
  });

  it('round-trips every changed knob, and only those', () => {
    const s = defaultSettings();
    Object.assign(s, { data: '8gaussians', seed: 3, hidden: [16, 8], batchSize: 64, lr: 0.005, iterations: 40, evalEvery: 0, vizEvery: 7, backend: 'wasm' });
    Object.assign(s.rnode, { solver: 'rk4', stepSize: 0.1, lambdaK: 0.1, lambdaJ: 0 });
    Object.assign(s.ffjord, { solver: 'bosh3', rtol: 1e-3, atol: 1e-4 });
    const h = encodeSettings(s);
    expect(h).toBe('data=8gaussians&seed=3&hidden=16-8&batch=64&lr=0.005&it=40&eval=0&viz=7&backend=wasm&r.solver=rk4&r.h=0.1&r.lk=0.1&r.lj=0&f.solver=bosh3&f.rtol=0.001&f.atol=0.0001');
    expect(decodeSettings(`#${h}`)).toEqual(s);
  });

  it('ignores unknown and invalid values (keeps the defaults)', () => {
    const s = decodeSettings('#data=nope&seed=-1&hidden=0-5&batch=1.5&lr=abc&backend=gpu&r.solver=rk9&r.h=5&f.rtol=0');
    expect(s).toEqual(defaultSettings());
  });

  it('gives createTrainer the step size of a fixed-grid solver and the tolerances of an adaptive one', () => {
    const s = decodeSettings('#r.h=0.5&f.rtol=0.001');
    expect(trainerOptions(s, 'rnode')).toEqual({ preset: 'rnode', solver: 'rk38', stepSize: 0.5, regularizers: { 'kinetic-energy': 0.01, 'jacobian-frobenius': 0.01 }, batchSize: 256, lr: 1e-3, seed: 0 });
    expect(trainerOptions(s, 'ffjord')).toEqual({ preset: 'ffjord', solver: 'dopri5', rtol: 1e-3, atol: 1e-5, regularizers: { 'kinetic-energy': 0, 'jacobian-frobenius': 0 }, batchSize: 256, lr: 1e-3, seed: 0 });
  });
});
