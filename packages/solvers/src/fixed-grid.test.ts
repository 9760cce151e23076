import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { odeint, odeintAsync } from './odeint.js';
import { eulerSolver, heunSolver, midpointSolver, rk38Solver, rk4Solver } from './builtins.js';
import { intervalSteps } from './integrate.js';
import { checkSolver } from './testing/index.js';

const read = (x: tf.Tensor) => Array.from(x.dataSync());

describe('fixed-grid methods', () => {
  // float32: y' = y² on [0, 0.75]; steps chosen so truncation error dominates roundoff
  // (order 1: h = 1/64..1/512, order 2: 1/16..1/128, order 4: 1/8..1/24).
  it.each([
    [eulerSolver, 1],
    [midpointSolver, 2],
    [heunSolver, 2],
    [rk4Solver, 4],
    [rk38Solver, 4],
  ] as const)('$name converges with its order (±0.2), no leaks, deterministic', async (solver, p) => {
    const r = await checkSolver(solver, { order: p });
    console.log(`${solver.name}: empirical order ${r.empiricalOrder.toFixed(3)} (expected ${p}); errors ${r.errors.map((e) => e.error.toExponential(2)).join(', ')}`);
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.nfePerStep).toBe(solver.stages);
  });

  it('rk4 and rk38 differ (classic vs 3/8 rule) but agree to 4th order', () => {
    const y0 = tf.scalar(1);
    const f = (t: number, y: tf.Tensor) => tf.mul(tf.square(y), -2 * t);
    const a = odeint(f, y0, [0, 1], { method: 'rk4', stepSize: 0.1 });
    const b = odeint(f, y0, [0, 1], { method: 'rk38', stepSize: 0.1 });
    const va = read(a.ys[1] as tf.Tensor)[0] as number;
    const vb = read(b.ys[1] as tf.Tensor)[0] as number;
    expect(va).not.toBe(vb);
    expect(Math.abs(va - 0.5)).toBeLessThan(2e-5);
    tf.dispose([y0, ...a.ys, ...b.ys]);
  });

  it('a step that does not divide the interval lands exactly on every requested time', () => {
    const before = tf.memory().numTensors;
    const grid = intervalSteps(0, 1, 0.3);
    expect(grid.map((x) => +x.toFixed(12))).toEqual([0, 0.3, 0.6, 0.9, 1]);
    expect(intervalSteps(0, 0.9, 0.3)).toHaveLength(4); // 0.9/0.3 = 3.0000000000000004: no tiny 4th step
    expect(intervalSteps(1, 0, 0.4).map((x) => +x.toFixed(12))).toEqual([1, 0.6, 0.2, 0]);
    const times: number[] = [];
    const y0 = tf.scalar(0);
    // y' = 1: y(t) = t exactly for any RK method, so y(t_i) = t_i iff the grid ends on t_i.
    const sol = odeint((t, y) => (times.push(t), tf.onesLike(y)), y0, [0, 0.25, 1], { method: 'euler', stepSize: 0.3 });
    expect(read(sol.ys[1] as tf.Tensor)[0]).toBeCloseTo(0.25, 6);
    expect(read(sol.ys[2] as tf.Tensor)[0]).toBeCloseTo(1, 6);
    expect(Math.max(...times)).toBeLessThan(1); // never evaluates past the end
    expect(sol.stats.accepted).toBe(1 + 3); // [0, .25]; [.25, .55, .85, 1]
    tf.dispose([y0, ...sol.ys]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('without stepSize takes one step per output interval (torchdiffeq)', () => {
    const y0 = tf.scalar(1);
    const sol = odeint((_t, y) => tf.neg(y), y0, [0, 0.1, 0.2, 0.3], { method: 'rk4' });
    expect(sol.stats).toEqual({ nfe: 12, accepted: 3, rejected: 0 });
    expect(read(sol.ys[3] as tf.Tensor)[0]).toBeCloseTo(Math.exp(-0.3), 6);
    tf.dispose([y0, ...sol.ys]);
  });

  it('integrates backwards for decreasing t; ys[0] is an independent copy of y0', async () => {
    const y0 = tf.tensor1d([Math.exp(-1), 2 * Math.exp(-1)]);
    const sol = odeint((_t, y) => tf.neg(y), y0, [1, 0.5, 0], { method: 'rk4', stepSize: 0.05 });
    expect(sol.ys[0]).not.toBe(y0);
    y0.dispose();
    expect(read(sol.ys[0] as tf.Tensor)[0]).toBeCloseTo(Math.exp(-1), 6);
    const v = read(sol.ys[2] as tf.Tensor);
    expect(v[0]).toBeCloseTo(1, 5);
    expect(v[1]).toBeCloseTo(2, 5);
    const y1 = tf.tensor1d([1, 2]);
    const a = await odeintAsync((_t, y) => tf.neg(y), y1, [1, 0.5, 0], { method: 'rk4', stepSize: 0.05 });
    expect(Array.from(await (a.ys[1] as tf.Tensor).data())).toEqual(read(odeint((_t, y) => tf.neg(y), y1, [1, 0.5, 0], { method: 'rk4', stepSize: 0.05 }).ys[1] as tf.Tensor));
    tf.dispose([y1, ...sol.ys, ...a.ys]);
  });

  it('tuple and record states (record keys in any order from f)', () => {
    const before = tf.memory().numTensors;
    const x: tf.Tensor = tf.scalar(1);
    const v: tf.Tensor = tf.scalar(0);
    // harmonic oscillator x'' = −x
    const sol = odeint((_t: number, s: Record<string, tf.Tensor>) => ({ v: tf.neg(s.x as tf.Tensor), x: s.v as tf.Tensor }) as Record<string, tf.Tensor>, { x, v }, [0, Math.PI / 2], { method: 'rk4', stepSize: 0.01 });
    const end = sol.ys[1] as Record<string, tf.Tensor>;
    expect(read(end.x as tf.Tensor)[0]).toBeCloseTo(0, 5);
    expect(read(end.v as tf.Tensor)[0]).toBeCloseTo(-1, 5);
    const tup = odeint((_t, [a, b]) => [b as tf.Tensor, tf.neg(a as tf.Tensor)], [x, v], [0, Math.PI], { method: 'rk38', stepSize: 0.01 });
    expect(read((tup.ys[1] as tf.Tensor[])[0] as tf.Tensor)[0]).toBeCloseTo(-1, 5);
    tf.dispose([x, v, ...sol.ys.flatMap((s) => Object.values(s)), ...tup.ys.flat()]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('a grid too fine to build', () => {
  it('step 1e-12 over [0, 1] (1e12 steps) ends at maxSteps without building the grid', () => {
    const before = tf.memory().numTensors;
    const y0 = tf.scalar(1);
    const onStep: number[] = [];
    const t0 = performance.now();
    const s = odeint((_t: number, y: tf.Tensor) => tf.neg(y), y0 as tf.Tensor, [0, 1], { method: 'euler', stepSize: 1e-12, maxSteps: 5, throw: false, onStep: (p) => onStep.push(p.t) });
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(s.status).toBe('max-steps');
    expect(s.message).toBe('maximum number of steps (5) reached at t=5e-12');
    expect(onStep).toEqual([1e-12, 2e-12, 3e-12, 4e-12, 5e-12]);
    const huge = odeint((_t: number, y: tf.Tensor) => tf.neg(y), y0 as tf.Tensor, [0, 1e308], { method: 'rk4', stepSize: 0.25, maxSteps: 3, throw: false });
    expect(huge.status).toBe('max-steps');
    tf.dispose([y0, ...s.ys, ...huge.ys]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
