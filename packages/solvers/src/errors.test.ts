import * as tf from '@tensorflow/tfjs-core';
import { isRnodeError, type RnodeErrorCode } from '@rnode/core';
import { describe, expect, it } from 'vitest';
import { odeint, odeintAsync } from './odeint.js';

const code = (fn: () => unknown): RnodeErrorCode | undefined => {
  try {
    fn();
  } catch (e) {
    if (isRnodeError(e)) return e.code;
    throw e;
  }
  return undefined;
};
const err = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('did not throw');
};
const decay = (_t: number, y: tf.Tensor) => tf.neg(y);

describe('odeint errors and statuses', () => {
  it('unknown method lists the registered names', () => {
    const y0 = tf.scalar(1);
    // @ts-expect-error a misspelt name is a type error too; here it is passed anyway, for the run-time check
    const e = err(() => odeint(decay, y0, [0, 1], { method: 'rk5' }));
    expect(isRnodeError(e, 'PLUGIN_NOT_FOUND')).toBe(true);
    expect(e.message).toMatch(/unknown solver "rk5".*registered solvers: .*dopri5/);
    expect(e.message).toMatch(/euler, midpoint, heun, rk4, rk38/);
    y0.dispose();
  });

  it('invalid options are INVALID_OPTIONS naming the option', () => {
    const before = tf.memory().numTensors;
    const y0 = tf.scalar(1);
    const bad: [object, RegExp][] = [
      [{ rtoll: 1e-3 }, /unknown option "rtoll"/],
      [{ rtol: -1 }, /rtol/],
      [{ atol: [1e-3, 1e-3] }, /atol.*list of 2/],
      [{ method: 'dopri5', stepSize: 0.1 }, /stepSize.*adaptive/],
      [{ method: 'rk4', stepSize: 0 }, /stepSize/],
      [{ maxSteps: 1.5 }, /maxSteps/],
      [{ minStep: 1, maxStep: 0.5 }, /minStep/],
      [{ dfactor: 2 }, /dfactor/],
      [{ norm: 'l2' }, /norm/],
      [{ errorControl: false }, /errorControl/],
      [{ throw: 'yes' }, /throw/],
    ];
    for (const [o, re] of bad) {
      const e = err(() => odeint(decay, y0, [0, 1], o as never));
      expect(isRnodeError(e, 'INVALID_OPTIONS'), `${JSON.stringify(o)}: ${e.message}`).toBe(true);
      expect(e.message).toMatch(re);
    }
    y0.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('validates t: length >= 2, finite, strictly monotonic', () => {
    const y0 = tf.scalar(1);
    for (const t of [[0], [0, NaN], [0, 1, 1], [0, 2, 1], [1, 1]]) {
      const e = err(() => odeint(decay, y0, t, { method: 'euler' }));
      expect(isRnodeError(e, 'INVALID_ARGUMENT')).toBe(true);
      expect(e.message).toMatch(/"t"/);
    }
    y0.dispose();
  });

  it('f returning the wrong shape is SHAPE_MISMATCH', () => {
    const before = tf.memory().numTensors;
    const y0 = tf.zeros([3]);
    expect(code(() => odeint(() => tf.zeros([2]), y0, [0, 1], { method: 'rk4' }))).toBe('SHAPE_MISMATCH');
    expect(code(() => odeint(() => tf.zeros([2]), y0, [0, 1]))).toBe('SHAPE_MISMATCH');
    y0.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('max-steps: throws MAX_STEPS_REACHED, or returns the status with throw:false', async () => {
    const before = tf.memory().numTensors;
    const y0 = tf.scalar(1);
    const e = err(() => odeint(decay, y0, [0, 1, 2, 3], { maxSteps: 3, rtol: 1e-6, atol: 1e-6 }));
    expect(isRnodeError(e, 'MAX_STEPS_REACHED')).toBe(true);
    expect(e.message).toMatch(/\[solver:dopri5\].*t=/);
    const s = odeint(decay, y0, [0, 1, 2, 3], { maxSteps: 3, rtol: 1e-6, atol: 1e-6, throw: false });
    expect(s.status).toBe('max-steps');
    expect(s.message).toMatch(/maximum number of steps \(3\)/);
    expect(s.ys.length).toBeLessThan(4);
    const fixed = await odeintAsync(decay, y0, [0, 1, 2], { method: 'euler', stepSize: 0.1, maxSteps: 15, throw: false });
    expect(fixed.status).toBe('max-steps');
    expect(fixed.ys).toHaveLength(2);
    tf.dispose([y0, ...s.ys, ...fixed.ys]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('dt-underflow on a blow-up (y′ = y², y(0) = 1, past t = 1)', () => {
    const before = tf.memory().numTensors;
    const y0 = tf.scalar(1);
    const sq = (_t: number, y: tf.Tensor) => tf.square(y);
    const e = err(() => odeint(sq, y0, [0, 0.5, 2]));
    expect(isRnodeError(e, 'STEP_SIZE_UNDERFLOW') || isRnodeError(e, 'NON_FINITE')).toBe(true);
    const s = odeint(sq, y0, [0, 0.5, 2], { throw: false });
    expect(['dt-underflow', 'non-finite']).toContain(s.status);
    expect(s.ys).toHaveLength(2);
    expect(s.ys[1]?.dataSync()[0]).toBeCloseTo(2, 3);
    const m = odeint(sq, y0, [0, 2], { minStep: 1e-3, throw: false });
    expect(m.status).toBe('dt-underflow');
    expect(m.message).toMatch(/minStep=0.001/);
    tf.dispose([y0, ...s.ys, ...m.ys]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('non-finite: NaN from f shrinks the step, then reports NON_FINITE at the time it happened', () => {
    const before = tf.memory().numTensors;
    const y0 = tf.scalar(1);
    const f = (t: number, y: tf.Tensor) => tf.mul(y, t < 0.5 ? 1 : NaN);
    const e = err(() => odeint(f, y0, [0, 1]));
    expect(isRnodeError(e, 'NON_FINITE')).toBe(true);
    const s = odeint(f, y0, [0, 0.25, 1], { throw: false });
    expect(s.status).toBe('non-finite');
    expect(s.message).toMatch(/t=0.4999/);
    expect(s.ys).toHaveLength(2);
    const g = odeint((_t, y) => tf.div(y, 0), y0, [0, 1], { throw: false });
    expect(g.status).toBe('non-finite');
    tf.dispose([y0, ...s.ys, ...g.ys]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('errors thrown by f propagate without leaking tensors', async () => {
    const before = tf.memory().numTensors;
    const y0 = tf.scalar(1);
    let n = 0;
    const f = (_t: number, y: tf.Tensor) => {
      if (++n === 20) throw new Error('boom');
      return tf.neg(y);
    };
    expect(() => odeint(f, y0, [0, 1, 2], { rtol: 1e-7, atol: 1e-7 })).toThrow('boom');
    n = 0;
    await expect(odeintAsync(f, y0, [0, 1, 2], { method: 'rk4', stepSize: 0.01 })).rejects.toThrow('boom');
    y0.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
