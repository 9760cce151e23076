import * as tf from '@tensorflow/tfjs-core';
import { isRnodeError, register, unregister } from '@rnode/core';
import { describe, expect, it } from 'vitest';
import { ralston2, ralston2Tableau } from './examples/custom-solver.js';
import { defineSolver, odeint, rungeKutta } from './index.js';
import { checkSolver } from './testing/index.js';
import { dopri5Solver } from './builtins.js';

describe('user-defined solvers', () => {
  it.each([ralston2, ralston2Tableau])('$name passes checkSolver (order 2)', async (solver) => {
    const r = await checkSolver(solver, { order: 2 });
    console.log(`${solver.name}: empirical order ${r.empiricalOrder.toFixed(3)}`);
    expect(r.ok).toBe(true);
    expect(r.leakedTensors).toBe(0);
    expect(r.deterministic).toBe(true);
  });

  it('checkSolver reports a wrong claimed order', async () => {
    const r = await checkSolver(ralston2, { order: 3 });
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toMatch(/empirical order/);
  });

  it('checkSolver runs adaptive plugins on a fixed grid (dopri5: float32 cannot show order 5; here > 3.5)', async () => {
    const r = await checkSolver(dopri5Solver, { order: 5, steps: [1 / 4, 1 / 6, 1 / 8], tolerance: 1 });
    expect(r.empiricalOrder).toBeGreaterThan(3.5);
    expect(r.leakedTensors).toBe(0);
  });

  it('registered by name, works with tuple states; README example runs', () => {
    register(ralston2);
    try {
      const before = tf.memory().numTensors;
      const x: tf.Tensor = tf.scalar(1);
      const v: tf.Tensor = tf.scalar(0);
      const sol = odeint((_t, [p, q]) => [q as tf.Tensor, tf.neg(p as tf.Tensor)], [x, v], [0, Math.PI], { method: 'ralston2', stepSize: 0.01 });
      expect((sol.ys[1] as tf.Tensor[])[0]?.dataSync()[0]).toBeCloseTo(-1, 3);
      tf.dispose([x, v, ...sol.ys.flat()]);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      unregister('solver', ralston2);
    }
  });

  it('an adaptive tableau from the user (Heun–Euler 2(1)) integrates to tolerance', () => {
    const heunEuler = rungeKutta({ name: 'heun-euler', order: 2, tableau: { a: [[1]], b: [0.5, 0.5], c: [0, 1], bErr: [-0.5, 0.5] } });
    expect(heunEuler.adaptive).toBe(true);
    const y0 = tf.scalar(1);
    const sol = odeint((_t, y) => tf.neg(y), y0, [0, 0.3, 1], { method: heunEuler, rtol: 1e-5, atol: 1e-6 });
    expect(sol.ys[1]?.dataSync()[0]).toBeCloseTo(Math.exp(-0.3), 4);
    expect(sol.ys[2]?.dataSync()[0]).toBeCloseTo(Math.exp(-1), 4);
    tf.dispose([y0, ...sol.ys]);
  });

  it('invalid definitions are INVALID_PLUGIN', () => {
    const bad = [
      () => defineSolver({ name: 'x', order: 0, adaptive: false, step: () => ({ y1: [] }) }),
      () => defineSolver({ name: 'x', order: 1, adaptive: false } as never),
      () => rungeKutta({ name: 'x', order: 1, tableau: { a: [[1, 2]], b: [0.5, 0.5], c: [0, 1] } }),
      () => rungeKutta({ name: 'x', order: 1, tableau: { a: [], b: [1], c: [0.5] } }),
    ];
    for (const b of bad) {
      try {
        b();
        expect.unreachable();
      } catch (e) {
        expect(isRnodeError(e, 'INVALID_PLUGIN')).toBe(true);
      }
    }
  });

  it('a solver whose y1 has the wrong shape is a SHAPE_MISMATCH error naming it (fixed grid and adaptive), leaking nothing', () => {
    const wrong = (adaptive: boolean) =>
      defineSolver({
        name: adaptive ? 'wrong-shape-adaptive' : 'wrong-shape',
        order: 1,
        adaptive,
        // y1 is [3, 3] where the state is [2]
        step: ({ y0 }) => ({ y1: y0.map(() => tf.zeros([3, 3])), ...(adaptive ? { yErr: y0.map((y) => tf.zerosLike(y)) } : {}) }),
      });
    for (const solver of [wrong(false), wrong(true)]) {
      const y0 = tf.tensor1d([1, 2]);
      const before = tf.memory().numTensors;
      let err: unknown;
      try {
        odeint((_t, y) => tf.neg(y), y0, [0, 1], { method: solver, ...(solver.adaptive ? {} : { stepSize: 0.5 }) });
      } catch (e) {
        err = e;
      }
      expect(isRnodeError(err, 'SHAPE_MISMATCH')).toBe(true);
      expect((err as Error).message).toContain(`solver "${solver.name}" returned y1 of shape [3,3], the state's is [2]`);
      expect(tf.memory().numTensors).toBe(before);
      y0.dispose();
    }
  });
});
