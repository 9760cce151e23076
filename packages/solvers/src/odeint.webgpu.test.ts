// WebGPU smoke test (runs in the webgpu project only): fixed-grid odeint makes no host reads, so it
// works without synchronous reads; adaptive solves go through odeintAsync.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { odeint, odeintAsync } from './odeint.js';

describe('odeint on webgpu', () => {
  it('fixed-grid rk4 (no host reads) matches exp(−t)', async () => {
    const before = tf.memory().numTensors;
    const y0 = tf.tensor1d([1, 2]);
    const sol = odeint((_t, y) => tf.neg(y), y0, [0, 0.5, 1], { method: 'rk4', stepSize: 0.05 });
    const v = await (sol.ys[2] as tf.Tensor).data();
    expect(v[0]).toBeCloseTo(Math.exp(-1), 5);
    expect(v[1]).toBeCloseTo(2 * Math.exp(-1), 5);
    tf.dispose([y0, ...sol.ys]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('odeintAsync with dopri5 matches the closed form at many times, forward and reversed', async () => {
    const before = tf.memory().numTensors;
    const ts = [0, 0.5, 1, 1.5, 2];
    const y0 = tf.tensor1d([1, 0]);
    const rot = (_t: number, y: tf.Tensor) => tf.concat([tf.slice(y, [1], [1]), tf.neg(tf.slice(y, [0], [1]))]);
    const sol = await odeintAsync((t, y: tf.Tensor) => tf.reshape(rot(t, y), [2]), y0, ts, { rtol: 1e-5, atol: 1e-6 });
    for (let i = 0; i < ts.length; i++) {
      const [c, s] = await (sol.ys[i] as tf.Tensor).data();
      expect(Math.abs((c as number) - Math.cos(ts[i] as number))).toBeLessThan(1e-4);
      expect(Math.abs((s as number) + Math.sin(ts[i] as number))).toBeLessThan(1e-4);
    }
    const back = await odeintAsync((t, y: tf.Tensor) => tf.reshape(rot(t, y), [2]), sol.ys[4] as tf.Tensor, [2, 0], { rtol: 1e-5, atol: 1e-6 });
    const [c0, s0] = await (back.ys[1] as tf.Tensor).data();
    expect(Math.abs((c0 as number) - 1)).toBeLessThan(2e-4);
    expect(Math.abs(s0 as number)).toBeLessThan(2e-4);
    tf.dispose([y0, ...sol.ys, ...back.ys]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
