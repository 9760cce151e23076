import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, test } from 'vitest';
import { odeint } from '@rnode/solvers';
import { odeintAdjoint } from './index.js';
import { mkVar, neuralOde, randn, weightedLoss } from './internal/test-problems.js';

/**
 * Memory test. f samples tf.memory().numTensors on every call; we take the high-water mark
 * over the calls made during the backward pass (after the forward solve has returned), for
 * the same problem on [0, 1] solved with rk4 at N = 20 and 2N = 40 steps. With the adjoint
 * the forward solve records no tape and the backward solve keeps one step alive at a time,
 * so the high-water marks must be equal (we allow 2 tensors of slack). Backprop through the
 * solver is measured for contrast: its tape grows with the number of steps.
 */
function highWater(mode: 'adjoint' | 'backprop', steps: number): { peak: number; atLoss: number } {
  const net = neuralOde(2, 16, 41);
  const y0 = mkVar(tf.tensor2d(randn(16, 3), [8, 2]), `y0_mem_${mode}_${steps}`);
  let phase: 'forward' | 'backward' = 'forward';
  let peak = 0;
  let atLoss = 0;
  const f = (t: number, y: tf.Tensor) => {
    if (phase === 'backward') peak = Math.max(peak, tf.memory().numTensors);
    return net.f(t, y);
  };
  const opts = { method: 'rk4', stepSize: 1 / steps } as const;
  const base = tf.memory().numTensors;
  const r = tf.variableGrads(() => {
    const ys =
      mode === 'adjoint' ? odeintAdjoint(f, y0 as tf.Tensor, [0, 1], net.params, opts).ys : odeint(f, y0 as tf.Tensor, [0, 1], opts).ys;
    phase = 'backward';
    atLoss = tf.memory().numTensors;
    return weightedLoss(ys);
  }, [y0, ...net.params]);
  tf.dispose([r.value, ...Object.values(r.grads)]);
  y0.dispose();
  net.dispose();
  return { peak: peak - base, atLoss: atLoss - base };
}

describe('memory', () => {
  test('adjoint: live tensors during the backward pass do not grow with the number of steps', () => {
    const before = tf.memory().numTensors;
    const n = highWater('adjoint', 20);
    const n2 = highWater('adjoint', 40);
    // backprop: f is not called during its backward pass (the tape is), so we compare the
    // tensors alive when the forward solve returns instead.
    const b = highWater('backprop', 20);
    const b2 = highWater('backprop', 40);
    console.log(
      `[memory ${process.env.RNODE_BACKEND}] live tensors above baseline — adjoint: backward high-water N=20 ${n.peak}, 2N=40 ${n2.peak}; ` +
        `after forward N=20 ${n.atLoss}, 2N=40 ${n2.atLoss}. backprop after forward (tape): N=20 ${b.atLoss}, 2N=40 ${b2.atLoss}`,
    );
    expect(n.peak).toBeGreaterThan(0);
    expect(Math.abs(n2.peak - n.peak)).toBeLessThanOrEqual(2);
    expect(n2.atLoss).toBe(n.atLoss);
    expect(b2.atLoss).toBeGreaterThan(b.atLoss); // the contrast: backprop's tape grows with N
    expect(tf.memory().numTensors).toBe(before);
  });

  test('no leaks over 100 solves with gradients (and without a tape)', () => {
    const net = neuralOde(2, 8, 51);
    const y0 = mkVar(tf.tensor2d(randn(4, 4), [2, 2]), 'y0_leak');
    const before = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) {
      const r = tf.variableGrads(
        () => weightedLoss(odeintAdjoint(net.f, y0 as tf.Tensor, [0, 0.5, 1], net.params, { method: 'rk4', stepSize: 0.25 }).ys),
        [y0, ...net.params],
      );
      tf.dispose([r.value, ...Object.values(r.grads)]);
    }
    const sol = odeintAdjoint(net.f, y0 as tf.Tensor, [0, 1], net.params, { method: 'dopri5' }); // no tape: nothing saved
    tf.dispose(sol.ys);
    expect(tf.memory().numTensors).toBe(before);
    y0.dispose();
    net.dispose();
  });
});
